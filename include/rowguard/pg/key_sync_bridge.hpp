// The noexcept boundary for key sync and URL checks (see core_bridge.hpp for the
// rules): plain data in and out, malloc'ed results, failures in a fixed buffer. The
// HTTPS fetch itself is in rowguard_fetch.so (fetch_module.hpp).
#pragma once

#include <cstddef>

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/fetch_module.hpp"

namespace rowguard::pg {

struct SyncStepPlain {
  char* kid;           // malloc'ed
  char* alg;           // malloc'ed, nullptr for "removed"
  char* jwk;           // malloc'ed compact JSON, nullptr for "removed"
  const char* action;  // static: added, kept, replaced, removed
};

// Plans rowguard.sync_jwks: stored rows (kid, alg, jwk text) against a JWK Set.
// Release with BridgeFreeSyncPlan. A bad set is FailureKind::kKey.
bool BridgePlanJwksSync(const char* const* kids, const char* const* algs, const char* const* jwks,
                        int stored_count, const char* set, std::size_t set_length, bool public_only,
                        SyncStepPlain** steps, int* step_count, BridgeError* error) noexcept;
void BridgeFreeSyncPlan(SyncStepPlain* steps, int step_count) noexcept;

// Is `url` an https URL with a host (core::HttpsHost; no libcurl).
bool BridgeIsHttpsUrl(const char* url) noexcept;

}  // namespace rowguard::pg
