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

// Did the fetch fail on the issuer's TLS certificate (trust anchors, verification)?
bool FetchFailedOnCertificate(const FetchPlain& fetch);
// What to change then, naming rowguard.http_ca_file and its value (palloc'ed).
const char* FetchCertificateAdvice();

// A token named a kid that no stored key has: wake this database's refresher for
// `iss` (rate-limited; nothing happens without shared_preload_libraries). Safe to call
// from any backend at any time: it never raises an error.
void KeySyncNoteUnknownKey(const char* iss);

// A token named a kid that no stored key has, from an issuer with a jwks_uri: wait up to
// rowguard.unknown_key_wait for this database's refresher to fetch the issuer's set,
// and say whether the key store now holds `kid` (src/pg/unknown_key_wait.cpp). Never
// waits holding a lock; cancellable (raises the cancel's ERROR).
bool AwaitUnknownKey(const char* iss, const char* kid);

// The refresher (src/pg/key_refresh_worker.cpp).
// Does a refresher run for this backend's database (preloaded, listed, started)?
bool KeyRefreshRunsHere();
// A wake refetches an issuer at most once in this many milliseconds.
long KeyRefreshWakeMinIntervalMs();
// Sleeps until a refresher finished a refresh or a round, or timeout_ms passed (the
// first call only prepares); KeyRefreshEndSleep after the last one. Interruptible.
void KeyRefreshSleep(long timeout_ms);
void KeyRefreshEndSleep();
void KeyRefreshRequestShmem();
void KeyRefreshStartupShmem();
void KeyRefreshRegisterLauncher();

}  // namespace rowguard::pg
