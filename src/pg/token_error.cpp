// Reporting a refused token, and keeping statements that hold tokens out of the server
// log (include/rowguard/pg/token_error.hpp).
#include "rowguard/pg/token_error.hpp"

#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/oauth_login.hpp"
#include "rowguard/pg/observe.hpp"

extern "C" {
#include "utils/elog.h"
#include "utils/guc.h"
}

#include <cstring>

namespace rowguard::pg {
namespace {

emit_log_hook_type previous_emit_log_hook = nullptr;

// A statement that failed with "invalid token" most likely holds the token (SET
// rowguard.token = '...', authenticate('...')), and so may the CONTEXT line that
// PL/pgSQL adds ("SQL statement ..."): neither is copied into the server log. A check
// hook cannot call errhidestmt itself, so this hook does it for every such error and
// for rowguard's own LOG lines. (The client still receives both.)
void HideTokenStatements(ErrorData* edata) {
  const bool invalid_token = edata->sqlerrcode == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION &&
                             edata->message != nullptr &&
                             strcmp(edata->message, kInvalidTokenMessage) == 0;
  const bool our_log_line = edata->elevel == LOG && edata->message != nullptr &&
                            strncmp(edata->message, kLogPrefix, kLogPrefixLength) == 0;
  if (invalid_token || our_log_line) {
    edata->hide_stmt = true;
    edata->hide_ctx = true;
  }
  AddIdentityToLogLine(edata);  // rowguard.log_identity (log_identity.cpp)
  if (previous_emit_log_hook != nullptr) previous_emit_log_hook(edata);
}

}  // namespace

void ReportInvalidToken(const char* detail, const char* hint) {
  // A session that signed in with OAuth cannot authenticate again: it must reconnect.
  if (hint != nullptr && OAuthSignedIn()) {
    hint = "This session signed in with an OAuth token, which cannot be renewed in the "
           "session: reconnect to sign in again.";
  }
  ereport(ERROR,
          (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("%s", kInvalidTokenMessage),
           errdetail("%s", detail), hint != nullptr ? errhint("%s", hint) : 0, errhidestmt(true)));
  pg_unreachable();
}

void SetInvalidTokenCheckError(const char* detail) {
  GUC_check_errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION);
  GUC_check_errmsg("%s", kInvalidTokenMessage);
  GUC_check_errdetail("%s", detail);
}

void InstallTokenStatementHiding() {
  ChainHook(emit_log_hook, previous_emit_log_hook, HideTokenStatements);
}

}  // namespace rowguard::pg
