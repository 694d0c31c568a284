// A token set by a statement before rowguard was loaded in the backend. Without
// shared_preload_libraries or session_preload_libraries, `SET [LOCAL] rowguard.token =
// '...'` sent before anything loads the module only sets a placeholder, and its text -
// token included - stays unmasked in pg_stat_activity, pg_stat_statements and the log.
// No extension can mask text it never saw; so when the module loads and finds such a
// value, the identity is refused, loudly (docs/security-model.md, "Before rowguard is
// loaded").
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

namespace rowguard::pg {

// True only while DefineSettings defines rowguard.token, i.e. while PostgreSQL applies
// the values the placeholder received before the module was loaded.
extern bool defining_token_setting;

// A refusal not reported yet: PostgreSQL reports a value refused while the module
// loads as a WARNING only, so the first rowguard function (or statement hook) that runs
// afterwards raises it as an ERROR.
extern bool token_set_before_load;

// For rowguard.token's check hook: true (and the check error is set) when `source` says
// that a statement set the value before the module loaded. A token given at connection
// (PGOPTIONS, PGC_S_CLIENT) or by ALTER ROLE/DATABASE is not refused: other sessions
// never see it.
bool RefuseTokenSetBeforeLoad(GucSource source);

[[noreturn]] void RaiseTokenSetBeforeLoad();

// Raises the pending refusal (once), if any. Called at the start of every SQL-callable
// C function of rowguard and of the statement hooks.
inline void RaisePendingTokenRefusal() {
  if (unlikely(token_set_before_load)) RaiseTokenSetBeforeLoad();
}

// Is rowguard named in shared_preload_libraries or in this session's
// session_preload_libraries?
bool RowguardPreloaded();

}  // namespace rowguard::pg
