// The parts of the fetch rules (docs/keys.md, "Fetch rules") that need no network: is a
// URL an https URL with a host, and the max-age of a Cache-Control header. Plain C++
// without libcurl, so rowguard.so can check a jwks_uri without loading the fetch module
// (include/rowguard/core/https_fetch.hpp, built into rowguard_fetch.so).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rowguard::core {

// The host of an absolute https URL, lower case, with ":port" when the URL names a port
// (an IPv6 literal in brackets, as inet_ntop writes it); nullopt when `url` is not one:
// another scheme, no host, user info, a malformed port, a control character or space,
// or a host with a character outside letters, digits, '-', '.', '_' and non-ASCII bytes
// (percent-encoded hosts are refused).
std::optional<std::string> HttpsHost(std::string_view url);

// max-age of a Cache-Control header value; nullopt when absent or malformed. no-store
// and no-cache count as 0.
std::optional<long> CacheControlMaxAge(std::string_view value);

}  // namespace rowguard::core
