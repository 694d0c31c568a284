// Keys that follow the issuer (docs/keys.md): the fetch as the glue runs it, and the
// background refresher's shared memory and worker. The settings rowguard.http_ca_file,
// http_timeout and refresh_databases are in settings.cpp.
#pragma once

#include "rowguard/pg/key_sync_bridge.hpp"

namespace rowguard::pg {

// When loaded by shared_preload_libraries: requests the refresher's shared memory and
// registers its launcher. Called from _PG_init.
void KeySyncInit();

// Fetches `url` as a JSON document with the current settings, through rowguard_fetch.so
// (an ERROR when that cannot be loaded). The backend stays interruptible; an interrupt
// is processed (CHECK_FOR_INTERRUPTS) before returning.
void FetchJson(const char* url, FetchPlain* out);

// Why rowguard_fetch.so could not be loaded: PostgreSQL's error, palloc'ed in the
// caller's memory context.
struct FetchLoadError {
  int sqlerrcode;
  char* message;
};

// The fetch module's entry point, loaded on first use in this process
// (src/pg/fetch_loader.cpp). nullptr with *error filled when the module cannot be
// loaded; that raises no error, so the background worker can log it and go on. The next
// call tries again.
FetchHttpsGetFunction FindFetchModule(FetchLoadError* error);

// Raises the error for a failed fetch (the SQLSTATEs of docs/keys.md).
[[noreturn]] void ReportFetchFailure(const char* url, const FetchPlain& fetch);

// A token named a kid that no stored key has: wake this database's refresher for
// `iss` (rate-limited; nothing happens without shared_preload_libraries). Safe to call
// from any backend at any time: it never raises an error.
void KeySyncNoteUnknownKey(const char* iss);

// The refresher (src/pg/key_refresh_worker.cpp).
void KeyRefreshRequestShmem();
void KeyRefreshStartupShmem();
void KeyRefreshRegisterLauncher();

}  // namespace rowguard::pg
