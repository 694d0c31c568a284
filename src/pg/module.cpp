// Module entry: the settings, key-store invalidation, the log hook that keeps
// statements holding tokens out of the server log, and, preloaded, the warm-up.
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/install_guard.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/key_sync.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/oauth_login.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/shared_key_snapshot.hpp"
#include "rowguard/pg/statement_masking.hpp"
#include "rowguard/pg/token_error.hpp"

void _PG_init(void) {
  rowguard::pg::RegisterKeyStoreInvalidation();
  rowguard::pg::RegisterLifecycle();  // revocation and role binding (lifecycle.cpp)
  rowguard::pg::InstallTokenStatementHiding();
  // The masking hooks first: defining rowguard.token may report (as a WARNING) a token
  // a statement set before the module loaded (token_before_load.cpp).
  rowguard::pg::InstallStatementHooks();
  rowguard::pg::InstallLogRedaction();
  rowguard::pg::DefineSettings();
  rowguard::pg::KeySyncInit();
  rowguard::pg::ObserveInit();
  rowguard::pg::InstallInstallGuard();  // schema rowguard at install/update (install_guard.cpp)
  rowguard::pg::SharedKeySnapshotInit();  // preloaded only
  rowguard::pg::OAuthInit();              // preloaded only (oauth_login.cpp)
  // Preloaded, the postmaster does OpenSSL's one-time work once (a verification per
  // algorithm family) and every backend inherits it (docs/performance.md, "New
  // connections"). The warm-up failing only leaves that work to the first token.
  if (process_shared_preload_libraries_in_progress && !rowguard::pg::BridgeWarmUp()) {
    ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "could not warm up token verification")));
  }
}
