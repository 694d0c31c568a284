// Module entry: the settings, key-store invalidation, and the log hook that keeps
// statements holding tokens out of the server log.
extern "C" {
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/key_sync.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/statement_masking.hpp"
#include "rowguard/pg/token_error.hpp"

void _PG_init(void) {
  rowguard::pg::RegisterKeyStoreInvalidation();
  rowguard::pg::RegisterLifecycle();  // revocation and role binding (lifecycle.cpp)
  rowguard::pg::InstallTokenStatementHiding();
  rowguard::pg::DefineSettings();
  rowguard::pg::InstallStatementHooks();
  rowguard::pg::InstallLogRedaction();
  rowguard::pg::KeySyncInit();
  rowguard::pg::ObserveInit();
}
