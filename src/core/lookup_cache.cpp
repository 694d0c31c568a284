#include "rowguard/core/lookup_cache.hpp"

namespace rowguard::core {

std::string LookupCache::MakeKey(char kind, std::string_view issuer, std::string_view value) {
  // kind, the issuer's length, the issuer, the value: unambiguous for any bytes.
  std::string key;
  key.reserve(1 + 20 + issuer.size() + value.size());
  key.push_back(kind);
  key.append(std::to_string(issuer.size()));
  key.push_back(':');
  key.append(issuer);
  key.append(value);
  return key;
}

std::optional<std::int64_t> LookupCache::Find(char kind, std::string_view issuer,
                                              std::string_view value) {
  const std::string key = MakeKey(kind, issuer, value);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  entries_.splice(entries_.begin(), entries_, it->second);  // iterators stay valid
  return it->second->answer;
}

void LookupCache::Insert(char kind, std::string_view issuer, std::string_view value,
                         std::int64_t answer) {
  std::string key = MakeKey(kind, issuer, value);
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->answer = answer;
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  const std::size_t charge = Charge(key);
  if (charge > max_bytes_) return;
  while (!entries_.empty() && bytes_ + charge > max_bytes_) {
    const Entry& last = entries_.back();
    bytes_ -= Charge(last.key);
    index_.erase(last.key);
    entries_.pop_back();
  }
  entries_.push_front(Entry{std::move(key), answer});
  try {
    index_.emplace(entries_.front().key, entries_.begin());
  } catch (...) {
    entries_.pop_front();
    throw;
  }
  bytes_ += charge;
}

void LookupCache::Clear() noexcept {
  index_.clear();
  entries_.clear();
  bytes_ = 0;
}

}  // namespace rowguard::core
