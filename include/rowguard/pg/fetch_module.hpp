// The interface between rowguard.so and rowguard_fetch.so, the separately loaded module
// that does HTTPS fetches (src/fetch/, docs/design.md "The fetch module"). Only it links
// libcurl, whose dependencies (a second TLS stack, SSH, IDN, HTTP/2, ...) would
// otherwise cost every new backend that loads rowguard about 1.4 ms of CPU to map and
// relocate. PostgreSQL 18 did the same for libpq: its OAuth flow, the one user of
// libcurl, is the separately loaded module libpq-oauth, so libpq no longer links libcurl.
//
// Plain data only, both sides built from this one header; the entry point's name
// carries a version, so a rowguard_fetch.so of another build with other structs is not
// found rather than called. No PostgreSQL header.
#pragma once

#include <cstddef>

#include "rowguard/pg/core_bridge.hpp"

namespace rowguard::pg {

enum class FetchFailureKind {
  kNone,
  kBadUrl,
  kConnect,
  kTimeout,
  kTransfer,
  kStatus,
  kTooLarge,
  kNotJson,
  kRedirect,
  kInterrupted,
  kInternal  // stays last: kFetchFailureKindCount
};
constexpr int kFetchFailureKindCount = static_cast<int>(FetchFailureKind::kInternal) + 1;

struct FetchPlain {
  FetchFailureKind failure;
  char detail[kDetailSize];
  char* body;  // malloc'ed, NUL-terminated (on success)
  std::size_t body_length;
  long max_age;  // -1 when the response said nothing usable
};

struct FetchSettings {
  const char* ca_file;  // "" for the system bundle
  int timeout_ms;
  bool (*interrupted)();
};

// HTTPS GET of a JSON document under the fetch rules of docs/keys.md; never throws.
using FetchHttpsGetFunction = void (*)(const char* url, const FetchSettings* settings,
                                       FetchPlain* out) noexcept;

// Where PostgreSQL's dynamic loader finds the module, and the entry point's name.
inline constexpr char kFetchModulePath[] = "$libdir/rowguard_fetch";
inline constexpr char kFetchEntryName[] = "rowguard_fetch_https_get_v1";

}  // namespace rowguard::pg

extern "C" {
// Defined in src/fetch/fetch_entry.cpp, the module's one exported function besides the
// magic block; rowguard.so looks it up by kFetchEntryName.
__attribute__((visibility("default"))) void rowguard_fetch_https_get_v1(
    const char* url, const rowguard::pg::FetchSettings* settings,
    rowguard::pg::FetchPlain* out) noexcept;
}
