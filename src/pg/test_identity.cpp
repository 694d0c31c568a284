// rowguard.test_authenticate and rowguard.test_reset: identities for tests of row level
// security, made from claims inside one transaction (docs/testing-policies.md).
//
// The claims are signed with an Ed25519 key this backend generates for the transaction
// (core::MakeEphemeralKey). Its private half lives only in this file's core::Key; its
// public half is added to this backend's trust store (key_store.cpp), never to a table,
// so no other session, dump or standby can ever see or use it. The token then takes the
// path of any token (set_config of rowguard.token, transaction scope): claim accessors,
// templates, revocation, role binding, stats and log_identity see a verified identity.
// At the end of the transaction (COMMIT, ROLLBACK, PREPARE) the key is dropped as a
// removed key is: the store is rebuilt and the identity cache cleared, so even a token
// that outlived its SET LOCAL would fail its next accessor call.
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
}

#include <cstdlib>

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/handoff.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/session_state_guard.hpp"
#include "rowguard/pg/sql_function.hpp"

using namespace rowguard::pg;

namespace {

// Every test key's kid starts with this (rowguard.sessions and log lines show it).
constexpr char kTestKidPrefix[] = "rowguard-test-";
// The lifetime given to claims without "exp"; the key ends with the transaction anyway.
constexpr std::int64_t kDefaultLifetimeSeconds = 3600;

// This transaction's key: all three set, or all nullptr.
rowguard::core::Key* signing_key = nullptr;
char* key_kid = nullptr;
char* key_public_jwk = nullptr;
KeyRow key_row;
bool callback_registered = false;

void DropTransactionKey() {
  if (signing_key == nullptr && key_kid == nullptr) return;
  ForgetTransactionKey();
  BridgeFreeKey(signing_key);
  std::free(key_kid);
  std::free(key_public_jwk);
  signing_key = nullptr;
  key_kid = nullptr;
  key_public_jwk = nullptr;
}

void AtTransactionEnd(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PREPARE:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PARALLEL_ABORT:
      DropTransactionKey();
      break;
    default:
      break;
  }
}

void EnsureTransactionKey() {
  if (!callback_registered) {
    RegisterXactCallback(AtTransactionEnd, nullptr);
    callback_registered = true;
  }
  if (signing_key != nullptr) return;
  BridgeError error;
  rowguard::core::Key* key = nullptr;
  char* kid = nullptr;
  char* jwk = nullptr;
  if (!BridgeMakeEphemeralKey(kTestKidPrefix, &key, &kid, &jwk, &error)) {
    ereport(ERROR, (errcode(error.kind == FailureKind::kOutOfMemory ? ERRCODE_OUT_OF_MEMORY
                                                                    : ERRCODE_INTERNAL_ERROR),
                    errmsg("could not make a test key: %s", error.detail)));
  }
  signing_key = key;
  key_kid = kid;
  key_public_jwk = jwk;
  key_row = KeyRow{key_kid, "EdDSA", nullptr, key_public_jwk};
  const char* problem = nullptr;
  bool installed = false;
  PG_TRY();
  { installed = InstallTransactionKey(&key_row, &problem); }
  PG_CATCH();
  {
    DropTransactionKey();
    PG_RE_THROW();
  }
  PG_END_TRY();
  if (!installed) {
    DropTransactionKey();
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("%s", problem)));
  }
}

// `claims` with "iat" (now) and "exp" (now + 1 hour) where it has none, as JSON text.
char* ClaimsWithDefaults(Jsonb* claims) {
  if (!JB_ROOT_IS_OBJECT(claims) || JB_ROOT_IS_SCALAR(claims)) {
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("claims must be a JSON object")));
  }
  const std::int64_t now = IdentityClockSeconds();
  char* defaults_text = psprintf("{\"iat\": %lld, \"exp\": %lld}", static_cast<long long>(now),
                                 static_cast<long long>(now + kDefaultLifetimeSeconds));
  Datum defaults = DirectFunctionCall1(jsonb_in, CStringGetDatum(defaults_text));
  // jsonb || jsonb: the right side wins, so the caller's claims override the defaults.
  Jsonb* merged =
      DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, defaults, JsonbPGetDatum(claims)));
  return JsonbToCString(nullptr, &merged->root, VARSIZE(merged));
}

// SET LOCAL rowguard.token = value. A test identity is allowed on top of temporary
// objects and open cursors (session_state_guard.hpp): pgTAP keeps its state in temporary
// tables, and the pooled-connection risk the guard closes needs a later client, which
// cannot inherit a transaction identity nor make one of these.
void SetTokenLocally(const char* value) {
  const TokenScopeHint outer = pending_token_scope;
  pending_token_scope = TokenScopeHint::kTestIdentity;
  PG_TRY();
  {
    (void)set_config_option("rowguard.token", value, superuser() ? PGC_SUSET : PGC_USERSET,
                            PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
  }
  PG_FINALLY();
  { pending_token_scope = outer; }
  PG_END_TRY();
}

}  // namespace

// rowguard.test_authenticate(claims jsonb) -> jsonb
ROWGUARD_SQL_FUNCTION(rowguard_test_authenticate) {
  if (IsParallelWorker()) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_TRANSACTION_STATE),
                    errmsg("rowguard.test_authenticate cannot run in a parallel worker")));
  }
  char* claims = ClaimsWithDefaults(PG_GETARG_JSONB_P(0));
  EnsureTransactionKey();

  char* signed_token = nullptr;
  BridgeError error;
  if (!BridgeSignWithKey(signing_key, claims, strlen(claims), &signed_token, &error)) {
    if (error.kind == FailureKind::kKey) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid claims"),
                      errdetail("%s", error.detail)));
    }
    ereport(ERROR, (errcode(error.kind == FailureKind::kOutOfMemory ? ERRCODE_OUT_OF_MEMORY
                                                                    : ERRCODE_INTERNAL_ERROR),
                    errmsg("could not sign the test claims: %s", error.detail)));
  }
  const std::size_t length = strlen(signed_token);
  auto* token = static_cast<char*>(
      PallocCopyThenRelease(signed_token, length + 1, 0, signed_token, std::free));

  // A test identity may take only a role its caller could SET ROLE to itself: granting
  // this function must not grant the roles rowguard.allow_role allows for tokens.
  const Oid caller = GetUserId();
  SetTokenLocally(token);
  const Oid bound = GetUserId();
  if (bound != caller && !CompatCanSetRole(caller, bound)) {
    // The error rolls the setting (and the role it bound) back with the (sub)transaction.
    ereport(ERROR,
            (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
             errmsg("a test identity cannot take role \"%s\"", GetUserNameFromId(bound, false)),
             errdetail("The role calling rowguard.test_authenticate, \"%s\", cannot SET ROLE "
                       "to it.",
                       GetUserNameFromId(caller, false))));
  }
  if (current_identity == nullptr) PG_RETURN_NULL();
  const auto* verified = static_cast<const Jsonb*>(IdentityJsonb(current_identity));
  Jsonb* copy = static_cast<Jsonb*>(palloc(VARSIZE(verified)));
  memcpy(copy, verified, VARSIZE(verified));
  PG_RETURN_JSONB_P(copy);
}

// rowguard.test_reset() -> void: no identity for the rest of the transaction.
ROWGUARD_SQL_FUNCTION(rowguard_test_reset) {
  SetTokenLocally("");
  PG_RETURN_VOID();
}
