// The shared-memory layout of rowguard.stats() and rowguard.sessions (preload only).
#pragma once

#include <cstdint>

extern "C" {
#include "postgres.h"

#include "port/atomics.h"
}

#include "rowguard/core/failure_class.hpp"
#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/observe.hpp"

namespace rowguard::pg {

constexpr int kOutcomeOutsideTransaction = kOutcomeFirstFailure + core::kFailureClassCount;
constexpr int kOutcomeCount = kOutcomeOutsideTransaction + 1;

struct SharedStats {
  pg_atomic_uint64 counts[kOutcomeCount];
};

// One per backend (indexed by backend id). The owning backend is the only writer: it
// makes `changes` odd, writes, and makes it even again (with write barriers); a reader
// copies the slot and retries until it saw the same even value before and after, the
// way PostgreSQL's own pg_stat_activity reads backend status.
struct SessionSlot {
  pg_atomic_uint32 changes;
  int32 pid;         // 0: no identity in force
  bool transaction;  // scope: transaction (true) or session
  bool has_exp;
  int64 exp;  // Unix seconds
  char sub[kFactSize], iss[kFactSize], kid[kFactSize], jti[kFactSize];
};

}  // namespace rowguard::pg

namespace rowguard::pg {

// Adds one to outcome slot `index` (shared when preloaded, this backend's otherwise).
void CountOutcome(int index);

}  // namespace rowguard::pg
