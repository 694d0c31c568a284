// The noexcept boundary for key sync and HTTPS fetches (see core_bridge.hpp for the
// rules): plain data in and out, malloc'ed results, failures in a fixed buffer.
#pragma once

#include <cstddef>

#include "rowguard/pg/core_bridge.hpp"

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

enum class FetchFailureKind {
  kNone,
  kBadUrl,
  kConnect,
  kTimeout,
  kTransfer,
  kStatus,
  kTooLarge,
  kNotJson,
  kRedirect,
  kInterrupted,
  kInternal  // stays last: kFetchFailureKindCount
};
constexpr int kFetchFailureKindCount = static_cast<int>(FetchFailureKind::kInternal) + 1;

struct FetchPlain {
  FetchFailureKind failure;
  char detail[kDetailSize];
  char* body;  // malloc'ed, NUL-terminated (on success)
  std::size_t body_length;
  long max_age;  // -1 when the response said nothing usable
};

struct FetchSettings {
  const char* ca_file;  // "" for the system bundle
  int timeout_ms;
  bool (*interrupted)();
};

// HTTPS GET of a JSON document under the fetch rules of docs/keys.md.
void BridgeHttpsGet(const char* url, const FetchSettings& settings, FetchPlain* out) noexcept;
bool BridgeIsHttpsUrl(const char* url) noexcept;

}  // namespace rowguard::pg
