// The noexcept boundary to the core's LookupCache for revocation lookups (same rules
// as core_bridge.hpp: no PostgreSQL call, plain data in and out).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rowguard::pg {

// Memory bound of the per-backend revocation lookup cache, in bytes.
constexpr std::size_t kRevocationCacheBytes = 1024 * 1024;

enum RevocationKind : char { kRevokedJti = 'j', kRevokedSub = 's' };

// The remembered answer for (kind, issuer, value) in *answer, or false.
bool RevocationCacheFind(char kind, const char* issuer, std::size_t issuer_length,
                         const char* value, std::size_t value_length,
                         std::int64_t* answer) noexcept;
// Remembers an answer (silently not, when memory is short).
void RevocationCacheInsert(char kind, const char* issuer, std::size_t issuer_length,
                           const char* value, std::size_t value_length,
                           std::int64_t answer) noexcept;
void RevocationCacheClear() noexcept;
std::size_t RevocationCacheCount() noexcept;

}  // namespace rowguard::pg
