// Loading rowguard_fetch.so, the module that does HTTPS fetches
// (include/rowguard/pg/fetch_module.hpp says why it is a module of its own). A backend
// loads it the first time it fetches, through PostgreSQL's dynamic loader (which checks
// its magic block), and keeps the entry point for the rest of its life; a backend that
// never fetches never maps libcurl.
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

#include "rowguard/pg/key_sync.hpp"

namespace rowguard::pg {
namespace {

FetchHttpsGetFunction fetch_entry = nullptr;

}  // namespace

FetchHttpsGetFunction FindFetchModule(FetchLoadError* error) {
  if (fetch_entry != nullptr) return fetch_entry;
  MemoryContext caller = CurrentMemoryContext;
  // Plain data only on this frame: the loader can raise an error (asked to, it raises one
  // for a missing entry point too, rather than returning NULL).
  void* volatile found = nullptr;
  PG_TRY();
  { found = load_external_function(kFetchModulePath, kFetchEntryName, true, nullptr); }
  PG_CATCH();
  {
    // Nothing but the loader ran since PG_TRY: no lock, buffer or transaction state to
    // undo, so the error can be turned into a value.
    MemoryContextSwitchTo(caller);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
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
