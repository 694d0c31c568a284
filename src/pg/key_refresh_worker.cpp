// The background key refresher (docs/keys.md, "The background worker"). With
// shared_preload_libraries = 'rowguard', a launcher starts one worker per database
// listed in rowguard.refresh_databases (and restarts it when it stops). Each worker
// fetches the JWK Set of every issuer in rowguard.jwks_sources when it is due, outside
// any transaction, then syncs it in one short transaction. A token with an unknown kid
// wakes the worker of its database through a slot in shared memory and its latch; the
// worker broadcasts a condition variable after each refresh and each round, which a
// backend waiting for an unknown key (unknown_key_wait.cpp) sleeps on.
//
// Everything here is plain C-style code: functions that can ereport hold only plain
// data, and PG_TRY wraps only PostgreSQL calls (the fetch goes through the noexcept
// entry point of rowguard_fetch.so; a failure to load that module is logged and
// recorded like any failed fetch).
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_database.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

PGDLLEXPORT void rowguard_key_refresh_launcher(Datum arg);
PGDLLEXPORT void rowguard_key_refresh_worker(Datum arg);
}

#include <cstring>

#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/key_sync.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {
namespace {

constexpr int kMaxDatabases = 16;
constexpr int kIssLength = 256;
// Bounds on how often an issuer is fetched (docs/keys.md).
constexpr long kMinRefreshSeconds = 60;       // a shorter Cache-Control max-age is raised
constexpr long kMaxRefreshSeconds = 86400;    // a longer one is lowered
constexpr long kDefaultRefreshSeconds = 600;  // no usable max-age
constexpr long kFirstBackoffSeconds = 30;     // after a failure; doubles per failure
constexpr long kMaxBackoffSeconds = 3600;
constexpr long kWakeMinIntervalMs = 5000;  // an unknown kid refetches an issuer at most this often
constexpr long kWakeRateMs = 1000;         // backends wake a worker at most this often
constexpr long kIdleWaitMs = 60000;        // nothing due, or the extension missing
constexpr long kLauncherRestartMs = 5000;  // first delay before restarting a worker

struct RefreshSlot {
  bool in_use;
  Oid dbid;
  int pid;
  Latch* latch;
  TimestampTz last_wake;
  bool wake;
  char wake_iss[kIssLength];  // "" = every issuer of the database
};

struct RefreshShared {
  slock_t mutex;
  RefreshSlot slots[kMaxDatabases];
  // Broadcast after every refresh of an issuer and every round of a worker.
  ConditionVariable refreshed;
};

RefreshShared* shared = nullptr;
shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

void RequestShmem() {
  if (previous_shmem_request_hook) previous_shmem_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(RefreshShared)));
}

void StartupShmem() {
  if (previous_shmem_startup_hook) previous_shmem_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  shared = static_cast<RefreshShared*>(
      ShmemInitStruct("rowguard key refresher", sizeof(RefreshShared), &found));
  if (!found) {
    memset(shared, 0, sizeof(RefreshShared));
    SpinLockInit(&shared->mutex);
    ConditionVariableInit(&shared->refreshed);
  }
  LWLockRelease(AddinShmemInitLock);
}

// ---- worker ----

RefreshSlot* my_slot = nullptr;

void ReleaseSlot(int, Datum) {
  if (shared == nullptr || my_slot == nullptr) return;
  SpinLockAcquire(&shared->mutex);
  my_slot->in_use = false;
  my_slot->latch = nullptr;
  SpinLockRelease(&shared->mutex);
  my_slot = nullptr;
}

void TakeSlot() {
  SpinLockAcquire(&shared->mutex);
  for (int i = 0; i < kMaxDatabases && my_slot == nullptr; ++i) {
    if (!shared->slots[i].in_use) my_slot = &shared->slots[i];
  }
  if (my_slot != nullptr) {
    memset(my_slot, 0, sizeof(RefreshSlot));
    my_slot->in_use = true;
    my_slot->dbid = MyDatabaseId;
    my_slot->pid = MyProcPid;
    my_slot->latch = MyLatch;
  }
  SpinLockRelease(&shared->mutex);
  if (my_slot == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg(ROWGUARD_LOG_PREFIX "no free key refresher slot"),
                    errdetail("At most %d databases can be refreshed.", kMaxDatabases)));
  }
  on_shmem_exit(ReleaseSlot, 0);
}

// An issuer that is due, copied into the cycle's memory context.
struct DueSource {
  char* iss;
  char* uri;
};

void BeginWork(const char* activity) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  SPI_connect();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, activity);
}

void EndWork() {
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_stat(false);
  pgstat_report_activity(STATE_IDLE, nullptr);
}

// Reads the sources; fills the due ones into *due (allocated in `cycle`) and returns
// how long to sleep when none is due. -1: the extension (0.2.0 or later) is missing.
long CollectDue(MemoryContext cycle, bool woken, const char* wake_iss, DueSource** due,
                int* due_count) {
  *due = nullptr;
  *due_count = 0;
  long wait_ms = kIdleWaitMs;
  BeginWork("rowguard: reading key sources");
  SPI_execute(
      "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension "
      "                WHERE extname OPERATOR(pg_catalog.=) 'rowguard'::pg_catalog.name) "
      "AND pg_catalog.to_regclass('rowguard.jwks_sources'::pg_catalog.text) IS NOT NULL",
      true, 1);
  bool isnull = true;
  const bool installed =
      SPI_processed == 1 &&
      DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
      !isnull;
  if (!installed) {
    EndWork();
    return -1;
  }
  Oid types[2] = {BOOLOID, TEXTOID};
  Datum values[2] = {BoolGetDatum(woken), CStringGetTextDatum(wake_iss)};
  char query[1024];
  snprintf(
      query, sizeof(query),
      "SELECT s.iss, s.jwks_uri, "
      "       s.next_refresh IS NULL OR s.next_refresh OPERATOR(pg_catalog.<=) pg_catalog.now() "
      "       OR ($1 AND ($2 OPERATOR(pg_catalog.=) ''::pg_catalog.text "
      "                   OR s.iss OPERATOR(pg_catalog.=) $2) "
      "           AND (s.last_attempt IS NULL OR s.last_attempt OPERATOR(pg_catalog.<=) "
      "                (pg_catalog.now() OPERATOR(pg_catalog.-) "
      "                 pg_catalog.make_interval(secs => %ld::pg_catalog.float8)))), "
      "       pg_catalog.int8(GREATEST(0::pg_catalog.numeric, "
      "           pg_catalog.date_part('epoch'::pg_catalog.text, "
      "               s.next_refresh OPERATOR(pg_catalog.-) pg_catalog.now())::pg_catalog.numeric "
      "           OPERATOR(pg_catalog.*) 1000::pg_catalog.numeric)) "
      "  FROM rowguard.jwks_sources s ORDER BY s.iss",
      kWakeMinIntervalMs / 1000);
  SPI_execute_with_args(query, 2, types, values, nullptr, true, 0);
  MemoryContext old = MemoryContextSwitchTo(cycle);
  *due = static_cast<DueSource*>(palloc0(sizeof(DueSource) * (SPI_processed + 1)));
  for (uint64 i = 0; i < SPI_processed; ++i) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool is_due = DatumGetBool(SPI_getbinval(row, desc, 3, &isnull));
    if (is_due) {
      (*due)[*due_count].iss = SPI_getvalue(row, desc, 1);
      (*due)[*due_count].uri = SPI_getvalue(row, desc, 2);
      ++*due_count;
    } else {
      const int64 ms = DatumGetInt64(SPI_getbinval(row, desc, 4, &isnull));
      if (!isnull && ms < wait_ms) wait_ms = ms < 1000 ? 1000 : static_cast<long>(ms);
    }
  }
  MemoryContextSwitchTo(old);
  EndWork();
  return wait_ms;
}

// Only a termination request aborts a fetch (a reload waits until it returns).
bool FetchInterrupted() { return ProcDiePending; }

// Records the outcome of one refresh, unless the issuer's jwks_uri changed meanwhile.
// last_attempt is when the fetch began: a backend waiting for an unknown key
// (unknown_key_wait.cpp) knows from it whether the fetch began after its token arrived.
void Record(const DueSource& source, const char* error, long max_age, TimestampTz started) {
  BeginWork("rowguard: recording a key refresh");
  Oid types[5] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, TIMESTAMPTZOID};
  Datum values[5] = {CStringGetTextDatum(source.iss), error ? CStringGetTextDatum(error) : 0,
                     Int64GetDatum(max_age), CStringGetTextDatum(source.uri),
                     TimestampTzGetDatum(started)};
  const char nulls[5] = {' ', error ? ' ' : 'n', ' ', ' ', ' '};
  char query[1024];
  if (error == nullptr) {
    snprintf(query, sizeof(query),
             "UPDATE rowguard.jwks_sources SET last_attempt = $5, "
             "last_success = pg_catalog.now(), last_error = NULL, failures = 0, "
             "next_refresh = pg_catalog.now() OPERATOR(pg_catalog.+) "
             "pg_catalog.make_interval(secs => pg_catalog.float8("
             "CASE WHEN $3 OPERATOR(pg_catalog.<) 0::pg_catalog.int8 THEN %ld::pg_catalog.int8 "
             "ELSE LEAST(GREATEST($3, %ld::pg_catalog.int8), %ld::pg_catalog.int8) END)) "
             "WHERE iss OPERATOR(pg_catalog.=) $1 AND $2 IS NULL "
             "AND jwks_uri OPERATOR(pg_catalog.=) $4",
             kDefaultRefreshSeconds, kMinRefreshSeconds, kMaxRefreshSeconds);
  } else {
    snprintf(query, sizeof(query),
             "UPDATE rowguard.jwks_sources SET last_attempt = $5, "
             "last_error = $2, failures = failures OPERATOR(pg_catalog.+) 1, "
             "next_refresh = pg_catalog.now() OPERATOR(pg_catalog.+) "
             "pg_catalog.make_interval(secs => LEAST(%ld::pg_catalog.float8, "
             "%ld::pg_catalog.float8 OPERATOR(pg_catalog.*) pg_catalog.power(2::pg_catalog.float8, "
             "LEAST(failures, 12)::pg_catalog.float8))) "
             "WHERE iss OPERATOR(pg_catalog.=) $1 AND $3 IS NOT NULL "
             "AND jwks_uri OPERATOR(pg_catalog.=) $4",
             kMaxBackoffSeconds, kFirstBackoffSeconds);
  }
  SPI_execute_with_args(query, 5, types, values, nulls, false, 0);
  EndWork();
}

// Syncs a fetched set; logs every change. Returns false with the error message in
// *message (allocated in `cycle`) when the sync failed; nothing was changed then.
bool Sync(MemoryContext cycle, const char* iss, const char* body, char** message) {
  volatile bool ok = true;
  BeginWork("rowguard: syncing keys");
  PG_TRY();
  {
    Oid types[2] = {TEXTOID, TEXTOID};
    Datum values[2] = {CStringGetTextDatum(body), CStringGetTextDatum(iss)};
    SPI_execute_with_args(
        "SELECT s.kid, s.action "
        "  FROM rowguard._sync_jwks($1::pg_catalog.jsonb, $2::pg_catalog.text, true) s "
        " WHERE s.action OPERATOR(pg_catalog.<>) 'kept'::pg_catalog.text",
        2, types, values, nullptr, false, 0);
    for (uint64 i = 0; i < SPI_processed; ++i) {
      char* kid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
      char* action = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
      ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "issuer \"%s\": key \"%s\" %s", iss, kid, action)));
    }
    EndWork();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cycle);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    pgstat_report_activity(STATE_IDLE, nullptr);
    *message = edata->message;
    ok = false;
  }
  PG_END_TRY();
  return ok;
}

void RefreshOne(MemoryContext cycle, const DueSource& source) {
  const TimestampTz started = GetCurrentTimestamp();
  FetchSettings settings{setting_http_ca_file != nullptr ? setting_http_ca_file : "",
                         setting_http_timeout, FetchInterrupted};
  FetchLoadError load_error{0, nullptr};
  FetchHttpsGetFunction https_get = FindFetchModule(&load_error);
  if (https_get == nullptr) {
    char* why = psprintf(
        "could not fetch \"%s\": the fetch module rowguard_fetch could not be "
        "loaded: %s",
        source.uri, load_error.message);
    ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "keys of issuer \"%s\" not refreshed: %s", source.iss,
                         why)));
    Record(source, why, -1, started);
    return;
  }
  FetchPlain fetch;
  pgstat_report_activity(STATE_RUNNING, "rowguard: fetching keys");
  https_get(source.uri, &settings, &fetch);
  pgstat_report_activity(STATE_IDLE, nullptr);
  CHECK_FOR_INTERRUPTS();
  if (fetch.failure != FetchFailureKind::kNone) {
    char* why = FetchFailedOnCertificate(fetch)
                    ? psprintf("could not fetch \"%s\": %s (%s)", source.uri, fetch.detail,
                               FetchCertificateAdvice())
                    : psprintf("could not fetch \"%s\": %s", source.uri, fetch.detail);
    ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "keys of issuer \"%s\" not refreshed: %s", source.iss,
                         why)));
    Record(source, why, -1, started);
    return;
  }
  char* body = pstrdup(fetch.body);
  const long max_age = fetch.max_age;
  free(fetch.body);
  char* message = nullptr;
  if (!Sync(cycle, source.iss, body, &message)) {
    ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "keys of issuer \"%s\" not refreshed: %s", source.iss,
                         message)));
    Record(source, message, -1, started);
    return;
  }
  Record(source, nullptr, max_age, started);
}

// The worker is the bootstrap superuser in a database whose owner may be any role (a
// trusted install): the settings that owner gave the database (ALTER DATABASE ... SET
// search_path = public, pg_catalog) must not choose the operators, functions and types
// the worker's queries resolve to. PGC_S_OVERRIDE outranks the database's and the
// role's settings and the configuration file, also after a reload. Every query below
// qualifies its operators, functions and types as well (docs/security-model.md,
// "0.3.0 hardening: the database owner").
void PinWorkerSettings() {
  SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
}

bool Listed(const char* dbname) {
  char* list = pstrdup(setting_refresh_databases != nullptr ? setting_refresh_databases : "");
  List* names = NIL;
  bool found = false;
  if (SplitGUCList(list, ',', &names)) {
    ListCell* cell;
    foreach (cell, names) {
      if (strcmp(static_cast<char*>(lfirst(cell)), dbname) == 0) found = true;
    }
  }
  list_free(names);
  pfree(list);
  return found;
}

}  // namespace

void KeyRefreshRequestShmem() {
  ChainHook(shmem_request_hook, previous_shmem_request_hook, RequestShmem);
  ChainHook(shmem_startup_hook, previous_shmem_startup_hook, StartupShmem);
}

void KeyRefreshStartupShmem() { StartupShmem(); }

void KeyRefreshRegisterLauncher() {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  // A connection to the shared catalogs only: it reads pg_database, so a database listed
  // before it is created gets a LOG line and a retry instead of a worker's FATAL.
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  // Not on a standby: its keys arrive by replication. After a promotion it starts.
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 5;
  strlcpy(worker.bgw_library_name, "rowguard", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "rowguard_key_refresh_launcher", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "rowguard key refresh launcher", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "rowguard key refresh launcher", BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

void KeySyncNoteUnknownKey(const char* iss) {
  if (shared == nullptr || !OidIsValid(MyDatabaseId)) return;
  const TimestampTz now = GetCurrentTimestamp();
  Latch* latch = nullptr;
  SpinLockAcquire(&shared->mutex);
  for (int i = 0; i < kMaxDatabases; ++i) {
    RefreshSlot& slot = shared->slots[i];
    if (!slot.in_use || slot.dbid != MyDatabaseId || slot.latch == nullptr) continue;
    if (slot.wake) {
      // A wake not yet taken by the worker: it covers this issuer too (two different
      // issuers waiting for one wake: refresh every issuer). Its latch is set already.
      if (strncmp(slot.wake_iss, iss != nullptr ? iss : "", kIssLength) != 0) {
        slot.wake_iss[0] = '\0';
      }
      break;
    }
    if (!TimestampDifferenceExceeds(slot.last_wake, now, kWakeRateMs)) break;
    strlcpy(slot.wake_iss, iss != nullptr ? iss : "", kIssLength);
    slot.wake = true;
    slot.last_wake = now;
    latch = slot.latch;
    break;
  }
  SpinLockRelease(&shared->mutex);
  if (latch != nullptr) SetLatch(latch);
}

bool KeyRefreshRunsHere() {
  if (shared == nullptr || !OidIsValid(MyDatabaseId)) return false;
  bool found = false;
  SpinLockAcquire(&shared->mutex);
  for (int i = 0; i < kMaxDatabases && !found; ++i) {
    const RefreshSlot& slot = shared->slots[i];
    found = slot.in_use && slot.dbid == MyDatabaseId && slot.latch != nullptr;
  }
  SpinLockRelease(&shared->mutex);
  return found;
}

long KeyRefreshWakeMinIntervalMs() { return kWakeMinIntervalMs; }

void KeyRefreshSleep(long timeout_ms) {
  if (shared == nullptr) return;
  (void)ConditionVariableTimedSleep(&shared->refreshed, timeout_ms, PG_WAIT_EXTENSION);
}

void KeyRefreshEndSleep() { ConditionVariableCancelSleep(); }

}  // namespace rowguard::pg

using namespace rowguard::pg;

void rowguard_key_refresh_worker(Datum arg) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  char dbname[NAMEDATALEN];
  strlcpy(dbname, MyBgworkerEntry->bgw_extra, sizeof(dbname));
  BackgroundWorkerInitializeConnection(dbname, nullptr, 0);
  PinWorkerSettings();
  if (shared == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg(ROWGUARD_LOG_PREFIX "key refresher started without shared memory")));
  }
  TakeSlot();
  MemoryContext cycle =
      AllocSetContextCreate(TopMemoryContext, "rowguard key refresh", ALLOCSET_DEFAULT_SIZES);
  bool missing_logged = false;
  ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "key refresher started for database \"%s\"", dbname)));
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      if (!Listed(dbname)) {
        ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX
                             "key refresher for database \"%s\" stops: it is no longer "
                             "in rowguard.refresh_databases",
                             dbname)));
        proc_exit(0);
      }
    }
    bool woken = false;
    char wake_iss[kIssLength];
    SpinLockAcquire(&shared->mutex);
    woken = my_slot->wake;
    strlcpy(wake_iss, my_slot->wake_iss, sizeof(wake_iss));
    my_slot->wake = false;
    my_slot->wake_iss[0] = '\0';
    SpinLockRelease(&shared->mutex);

    long wait_ms = kIdleWaitMs;
    if (!RecoveryInProgress()) {
      MemoryContextReset(cycle);
      DueSource* due = nullptr;
      int due_count = 0;
      wait_ms = CollectDue(cycle, woken, wake_iss, &due, &due_count);
      if (wait_ms < 0) {
        if (!missing_logged) {
          ereport(LOG,
                  (errmsg(ROWGUARD_LOG_PREFIX "database \"%s\" has no rowguard 0.2.0 key sources; "
                                              "the key refresher waits",
                          dbname)));
          missing_logged = true;
        }
        wait_ms = kIdleWaitMs;
      } else {
        missing_logged = false;
        for (int i = 0; i < due_count; ++i) {
          RefreshOne(cycle, due[i]);
          ConditionVariableBroadcast(&shared->refreshed);
        }
        ConditionVariableBroadcast(&shared->refreshed);
        if (due_count > 0) continue;  // read the new schedule at once
      }
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}

namespace {

// A heap scan of pg_database, as the autovacuum launcher reads it: with no database
// selected, only shared catalogs and their nailed entries are at hand (an index scan
// would need pg_class).
bool DatabaseExists(const char* name) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  (void)GetTransactionSnapshot();
  bool exists = false;
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tuple;
  while (!exists && (tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    const auto* row = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
    exists = strcmp(NameStr(row->datname), name) == 0;
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
  return exists;
}

}  // namespace

void rowguard_key_refresh_launcher(Datum arg) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  static bool missing_logged[kMaxDatabases];

  static char names[kMaxDatabases][NAMEDATALEN];
  static BackgroundWorkerHandle* handles[kMaxDatabases];
  static TimestampTz not_before[kMaxDatabases];
  static long delay_ms[kMaxDatabases];
  int count = 0;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    // Stop workers of databases no longer listed.
    for (int i = 0; i < count; ++i) {
      if (names[i][0] != '\0' && !Listed(names[i])) {
        if (handles[i] != nullptr) TerminateBackgroundWorker(handles[i]);
        handles[i] = nullptr;
        names[i][0] = '\0';
      }
    }
    char* list = pstrdup(setting_refresh_databases != nullptr ? setting_refresh_databases : "");
    List* wanted = NIL;
    if (!SplitGUCList(list, ',', &wanted)) {
      ereport(LOG,
              (errmsg(ROWGUARD_LOG_PREFIX "rowguard.refresh_databases is not a list of names")));
      wanted = NIL;
    }
    const TimestampTz now = GetCurrentTimestamp();
    long next_ms = 10000;
    ListCell* cell;
    foreach (cell, wanted) {
      const char* db = static_cast<char*>(lfirst(cell));
      if (db[0] == '\0' || strlen(db) >= NAMEDATALEN) continue;
      int i = 0;
      while (i < count && strcmp(names[i], db) != 0) ++i;
      if (i == count) {
        int free_slot = 0;
        while (free_slot < count && names[free_slot][0] != '\0') ++free_slot;
        if (free_slot == kMaxDatabases) {
          ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX
                               "more than %d databases in rowguard.refresh_databases; "
                               "\"%s\" is not refreshed",
                               kMaxDatabases, db)));
          continue;
        }
        i = free_slot;
        if (i == count) ++count;
        strlcpy(names[i], db, NAMEDATALEN);
        handles[i] = nullptr;
        not_before[i] = 0;
        delay_ms[i] = kLauncherRestartMs;
        missing_logged[i] = false;
      }
      pid_t pid;
      if (handles[i] != nullptr && GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED) {
        continue;
      }
      if (handles[i] != nullptr) {
        // It stopped (terminated, crashed, or its database is gone): restart it, with a
        // delay that doubles while it keeps stopping, up to a minute.
        pfree(handles[i]);
        handles[i] = nullptr;
        not_before[i] = TimestampTzPlusMilliseconds(now, delay_ms[i]);
        delay_ms[i] = delay_ms[i] * 2 > kIdleWaitMs ? kIdleWaitMs : delay_ms[i] * 2;
      }
      if (handles[i] == nullptr && !DatabaseExists(db)) {
        // Not created yet (or dropped): looked for again every 10 s.
        if (!missing_logged[i]) {
          ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX
                               "database \"%s\" in rowguard.refresh_databases does not exist; "
                               "its key refresher starts once it is created",
                               db)));
          missing_logged[i] = true;
        }
        continue;
      }
      missing_logged[i] = false;
      if (now < not_before[i]) {
        long ms = static_cast<long>((not_before[i] - now) / 1000) + 1;
        if (ms < next_ms) next_ms = ms;
        continue;
      }
      BackgroundWorker worker;
      memset(&worker, 0, sizeof(worker));
      worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
      worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
      worker.bgw_restart_time = BGW_NEVER_RESTART;  // this launcher restarts it
      strlcpy(worker.bgw_library_name, "rowguard", BGW_MAXLEN);
      strlcpy(worker.bgw_function_name, "rowguard_key_refresh_worker", BGW_MAXLEN);
      snprintf(worker.bgw_name, BGW_MAXLEN, "rowguard key refresher for %s", db);
      strlcpy(worker.bgw_type, "rowguard key refresher", BGW_MAXLEN);
      strlcpy(worker.bgw_extra, db, BGW_EXTRALEN);
      worker.bgw_notify_pid = MyProcPid;
      if (!RegisterDynamicBackgroundWorker(&worker, &handles[i])) {
        handles[i] = nullptr;
        ereport(LOG,
                (errmsg(ROWGUARD_LOG_PREFIX "could not start the key refresher for database \"%s\"",
                        db),
                 errhint("Raise max_worker_processes.")));
      }
    }
    list_free(wanted);
    pfree(list);
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, next_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}
