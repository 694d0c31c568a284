// URL and header parsing for the fetch rules (include/rowguard/core/https_url.hpp). No
// libcurl here: rowguard.so checks URLs with this, and only rowguard_fetch.so links
// libcurl (src/core/https_fetch.cpp).
#include "rowguard/core/https_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace rowguard::core {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HostNameByte(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c >= 0x80;
}

// "[v6]" as inet_ntop writes it, or nullopt.
std::optional<std::string> Ipv6Literal(std::string_view bracketed) {
  const std::string inner(bracketed.substr(1, bracketed.size() - 2));
  in6_addr address;
  if (inet_pton(AF_INET6, inner.c_str(), &address) != 1) return std::nullopt;
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &address, text, sizeof(text)) == nullptr) return std::nullopt;
  return "[" + std::string(text) + "]";
}

}  // namespace

std::optional<std::string> HttpsHost(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size() || Lower(url.substr(0, kScheme.size())) != kScheme) {
    return std::nullopt;
  }
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    return std::nullopt;
  }
  std::string_view authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  // Credentials in a URL end up in logs and tables.
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string host;
  std::string_view rest;  // "" or ":port"
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto literal = Ipv6Literal(authority.substr(0, close + 1));
    if (!literal) return std::nullopt;
    host = std::move(*literal);
    rest = authority.substr(close + 1);
  } else {
    const std::size_t colon = authority.find(':');
    const std::string_view name = authority.substr(0, colon);
    if (name.empty() || !std::all_of(name.begin(), name.end(), HostNameByte)) return std::nullopt;
    host = Lower(name);
    if (colon != std::string_view::npos) rest = authority.substr(colon);
  }
  if (rest.empty()) return host;
  if (rest.front() != ':') return std::nullopt;
  const std::string_view digits = rest.substr(1);
  if (digits.empty()) return host;  // "host:" names no port, as in libcurl
  if (digits.size() > 5 || !std::all_of(digits.begin(), digits.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return std::nullopt;
  }
  const long port = std::stol(std::string(digits));
  if (port < 1 || port > 65535) return std::nullopt;
  return host + ":" + std::to_string(port);
}

std::optional<long> CacheControlMaxAge(std::string_view value) {
  std::optional<long> max_age;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t end = value.find(',', pos);
    if (end == std::string_view::npos) end = value.size();
    std::string item = Lower(value.substr(pos, end - pos));
    item.erase(0, item.find_first_not_of(" \t\r\n"));
    item.erase(item.find_last_not_of(" \t\r\n") + 1);
    if (item == "no-store" || item == "no-cache") return 0L;
    if (item.rfind("max-age=", 0) == 0) {
      std::string digits = item.substr(8);
      if (!digits.empty() && digits.front() == '"' && digits.back() == '"' && digits.size() >= 2) {
        digits = digits.substr(1, digits.size() - 2);
      }
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(),
                       [](unsigned char c) { return std::isdigit(c) != 0; })) {
        return std::nullopt;
      }
      max_age = std::stol(digits);
    }
    pos = end + 1;
  }
  return max_age;
}

}  // namespace rowguard::core
