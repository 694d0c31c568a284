// rowguard_fetch.so's entry point (include/rowguard/pg/fetch_module.hpp): core::HttpsGet
// with plain data in and out, for rowguard.so to call after loading this module. Plain
// C++, no PostgreSQL header (the magic block is in module_magic.c): nothing here can
// longjmp, and nothing escapes as an exception.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "rowguard/core/https_fetch.hpp"
#include "rowguard/pg/fetch_module.hpp"
// Last: no PostgreSQL header in this file (test/integration/layout.sh checks it).
#include "rowguard/pg/cpp_only.hpp"

namespace {

using rowguard::pg::FetchFailureKind;
namespace core = rowguard::core;

// FetchFailureKind mirrors core::FetchFailure value for value.
static_assert(static_cast<int>(FetchFailureKind::kNotJson) ==
              static_cast<int>(core::FetchFailure::kNotJson));
static_assert(static_cast<int>(FetchFailureKind::kInternal) ==
              static_cast<int>(core::FetchFailure::kInternal));

// The signature rowguard.so calls it through.
static_assert(
    std::is_same_v<decltype(&rowguard_fetch_https_get_v1), rowguard::pg::FetchHttpsGetFunction>);

}  // namespace

void rowguard_fetch_https_get_v1(const char* url, const rowguard::pg::FetchSettings* settings,
                                 rowguard::pg::FetchPlain* out) noexcept {
  out->failure = FetchFailureKind::kNone;
  out->detail[0] = '\0';
  out->body = nullptr;
  out->body_length = 0;
  out->max_age = -1;
  try {
    core::FetchOptions options;
    options.ca_file = settings->ca_file != nullptr ? settings->ca_file : "";
    options.timeout_ms = settings->timeout_ms;
    options.interrupted = settings->interrupted;
    core::FetchResult result = core::HttpsGet(url, options);
    out->failure = static_cast<FetchFailureKind>(static_cast<int>(result.failure));
    std::snprintf(out->detail, sizeof(out->detail), "%s", result.detail.c_str());
    if (result.failure != core::FetchFailure::kNone) return;
    out->body = static_cast<char*>(std::malloc(result.body.size() + 1));
    if (out->body == nullptr) {
      out->failure = FetchFailureKind::kInternal;
      std::snprintf(out->detail, sizeof(out->detail), "out of memory");
      return;
    }
    std::memcpy(out->body, result.body.c_str(), result.body.size() + 1);
    out->body_length = result.body.size();
    if (result.max_age) out->max_age = *result.max_age;
  } catch (...) {
    out->failure = FetchFailureKind::kInternal;
    std::snprintf(out->detail, sizeof(out->detail), "out of memory");
  }
}
