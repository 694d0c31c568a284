// The noexcept boundary for key sync and URL checks
// (include/rowguard/pg/key_sync_bridge.hpp). No PostgreSQL header: nothing here can
// longjmp.
#include "rowguard/pg/key_sync_bridge.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "rowguard/core/https_url.hpp"
#include "rowguard/core/jwks_sync.hpp"
#include "rowguard/pg/cpp_only.hpp"  // last: no PostgreSQL header in this file

namespace rowguard::pg {
namespace {

void SetDetail(char (&dst)[kDetailSize], const std::string& src) {
  const std::size_t n = std::min(src.size(), kDetailSize - 1);
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

char* Dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

}  // namespace

bool BridgePlanJwksSync(const char* const* kids, const char* const* algs, const char* const* jwks,
                        int stored_count, const char* set, std::size_t set_length, bool public_only,
                        SyncStepPlain** steps, int* step_count, BridgeError* error) noexcept {
  *steps = nullptr;
  *step_count = 0;
  SyncStepPlain* out = nullptr;
  int filled = 0;
  try {
    std::vector<core::StoredKeyRow> stored;
    for (int i = 0; i < stored_count; ++i) stored.push_back({kids[i], algs[i], jwks[i]});
    auto plan = core::PlanJwksSync(stored, std::string_view(set, set_length), public_only);
    if (!plan.ok()) {
      error->kind = FailureKind::kKey;
      SetDetail(error->detail, plan.failure().detail);
      return false;
    }
    const auto& result = plan.value();
    out = static_cast<SyncStepPlain*>(std::calloc(result.steps.size() + 1, sizeof(SyncStepPlain)));
    if (out == nullptr) throw std::bad_alloc();
    for (const core::SyncStep& step : result.steps) {
      SyncStepPlain& plain = out[filled++];
      plain.action = core::SyncActionName(step.action);
      plain.kid = Dup(step.kid);
      if (step.incoming_index >= 0) {
        const core::IncomingKey& key = result.incoming.at(step.incoming_index);
        plain.alg = Dup(key.fingerprint.alg);
        plain.jwk = Dup(key.jwk);
      }
    }
    *steps = out;
    *step_count = filled;
    return true;
  } catch (const std::bad_alloc&) {
    error->kind = FailureKind::kOutOfMemory;
    SetDetail(error->detail, "out of memory");
  } catch (...) {
    error->kind = FailureKind::kInternal;
    SetDetail(error->detail, "unexpected exception in rowguard core");
  }
  BridgeFreeSyncPlan(out, filled);
  return false;
}

void BridgeFreeSyncPlan(SyncStepPlain* steps, int step_count) noexcept {
  if (steps == nullptr) return;
  for (int i = 0; i < step_count; ++i) {
    std::free(steps[i].kid);
    std::free(steps[i].alg);
    std::free(steps[i].jwk);
  }
  std::free(steps);
}

bool BridgeIsHttpsUrl(const char* url) noexcept {
  try {
    return core::HttpsHost(url).has_value();
  } catch (...) {
    return false;
  }
}

}  // namespace rowguard::pg
