// The noexcept boundary to the revocation lookup cache (lifecycle_bridge.hpp). No
// PostgreSQL header is included here on purpose: nothing in this file can longjmp.
#include "rowguard/pg/lifecycle_bridge.hpp"

#include <string_view>

#include "rowguard/core/lookup_cache.hpp"
#include "rowguard/pg/cpp_only.hpp"  // last: no PostgreSQL header in this file

namespace rowguard::pg {
namespace {

core::LookupCache& Cache() {
  static core::LookupCache cache(kRevocationCacheBytes);
  return cache;
}

}  // namespace

bool RevocationCacheFind(char kind, const char* issuer, std::size_t issuer_length,
                         const char* value, std::size_t value_length,
                         std::int64_t* answer) noexcept {
  try {
    const auto found = Cache().Find(kind, std::string_view(issuer, issuer_length),
                                    std::string_view(value, value_length));
    if (!found) return false;
    *answer = *found;
    return true;
  } catch (...) {
    return false;
  }
}

void RevocationCacheInsert(char kind, const char* issuer, std::size_t issuer_length,
                           const char* value, std::size_t value_length,
                           std::int64_t answer) noexcept {
  try {
    Cache().Insert(kind, std::string_view(issuer, issuer_length),
                   std::string_view(value, value_length), answer);
  } catch (...) {
    Cache().Clear();  // out of memory: remembering nothing is always correct
  }
}

void RevocationCacheClear() noexcept { Cache().Clear(); }

std::size_t RevocationCacheCount() noexcept { return Cache().size(); }

}  // namespace rowguard::pg
