// Log lines that hold a token: whatever the error and the logging settings
// (log_statement writes the statement before parse analysis; bind parameter values
// appear in a DETAIL line; PL/pgSQL adds CONTEXT lines with the SQL it ran), no line
// reaches the server log with a token in it. See docs/security-model.md, "Where a
// token can be seen".
extern "C" {
#include "postgres.h"

#include "tcop/tcopprot.h"
#include "utils/elog.h"
}

#include <cstring>

#include "rowguard/core/token_text.hpp"
#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/statement_masking.hpp"

namespace rowguard::pg {
namespace {

emit_log_hook_type previous_emit_log = nullptr;

void MaskField(char* field) {
  if (field != nullptr) core::MaskTokensInPlace(field, strlen(field));
}

// Every text field of an ErrorData is a palloc'ed copy in ErrorContext, so it is
// masked in place. The statement (debug_query_string) is not ours to edit here (it may
// live anywhere): when it still holds a token - an error raised before parse analysis
// could mask it, a syntax error say - the log line leaves it out. Runs before the line
// is written to the server log and sent to the client, so both see the same text.
void RedactingEmitLog(ErrorData* edata) {
  MaskField(edata->message);
  MaskField(edata->detail);
  MaskField(edata->detail_log);
  MaskField(edata->hint);
  MaskField(edata->context);
  MaskField(edata->internalquery);
  // The statement this backend reports in pg_stat_activity: an error before parse
  // analysis masked it (a syntax error, a statement sent into an aborted transaction,
  // a lock wait cancelled) would otherwise stay there, unmasked, while the session
  // sits idle afterwards; a lock wait's log line (log_lock_waits) ends the wait's
  // window after deadlock_timeout.
  MaskReportedStatement(false);
  if (debug_query_string != nullptr &&
      core::HasTokenRun(debug_query_string, strlen(debug_query_string))) {
    edata->hide_stmt = true;
  }
  // A configuration change a Citus coordinator sends to the other nodes holds key
  // material (citus_config.cpp); a node that fails to apply it leaves it out of its log.
  if (debug_query_string != nullptr && (strstr(debug_query_string, "rowguard._citus_apply(") != nullptr ||
                                        strstr(debug_query_string, "rowguard._citus_replace(") != nullptr)) {
    edata->hide_stmt = true;
  }
  if (previous_emit_log != nullptr) previous_emit_log(edata);
}

}  // namespace

void InstallLogRedaction() {
  ChainHook(emit_log_hook, previous_emit_log, RedactingEmitLog);
}

}  // namespace rowguard::pg
