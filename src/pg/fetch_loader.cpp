// Loading rowguard_fetch.so, the module that does HTTPS fetches
// (include/rowguard/pg/fetch_module.hpp says why it is a module of its own). A backend
// loads it the first time it fetches, through PostgreSQL's dynamic loader (which checks
// its magic block), and keeps the entry point for the rest of its life; a backend that
// never fetches never maps libcurl.
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
}

#include "rowguard/pg/key_sync.hpp"

namespace rowguard::pg {
namespace {

FetchHttpsGetFunction fetch_entry = nullptr;

}  // namespace

FetchHttpsGetFunction FindFetchModule(FetchLoadError* error) {
  if (fetch_entry != nullptr) return fetch_entry;
  MemoryContext caller = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  // Turning the loader's error into a value: inside a transaction (a backend's fetch) the
  // attempt runs in a subtransaction that is rolled back on error, as PL/pgSQL's
  // exception blocks do; outside one (the key refresher's loop) no transaction state
  // exists to clean up. Plain data only on this frame: the loader raises an error for a
  // missing entry point too, rather than returning NULL.
  const bool in_transaction = IsTransactionState();
  if (in_transaction) {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller);
  }
  void* volatile found = nullptr;
  PG_TRY();
  {
    found = load_external_function(kFetchModulePath, kFetchEntryName, true, nullptr);
    if (in_transaction) {
      ReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller);
      CurrentResourceOwner = owner;
    }
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    if (in_transaction) {
      RollbackAndReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller);
      CurrentResourceOwner = owner;
    }
    error->sqlerrcode = edata->sqlerrcode;
    error->message = edata->message;
  }
  PG_END_TRY();
  if (found == nullptr && error->message == nullptr) {
    error->message = pstrdup("its entry point was not found");  // not expected: see above
  }
  fetch_entry = reinterpret_cast<FetchHttpsGetFunction>(found);
  return fetch_entry;
}

}  // namespace rowguard::pg
