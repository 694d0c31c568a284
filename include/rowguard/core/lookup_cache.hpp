// A bounded least-recently-used map from (kind, issuer, value) to one 64-bit answer:
// the per-backend memory of revocation lookups (docs/functions.md, "Revocation").
// The bound is in bytes of keys plus a fixed per-entry overhead, so a backend's memory
// stays bounded whatever the table holds and however long the claims are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rowguard::core {

class LookupCache {
 public:
  // Bytes charged per entry on top of its key (list node, hash node, bucket share).
  static constexpr std::size_t kEntryOverhead = 96;

  explicit LookupCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // The remembered answer, or nullopt. A hit makes the entry the most recently used.
  std::optional<std::int64_t> Find(char kind, std::string_view issuer, std::string_view value);

  // Remembers an answer, evicting least recently used entries beyond the byte bound.
  // An entry larger than the whole bound is not remembered. May throw std::bad_alloc.
  void Insert(char kind, std::string_view issuer, std::string_view value, std::int64_t answer);

  void Clear() noexcept;
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::size_t max_bytes() const noexcept { return max_bytes_; }

 private:
  struct Entry {
    std::string key;
    std::int64_t answer;
  };
  static std::string MakeKey(char kind, std::string_view issuer, std::string_view value);
  static std::size_t Charge(const std::string& key) { return key.size() + kEntryOverhead; }

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
};

}  // namespace rowguard::core
