// Statement text and log lines that hold a token. A token sent inside SQL text
// (SET rowguard.token = '...', authenticate('...'), set_config('rowguard.token', ...))
// is masked in place as soon as the statement has been parsed - the parse tree holds
// its own copy of every literal, so execution is unaffected - and the masked text is
// reported again to pg_stat_activity. Every later reader of that text sees the mask:
// pg_stat_statements (which stores the text after parse analysis or after
// ProcessUtility, whichever side of rowguard it was loaded on), the STATEMENT line
// of log_min_error_statement, auto_explain, a parallel worker's copy. Text the log
// copies before parse analysis (log_statement) is masked by log_redaction.cpp.
// See docs/security-model.md, "Where a token can be seen".
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
}

#include <cstring>

#include "rowguard/core/token_text.hpp"
#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/session_state_guard.hpp"
#include "rowguard/pg/statement_masking.hpp"
#include "rowguard/pg/token_before_load.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {
namespace {

post_parse_analyze_hook_type previous_post_parse_analyze = nullptr;
ProcessUtility_hook_type previous_process_utility = nullptr;
ExecutorStart_hook_type previous_executor_start = nullptr;
object_access_hook_type previous_object_access = nullptr;

// The statement text last found without a token (or masked already): its buffer and the
// start of the statement it belonged to, so the hooks that run many times per statement
// scan each statement's text once.
const char* clean_text = nullptr;
TimestampTz clean_text_start = 0;

bool literal_token_warned = false;

void ReportAgain(const char* text, uint64 query_id) {
  // Only the text this backend reports as its activity (the top-level statement);
  // a nested statement's text never reaches pg_stat_activity.
  if (text != debug_query_string || IsParallelWorker() || !pgstat_track_activities) return;
  pgstat_report_activity(STATE_RUNNING, text);
  // Reporting resets the query id; put back the one this statement already had.
  if (query_id != 0) pgstat_report_query_id(query_id, false);
}

// Once per backend, when the text a client sent held a token: the server log says that
// this application puts tokens into statement text (docs/security-model.md, "Until a
// statement is parsed"). LOG_SERVER_ONLY: never sent to the client (a WARNING would reach
// every client whose server logs less than warnings, and the regression output of psql
// scripts, which inline tokens on purpose), and logged under the default log_min_messages.
void WarnLiteralToken(const char* text) {
  if (literal_token_warned || text != debug_query_string || IsParallelWorker()) return;
  literal_token_warned = true;
  ereport(LOG_SERVER_ONLY,
          (errcode(ERRCODE_WARNING), errmsg("%s", kLiteralTokenMessage),
           errdetail("rowguard masked it once it saw the text; until then, every session of "
                     "the same role could read it in pg_stat_activity. This warning is "
                     "written once per session."),
           errhint("Send tokens as bind parameters: SELECT rowguard.authenticate($1)."),
           // Raised where the text was seen (a nested statement's parse, or the module's
           // load inside one): its CONTEXT and STATEMENT may hold the token itself, and
           // this line does not depend on the log hooks being in place to drop them.
           errhidecontext(true), errhidestmt(true)));
}

void MaskingPostParseAnalyze(ParseState* pstate, Query* query, CompatJumbleState* jstate) {
  // Before the hooks loaded earlier: pg_stat_statements stores normalized text in its
  // own post_parse_analyze hook.
  if (pstate != nullptr && MaskStatementText(pstate->p_sourcetext)) {
    // pgstat_report_query_id runs after this hook for parse analysis.
    ReportAgain(pstate->p_sourcetext, 0);
    WarnLiteralToken(pstate->p_sourcetext);
  }
  if (previous_post_parse_analyze != nullptr) previous_post_parse_analyze(pstate, query, jstate);
}

// What a utility statement asks of rowguard.token's scope, for the session-state guard.
TokenScopeHint ScopeOf(const Node* statement) {
  if (statement == nullptr || !IsA(statement, VariableSetStmt)) return TokenScopeHint::kUnknown;
  const auto* set = reinterpret_cast<const VariableSetStmt*>(statement);
  if (set->name == nullptr || pg_strcasecmp(set->name, "rowguard.token") != 0) {
    return TokenScopeHint::kUnknown;
  }
  return set->is_local ? TokenScopeHint::kTransaction : TokenScopeHint::kSession;
}

// A cursor WITH HOLD is run to completion when its transaction commits - with the
// identity of that transaction still in force - and stays readable by whatever the
// connection runs next, with or without an identity. So none is declared while an
// identity is in force.
void RefuseHeldCursor(const Node* statement) {
  if (statement == nullptr || !IsA(statement, DeclareCursorStmt)) return;
  const auto* declare = reinterpret_cast<const DeclareCursorStmt*>(statement);
  if ((declare->options & CURSOR_OPT_HOLD) == 0 || current_identity == nullptr) return;
  ereport(ERROR,
          (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
           errmsg("cannot declare a cursor WITH HOLD while a rowguard identity is in force"),
           errdetail("A held cursor keeps the rows this identity may read after the identity "
                     "has ended, for whoever uses the connection next."),
           errhint("Declare the cursor WITHOUT HOLD and read it inside the transaction.")));
}

void MaskingProcessUtility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                           ProcessUtilityContext context, ParamListInfo params,
                           QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  // A refusal pending since the module loaded (LOAD 'rowguard'); not at COMMIT or
  // ROLLBACK, which must end the transaction.
  if (!IsA(pstmt->utilityStmt, TransactionStmt)) RaisePendingTokenRefusal();
  // Statements that skip parse analysis (EXECUTE of a prepared one, a cached plan's
  // first use) reach here with their own copy of the text.
  if (MaskStatementText(query_string)) {
    ReportAgain(query_string, pstmt->queryId);
    WarnLiteralToken(query_string);
  }
  RefuseHeldCursor(pstmt->utilityStmt);

  const TokenScopeHint outer = pending_token_scope;
  const TokenScopeHint hint = ScopeOf(pstmt->utilityStmt);
  if (hint != TokenScopeHint::kUnknown) pending_token_scope = hint;
  PG_TRY();
  {
    // Under Citus a SET LOCAL rowguard.token runs as the statement Citus forwards.
    if (RunTokenSetLocalForCitus(pstmt->utilityStmt)) {
      // done: rowguard.token is set here and on the workers
    } else {
      CallProcessUtility(previous_process_utility, pstmt, query_string, read_only_tree, context,
                         params, query_env, dest, qc);
    }
  }
  PG_FINALLY();
  { pending_token_scope = outer; }
  PG_END_TRY();
}

void MaskingExecutorStart(QueryDesc* query_desc, int eflags) {
  RaisePendingTokenRefusal();
  if (MaskStatementText(query_desc->sourceText)) {
    ReportAgain(query_desc->sourceText, query_desc->plannedstmt->queryId);
    WarnLiteralToken(query_desc->sourceText);
  }
  // The leader checks the identity before any worker starts: workers read no tables,
  // so they cannot notice a removed key, and with parallel_leader_participation = off
  // the leader itself might never evaluate a claim. Plans without workers are checked
  // by the accessors they run; EXPLAIN without ANALYZE runs nothing.
  if (current_identity != nullptr && query_desc->plannedstmt->parallelModeNeeded &&
      !IsParallelWorker() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0) {
    (void)RequireCurrentIdentity();
  }
  CallExecutorStart(previous_executor_start, query_desc, eflags);
}

// Parse analysis can wait for a lock before post_parse_analyze_hook runs (a subquery
// on a table another session locked), with the text as received in pg_stat_activity.
// No hook runs between the raw parser and parse analysis, but parse analysis calls the
// object access hook for every schema-qualified name it looks up (and for each schema
// of search_path when it resolves the path again), before it opens the relations that
// follow: `SELECT rowguard.authenticate('...'), (SELECT count(*) FROM t)` is masked
// when rowguard.authenticate is looked up, before t is locked. The raw parser has
// finished by then (it parses the whole message first), so masking changes nothing.
void MaskingObjectAccess(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id,
                         void* arg) {
  if (access == OAT_NAMESPACE_SEARCH) MaskReportedStatement(true);
  if (previous_object_access != nullptr) {
    previous_object_access(access, class_id, object_id, sub_id, arg);
  }
}

}  // namespace

void MaskReportedStatement(bool may_warn) {
  const char* text = debug_query_string;
  if (text == nullptr || IsParallelWorker()) return;
  const TimestampTz start = GetCurrentStatementStartTimestamp();
  if (text == clean_text && start == clean_text_start) return;
  clean_text = text;
  clean_text_start = start;
  if (MaskStatementText(text)) {
    // Keep the query id the statement already has (0 before parse analysis ends).
    ReportAgain(text, pgstat_get_my_query_id());
    if (may_warn) WarnLiteralToken(text);
  }
}

bool MaskStatementText(const char* text) {
  if (text == nullptr || ForwardingTokenToCitus()) return false;
  const std::size_t length = strlen(text);
  if (!core::HasTokenRun(text, length)) return false;
  // The statement's text is this backend's own buffer (the protocol message, a plan
  // source's copy, a PL/pgSQL expression), never shared with another backend.
  core::MaskTokensInPlace(const_cast<char*>(text), length);
  return true;
}

void InstallStatementHooks() {
  // The statement that loads rowguard (often the first SET rowguard.token or
  // authenticate() of a session) was parsed before these hooks existed.
  if (MaskStatementText(debug_query_string)) {
    ReportAgain(debug_query_string, 0);
    WarnLiteralToken(debug_query_string);
  }
  ChainHook(post_parse_analyze_hook, previous_post_parse_analyze, MaskingPostParseAnalyze);
  ChainHook(object_access_hook, previous_object_access, MaskingObjectAccess);
  ChainHook(ProcessUtility_hook, previous_process_utility, MaskingProcessUtility);
  ChainHook(ExecutorStart_hook, previous_executor_start, MaskingExecutorStart);
}

}  // namespace rowguard::pg
