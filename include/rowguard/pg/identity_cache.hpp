// The verified-token cache of this backend: exact token string -> a copy of its
// Identity block, least recently used evicted beyond rowguard.cache_size. Emptied when
// keys, issuers or a verification setting change. Plain C++ behind a noexcept
// interface (src/pg/identity_cache.cpp includes no PostgreSQL header).
#pragma once

#include <cstddef>

#include "rowguard/pg/identity_block.hpp"

namespace rowguard::pg {

// The cached identity or nullptr. The pointer is valid until the next cache call. The
// block belongs to the cache: copy it before handing it to the GUC machinery.
const Identity* CacheFind(const char* token, std::size_t length) noexcept;
// Stores a copy of `identity`; evicts the least recently used beyond `capacity`.
void CacheInsert(const char* token, std::size_t length, const Identity* identity,
                 int capacity) noexcept;
void CacheClear() noexcept;
// Copies the admission stamp of `admitted` (lifecycle_generation and bound_role, see
// lifecycle.hpp) into the cached block of the same token, if it is still cached, so a
// later hit under the same lifecycle generation need not be admitted again.
void CacheRememberAdmission(const char* token, std::size_t length,
                            const Identity* admitted) noexcept;

}  // namespace rowguard::pg
