// HTTPS GET with libcurl for key sets and discovery documents (docs/keys.md, "Fetch
// rules"): https only, TLS verified, no redirect to another host, a bounded body and a
// whole-request deadline. Plain C++: the PostgreSQL glue passes an interrupt check.
// Only rowguard_fetch.so contains this (src/fetch/); the URL and header parsing it
// shares with rowguard.so is in https_url.hpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace rowguard::core {

// The largest response body accepted: a JWK Set or a discovery document is a few KiB.
inline constexpr std::size_t kMaxResponseBytes = 256 * 1024;
// Redirects followed at most (each one to the same host, https).
inline constexpr int kMaxRedirects = 3;

struct FetchOptions {
  std::string ca_file;     // "" = libcurl's default (the system bundle)
  long timeout_ms = 5000;  // the whole request, redirects included
  std::size_t max_bytes = kMaxResponseBytes;
  int max_redirects = kMaxRedirects;
  bool require_json = true;  // a body that is not JSON is kNotJson
  // Polled while waiting (a few times a second at least); true aborts the fetch.
  bool (*interrupted)() = nullptr;
};

enum class FetchFailure {
  kNone,
  kBadUrl,       // not an https URL with a host
  kConnect,      // DNS, TCP or TLS (certificate) failure
  kTimeout,      // the whole-request deadline passed
  kTransfer,     // the connection broke
  kStatus,       // an HTTP status other than 200
  kTooLarge,     // the body exceeds max_bytes
  kNotJson,      // require_json and the body is not one JSON value
  kRedirect,     // a redirect to another host or scheme, or too many
  kInterrupted,  // `interrupted` said so
  kInternal,     // libcurl could not be set up
};

struct FetchResult {
  FetchFailure failure = FetchFailure::kNone;
  std::string detail;  // one line, never the body
  long status = 0;
  std::string body;
  std::optional<long> max_age;  // Cache-Control max-age of the final response
};

FetchResult HttpsGet(const std::string& url, const FetchOptions& options) noexcept;
}  // namespace rowguard::core
