// The verified-token cache (include/rowguard/pg/identity_cache.hpp): an LRU list of
// (token, Identity copy) with an index by token. Plain C++: no PostgreSQL header may be
// included here (cpp_only.hpp enforces it). The copies are this file's own malloc'ed
// blocks and are never handed to the GUC machinery (MakeIdentity copies a hit into a
// block of its own), so they do not depend on how the server frees a GUC extra.
#include "rowguard/pg/identity_cache.hpp"

#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

// Last: fails the build if any header above pulled in a PostgreSQL header.
#include "rowguard/pg/cpp_only.hpp"

namespace rowguard::pg {
namespace {

struct FreeDeleter {
  void operator()(Identity* p) const noexcept { std::free(p); }
};
using IdentityBlock = std::unique_ptr<Identity, FreeDeleter>;
struct CacheEntry {
  std::string token;
  IdentityBlock identity;
};
std::list<CacheEntry> g_lru;  // most recent first
std::unordered_map<std::string_view, std::list<CacheEntry>::iterator> g_index;

}  // namespace

const Identity* CacheFind(const char* token, std::size_t length) noexcept {
  // The lookup hashes a string_view and allocates nothing; it cannot throw.
  auto it = g_index.find(std::string_view(token, length));
  if (it == g_index.end()) return nullptr;
  g_lru.splice(g_lru.begin(), g_lru, it->second);  // iterators stay valid
  return it->second->identity.get();
}

void CacheInsert(const char* token, std::size_t length, const Identity* identity,
                 int capacity) noexcept {
  if (capacity <= 0) return;
  try {
    const std::string_view key(token, length);
    if (auto it = g_index.find(key); it != g_index.end()) {
      g_lru.erase(it->second);
      g_index.erase(it);
    }
    IdentityBlock copy(static_cast<Identity*>(std::malloc(identity->size)));
    if (!copy) return;
    std::memcpy(copy.get(), identity, identity->size);
    g_lru.push_front(CacheEntry{std::string(key), std::move(copy)});
    g_index.emplace(g_lru.front().token, g_lru.begin());
    while (g_lru.size() > static_cast<std::size_t>(capacity)) {
      g_index.erase(g_lru.back().token);
      g_lru.pop_back();
    }
  } catch (...) {
    // A cache that cannot grow is only slower: drop everything rather than risk an
    // index out of step with the list.
    CacheClear();
  }
}

void CacheRememberAdmission(const char* token, std::size_t length,
                            const Identity* admitted) noexcept {
  // A plain lookup: the entry is not moved in the LRU list (CacheFind just did that).
  auto it = g_index.find(std::string_view(token, length));
  if (it == g_index.end()) return;
  Identity* cached = it->second->identity.get();
  cached->lifecycle_generation = admitted->lifecycle_generation;
  cached->bound_role = admitted->bound_role;
}

void CacheClear() noexcept {
  g_index.clear();
  g_lru.clear();
}

}  // namespace rowguard::pg
