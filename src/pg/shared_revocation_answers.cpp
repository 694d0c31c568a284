// Shared revocation answers (include/rowguard/pg/shared_revocation_answers.hpp;
// docs/design.md, "Shared revocation answers").
//
// Shared memory holds a lock (a named tranche), a generation per database (kDatabases
// of them) and a set-associative table of answers. A database's generation is a value
// of one shared counter, taken when the database gets its entry and again whenever a
// transaction that changed rowguard.revocations commits (the transaction callback,
// XACT_EVENT_COMMIT: after the commit is visible to new snapshots, before the
// invalidations are sent and before the client hears of the commit), exactly as the
// shared key snapshot's generation (shared_key_snapshot.cpp) moves for the key tables.
//
// A prober takes the generation g, then probes with a catalog snapshot taken after
// that, and remembers its answer under g. An answer is used only while g is still the
// database's generation: a revocation that commits after g was taken moves it, so an
// answer that may have missed it is never used again. Answers are keyed by database,
// the table's OID (DROP and CREATE EXTENSION make a new table), kind, issuer and value
// (compared byte for byte; longer than kTextBytes together: not remembered).
//
// Plain C-style code: nothing here holds anything but plain data.
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/snapmgr.h"
}

#include <cstdint>
#include <cstring>

#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/shared_revocation_answers.hpp"

namespace rowguard::pg {
namespace {

constexpr int kDatabases = 64;
constexpr int kWays = 4;
constexpr int kBuckets = 512;  // 2,048 answers, about 480 kB
constexpr std::size_t kTextBytes = 192;
constexpr const char* kTrancheName = "rowguard revocation answers";

struct DatabaseGeneration {
  Oid dboid;  // InvalidOid: free
  bool disabled;  // a prepared transaction changed rowguard.revocations
  std::uint64_t generation;
  std::uint64_t assigned_serial;  // for eviction
};

struct Answer {
  Oid dboid;  // InvalidOid: empty
  Oid table;
  std::uint64_t generation;
  std::int64_t answer;
  std::uint16_t issuer_length, value_length;
  char kind;
  char text[kTextBytes];  // issuer, then value
};

struct AnswersShared {
  LWLock* lock;
  std::uint64_t next_generation;
  std::uint64_t next_serial;
  bool all_disabled;  // a prepared transaction changed the table and no entry was free
  DatabaseGeneration databases[kDatabases];
  std::uint32_t next_way[kBuckets];
  Answer answers[kBuckets * kWays];
};

AnswersShared* shared = nullptr;
shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

// This transaction changed rowguard.revocations (the trigger): no answer is used or
// remembered in it, and the generation moves at commit.
bool pending_change = false;

bool Enabled() { return setting_shared_key_store_size > 0; }

void RequestShmem() {
  if (previous_shmem_request_hook != nullptr) previous_shmem_request_hook();
  if (!Enabled()) return;
  RequestAddinShmemSpace(MAXALIGN(sizeof(AnswersShared)));
  RequestNamedLWLockTranche(kTrancheName, 1);
}

void StartupShmem() {
  if (previous_shmem_startup_hook != nullptr) previous_shmem_startup_hook();
  if (!Enabled()) return;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  auto* area = static_cast<AnswersShared*>(
      ShmemInitStruct("rowguard revocation answers", sizeof(AnswersShared), &found));
  if (!found) {
    memset(area, 0, sizeof(AnswersShared));
    area->lock = &(GetNamedLWLockTranche(kTrancheName))->lock;
    area->next_generation = 1;
  }
  LWLockRelease(AddinShmemInitLock);
  shared = area;
}

bool Usable() {
  return shared != nullptr && !pending_change && OidIsValid(MyDatabaseId) &&
         !InitializingParallelWorker && !IsParallelWorker() && IsTransactionState() &&
         !RecoveryInProgress();
}

// ---- the lock held ----

DatabaseGeneration* FindDatabase(Oid dboid) {
  for (auto& database : shared->databases) {
    if (database.dboid == dboid) return &database;
  }
  return nullptr;
}

// An entry for `dboid` with a fresh generation (evicting the one assigned longest ago
// that is not disabled), or nullptr.
DatabaseGeneration* AssignDatabase(Oid dboid) {
  DatabaseGeneration* chosen = nullptr;
  for (auto& database : shared->databases) {
    if (!OidIsValid(database.dboid)) {
      chosen = &database;
      break;
    }
    if (database.disabled) continue;
    if (chosen == nullptr || database.assigned_serial < chosen->assigned_serial) chosen = &database;
  }
  if (chosen == nullptr) return nullptr;
  chosen->dboid = dboid;
  chosen->disabled = false;
  // A fresh value: answers remembered under an earlier assignment never match again.
  chosen->generation = ++shared->next_generation;
  chosen->assigned_serial = ++shared->next_serial;
  return chosen;
}

std::uint32_t BucketOf(Oid table, char kind, const char* issuer, std::size_t issuer_length,
                       const char* value, std::size_t value_length) {
  std::uint32_t hash = hash_bytes(reinterpret_cast<const unsigned char*>(value),
                                  static_cast<int>(value_length));
  hash = hash_combine(hash, hash_bytes(reinterpret_cast<const unsigned char*>(issuer),
                                       static_cast<int>(issuer_length)));
  hash = hash_combine(hash, static_cast<std::uint32_t>(static_cast<unsigned char>(kind)));
  hash = hash_combine(hash, MyDatabaseId);
  hash = hash_combine(hash, table);
  return hash % kBuckets;
}

bool Matches(const Answer& entry, Oid table, char kind, const char* issuer,
             std::size_t issuer_length, const char* value, std::size_t value_length) {
  return entry.dboid == MyDatabaseId && entry.table == table && entry.kind == kind &&
         entry.issuer_length == issuer_length && entry.value_length == value_length &&
         memcmp(entry.text, issuer, issuer_length) == 0 &&
         memcmp(entry.text + issuer_length, value, value_length) == 0;
}

bool Fits(std::size_t issuer_length, std::size_t value_length) {
  return issuer_length + value_length <= kTextBytes;
}

// ---- the changing transaction ----

void OnXactEvent(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_COMMIT:
      // After ProcArrayEndTransaction, before AtEOXact_Inval and before the client
      // hears of the commit. Nothing here can fail.
      if (pending_change && shared != nullptr && OidIsValid(MyDatabaseId)) {
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        DatabaseGeneration* database = FindDatabase(MyDatabaseId);
        if (database != nullptr) database->generation = ++shared->next_generation;
        LWLockRelease(shared->lock);
      }
      pending_change = false;
      break;
    case XACT_EVENT_PRE_PREPARE:
      // The change commits later, in COMMIT PREPARED, possibly in another backend, with
      // no callback here: this database probes its table from now on (until restart).
      if (pending_change && shared != nullptr && OidIsValid(MyDatabaseId)) {
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        DatabaseGeneration* database = FindDatabase(MyDatabaseId);
        if (database == nullptr) database = AssignDatabase(MyDatabaseId);
        if (database != nullptr) {
          database->disabled = true;
          database->generation = ++shared->next_generation;
        } else {
          shared->all_disabled = true;
        }
        LWLockRelease(shared->lock);
      }
      pending_change = false;
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
      pending_change = false;
      break;
    default:
      break;
  }
}

}  // namespace

void SharedRevocationAnswersInit() {
  if (!process_shared_preload_libraries_in_progress) return;
  ChainHook(shmem_request_hook, previous_shmem_request_hook, RequestShmem);
  ChainHook(shmem_startup_hook, previous_shmem_startup_hook, StartupShmem);
  RegisterXactCallback(OnXactEvent, nullptr);
}

void SharedRevocationNoteChange() {
  if (shared != nullptr) pending_change = true;
}

std::uint64_t SharedRevocationBeginProbe() {
  if (!Usable()) return 0;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  std::uint64_t generation = 0;
  if (!shared->all_disabled) {
    DatabaseGeneration* database = FindDatabase(MyDatabaseId);
    if (database == nullptr) database = AssignDatabase(MyDatabaseId);
    if (database != nullptr && !database->disabled) generation = database->generation;
  }
  LWLockRelease(shared->lock);
  // The probe must see every revocation committed before `generation` was taken: not
  // through a catalog snapshot this transaction may already hold.
  if (generation != 0) InvalidateCatalogSnapshot();
  return generation;
}

bool SharedRevocationFind(unsigned int table, char kind, const char* issuer,
                          std::size_t issuer_length, const char* value, std::size_t value_length,
                          std::int64_t* answer) {
  if (!Usable() || !Fits(issuer_length, value_length)) return false;
  const std::uint32_t bucket = BucketOf(table, kind, issuer, issuer_length, value, value_length);
  bool found = false;
  LWLockAcquire(shared->lock, LW_SHARED);
  const DatabaseGeneration* database = shared->all_disabled ? nullptr : FindDatabase(MyDatabaseId);
  if (database != nullptr && !database->disabled) {
    for (int way = 0; way < kWays; ++way) {
      const Answer& entry = shared->answers[bucket * kWays + way];
      if (entry.generation == database->generation &&
          Matches(entry, table, kind, issuer, issuer_length, value, value_length)) {
        *answer = entry.answer;
        found = true;
        break;
      }
    }
  }
  LWLockRelease(shared->lock);
  return found;
}

void SharedRevocationRemember(std::uint64_t generation, unsigned int table, char kind,
                              const char* issuer, std::size_t issuer_length, const char* value,
                              std::size_t value_length, std::int64_t answer) {
  if (generation == 0 || !Usable() || !Fits(issuer_length, value_length)) return;
  const std::uint32_t bucket = BucketOf(table, kind, issuer, issuer_length, value, value_length);
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  const DatabaseGeneration* database = FindDatabase(MyDatabaseId);
  if (database != nullptr && !database->disabled && !shared->all_disabled &&
      database->generation == generation) {
    // The same question's way, else one no longer current, else the next in turn.
    Answer* chosen = nullptr;
    for (int way = 0; way < kWays && chosen == nullptr; ++way) {
      Answer& entry = shared->answers[bucket * kWays + way];
      if (Matches(entry, table, kind, issuer, issuer_length, value, value_length)) chosen = &entry;
    }
    for (int way = 0; way < kWays && chosen == nullptr; ++way) {
      Answer& entry = shared->answers[bucket * kWays + way];
      const DatabaseGeneration* owner =
          OidIsValid(entry.dboid) ? FindDatabase(entry.dboid) : nullptr;
      if (owner == nullptr || owner->generation != entry.generation) chosen = &entry;
    }
    if (chosen == nullptr) {
      chosen = &shared->answers[bucket * kWays + shared->next_way[bucket]];
      shared->next_way[bucket] = (shared->next_way[bucket] + 1) % kWays;
    }
    chosen->dboid = MyDatabaseId;
    chosen->table = table;
    chosen->generation = generation;
    chosen->answer = answer;
    chosen->kind = kind;
    chosen->issuer_length = static_cast<std::uint16_t>(issuer_length);
    chosen->value_length = static_cast<std::uint16_t>(value_length);
    memcpy(chosen->text, issuer, issuer_length);
    memcpy(chosen->text + issuer_length, value, value_length);
  }
  LWLockRelease(shared->lock);
}

}  // namespace rowguard::pg
