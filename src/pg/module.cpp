// Module entry: settings, key-store invalidation, and the log hook that keeps
// statements holding tokens out of the server log.
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/elog.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

#include <cstring>

#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/settings.hpp"

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
                             strcmp(edata->message, "invalid token") == 0;
  const bool our_log_line = edata->elevel == LOG && edata->message != nullptr &&
                            strncmp(edata->message, "rowguard: ", 10) == 0;
  if (invalid_token || our_log_line) {
    edata->hide_stmt = true;
    edata->hide_ctx = true;
  }
  if (previous_emit_log_hook != nullptr) previous_emit_log_hook(edata);
}

}  // namespace

void _PG_init(void) {
  rowguard::pg::RegisterKeyStoreInvalidation();
  rowguard::pg::RegisterLifecycle();  // revocation and role binding (lifecycle.cpp)
  previous_emit_log_hook = emit_log_hook;
  emit_log_hook = HideTokenStatements;
  rowguard::pg::DefineSettings();
}
