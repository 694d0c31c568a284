// rowguard.stats() / stats_reset(), and the shared memory of the observation features.
// Preloaded, the counters live in shared memory and every backend adds to them with one
// atomic add (no lock); otherwise each backend counts for itself.
extern "C" {
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/observe_shared.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {

SharedStats* shared_stats = nullptr;
SessionSlot* session_slots = nullptr;
int session_slot_count = 0;

namespace {

std::uint64_t local_counts[kOutcomeCount];

shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

Size SessionsSize(int slots) { return mul_size(static_cast<Size>(slots), sizeof(SessionSlot)); }

void RequestSharedMemory() {
  if (previous_shmem_request_hook != nullptr) previous_shmem_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(SharedStats)));
  RequestAddinShmemSpace(SessionsSize(MaxBackends));
}

void AttachSharedMemory() {
  if (previous_shmem_startup_hook != nullptr) previous_shmem_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  auto* stats =
      static_cast<SharedStats*>(ShmemInitStruct("rowguard stats", sizeof(SharedStats), &found));
  if (!found) {
    for (auto& count : stats->counts) pg_atomic_init_u64(&count, 0);
  }
  auto* slots = static_cast<SessionSlot*>(
      ShmemInitStruct("rowguard sessions", SessionsSize(MaxBackends), &found));
  if (!found) {
    memset(slots, 0, SessionsSize(MaxBackends));
    for (int i = 0; i < MaxBackends; ++i) pg_atomic_init_u32(&slots[i].changes, 0);
  }
  LWLockRelease(AddinShmemInitLock);
  shared_stats = stats;
  session_slots = slots;
  session_slot_count = MaxBackends;
}

const char* OutcomeName(int index) {
  if (index == kOutcomeAccepted) return "accepted";
  if (index == kOutcomeCacheHit) return "cache_hit";
  if (index == kOutcomeOutsideTransaction) return "outside_transaction";
  return core::FailureClassName(static_cast<core::FailureClass>(index - kOutcomeFirstFailure));
}

}  // namespace

void ObserveInit() {
  if (!process_shared_preload_libraries_in_progress) return;
  ChainHook(shmem_request_hook, previous_shmem_request_hook, RequestSharedMemory);
  ChainHook(shmem_startup_hook, previous_shmem_startup_hook, AttachSharedMemory);
}

bool ObserveShared() { return shared_stats != nullptr; }

void CountOutcome(int index) {
  if (shared_stats != nullptr) {
    pg_atomic_fetch_add_u64(&shared_stats->counts[index], 1);
  } else {
    ++local_counts[index];
  }
}

void ObserveAccepted(bool cache_hit) {
  CountOutcome(cache_hit ? kOutcomeCacheHit : kOutcomeAccepted);
}

void ObserveOutsideTransaction() { CountOutcome(kOutcomeOutsideTransaction); }

}  // namespace rowguard::pg

using namespace rowguard::pg;

ROWGUARD_SQL_FUNCTION(rowguard_stats) {
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0; i < kOutcomeCount; ++i) {
    const std::uint64_t count =
        shared_stats != nullptr ? pg_atomic_read_u64(&shared_stats->counts[i]) : local_counts[i];
    Datum values[2] = {CStringGetTextDatum(OutcomeName(i)),
                       Int64GetDatum(static_cast<int64>(count))};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

// Zeroes the counters one by one, each with one atomic write: an add that races with
// the reset is counted either before it (and cleared) or after it.
ROWGUARD_SQL_FUNCTION(rowguard_stats_reset) {
  for (int i = 0; i < kOutcomeCount; ++i) {
    if (shared_stats != nullptr) {
      pg_atomic_write_u64(&shared_stats->counts[i], 0);
    } else {
      local_counts[i] = 0;
    }
  }
  PG_RETURN_VOID();
}
