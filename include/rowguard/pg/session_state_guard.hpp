// A transaction-scoped identity must not start on top of session state that an
// earlier transaction left behind on a pooled connection (docs/security-model.md,
// "Pooled connections").
#pragma once

namespace rowguard::pg {

// What the statement now setting rowguard.token asked for: a plain `SET` or
// authenticate(token, false) asks for the session; SET LOCAL, authenticate(token) and
// everything else (set_config, a function's SET clause) are checked as transaction
// scope, which is the stricter reading. kTestIdentity: rowguard.test_authenticate's token
// (transaction scope), which only a role granted that function can make and which no
// later client of a pooled connection can inherit; the guard does not apply to it, since
// pgTAP keeps its own state in temporary tables (docs/testing-policies.md).
enum class TokenScopeHint { kUnknown, kSession, kTransaction, kTestIdentity };
extern TokenScopeHint pending_token_scope;

// True when a transaction-scoped identity may start now. False, with a full-sentence
// reason in *detail (static storage), when this session holds temporary objects or an
// open cursor. Cheap when neither can exist (no temporary schema, no ready portal).
// Reads a catalog; must not run in a parallel worker.
bool SessionStateAllowsTransactionIdentity(const char** detail);

// The check hook's test: applies the guard unless the value comes from the session's
// start (startup packet, ALTER ROLE/DATABASE SET) or asks for session scope.
bool TokenMayStartHere(int guc_source, const char** detail);

// The refusal from a GUC check hook (SQLSTATE 55000, with `detail` and a hint).
void SetSessionStateCheckError(const char* detail);

}  // namespace rowguard::pg
