// Seeing what happens: verification outcome counts (rowguard.stats), the last rejection
// of this transaction (session_status), rowguard.failure_delay, the shared sessions
// array (rowguard.sessions) and rowguard.log_identity. docs/operations.md describes
// them for operators; docs/functions.md and docs/settings.md are the reference.
//
// The rest of the glue calls these at a few points only:
//   _PG_init                   ObserveInit()
//   MakeIdentity               ObserveAccepted() / ObserveRejected() at each outcome
//   AssignTokenHook            ObservePublishIdentity()
//   the emit_log_hook          AddIdentityToLogLine()
#pragma once

#include <cstdint>

#include "rowguard/core/failure_class.hpp"
#include "rowguard/pg/identity_block.hpp"

extern "C" {
#include "postgres.h"

#include "utils/elog.h"
}

namespace rowguard::pg {

// Outcome slots of rowguard.stats(): accepted, cache_hit, then one per
// core::FailureClass in its order, then outside_transaction (kOutcomeOutsideTransaction,
// observe_shared.hpp).
constexpr int kOutcomeAccepted = 0;
constexpr int kOutcomeCacheHit = 1;
constexpr int kOutcomeFirstFailure = 2;

// The failure class of a rejection that is not the verifier's (no key store, out of
// memory, a fail-closed session): core::FailureClass::kOther.
constexpr int kOtherFailure = static_cast<int>(core::FailureClass::kOther);

// Called from _PG_init; when rowguard is being preloaded, requests and attaches the
// shared memory of the cluster-wide stats and the sessions array.
void ObserveInit();

// True when the shared memory exists (rowguard is in shared_preload_libraries).
bool ObserveShared();

// A token verified (cache_hit: from this backend's verified-token cache). One atomic
// add when preloaded, a local add otherwise.
void ObserveAccepted(bool cache_hit);

// A token rejected with `failure_class` (a core::FailureClass as int) and `detail`:
// counts it, remembers the reason for session_status() in this transaction, and then
// waits rowguard.failure_delay (interruptibly) before the caller reports the error.
void ObserveRejected(int failure_class, const char* detail);

// authenticate(token) with is_local outside a transaction block: the identity ended with
// its statement (a WARNING says so, which drivers may hide). Counted as
// outside_transaction.
void ObserveOutsideTransaction();

// The identity in force changed (nullptr: none); publishes it in this backend's slot
// of the shared sessions array when preloaded.
void ObservePublishIdentity(const Identity* identity);

// True when the value of rowguard.token now in force was set for the transaction
// (SET LOCAL, authenticate(..., true)) rather than for the session.
bool TokenIsTransactionScoped();

// With rowguard.log_identity on and an identity in force, appends the identity (sub,
// iss, kid, jti; never the token) to the server-only detail of a log entry.
void AddIdentityToLogLine(ErrorData* edata);

// Shared state, laid out in observe_shmem.cpp.
struct SessionSlot;
struct SharedStats;
extern SharedStats* shared_stats;
extern SessionSlot* session_slots;
extern int session_slot_count;

}  // namespace rowguard::pg
