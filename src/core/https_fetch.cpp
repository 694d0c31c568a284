// HTTPS GET with libcurl (include/rowguard/core/https_fetch.hpp). Redirects are
// followed here, not by libcurl, so that each hop's host can be compared with the
// first one before anything is sent to it. The only core file that uses libcurl: it is
// built into rowguard_fetch.so, not rowguard.so (src/fetch/).
#include "rowguard/core/https_fetch.hpp"

#include <curl/curl.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>

#include "rowguard/core/https_url.hpp"

namespace rowguard::core {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

struct Transfer {
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
  std::string cache_control;
  bool (*interrupted)() = nullptr;
  bool was_interrupted = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->body.size() + n > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // aborts with CURLE_WRITE_ERROR
  }
  try {
    transfer->body.append(data, n);
  } catch (...) {
    return 0;
  }
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "cache-control:";
  if (line.size() > kName.size()) {
    std::string head = Lower(std::string(line.substr(0, kName.size())));
    if (head == kName) {
      try {
        transfer->cache_control = std::string(line.substr(kName.size()));
      } catch (...) {
        return 0;
      }
    }
  }
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->interrupted != nullptr && transfer->interrupted()) {
    transfer->was_interrupted = true;
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

FetchResult Failed(FetchFailure failure, std::string detail) {
  FetchResult result;
  result.failure = failure;
  result.detail = std::move(detail);
  return result;
}

// The absolute URL a Location header leads to from `base`.
std::optional<std::string> Resolve(const std::string& base, const char* location) {
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(url.get(), CURLUPART_URL, location, 0) != CURLUE_OK) {
    return std::nullopt;
  }
  char* out = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) return std::nullopt;
  CurlString owned(out);
  return std::string(owned.get());
}

}  // namespace

FetchResult HttpsGet(const std::string& first_url, const FetchOptions& options) noexcept {
  try {
    GlobalInit();
    const auto origin = HttpsHost(first_url);
    if (!origin) return Failed(FetchFailure::kBadUrl, "not an https URL with a host");
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
    std::string url = first_url;
    for (int hop = 0;; ++hop) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return Failed(FetchFailure::kTimeout, "timed out");
      std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
      if (!curl) return Failed(FetchFailure::kInternal, "libcurl could not be initialised");
      Transfer transfer;
      transfer.max_bytes = options.max_bytes;
      transfer.interrupted = options.interrupted;
      char error_buffer[CURL_ERROR_SIZE] = {0};
      CURL* c = curl.get();
      curl_easy_setopt(c, CURLOPT_URL, url.c_str());
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM inside a server process
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
      if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left));
      curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
      curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // decoded size is what is capped
      curl_easy_setopt(c, CURLOPT_USERAGENT, "rowguard");
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
      curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
      curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
      const CURLcode code = curl_easy_perform(c);
      if (transfer.was_interrupted) return Failed(FetchFailure::kInterrupted, "interrupted");
      if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        return Failed(FetchFailure::kTooLarge, "the response is larger than " +
                                                   std::to_string(options.max_bytes) + " bytes");
      }
      if (code != CURLE_OK) {
        const std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        switch (code) {
          case CURLE_OPERATION_TIMEDOUT:
            return Failed(FetchFailure::kTimeout,
                          "timed out after " + std::to_string(options.timeout_ms) + " ms");
          case CURLE_COULDNT_RESOLVE_HOST:
          case CURLE_COULDNT_CONNECT:
          case CURLE_SSL_CONNECT_ERROR:
          case CURLE_PEER_FAILED_VERIFICATION:
          case CURLE_SSL_CACERT_BADFILE:
          case CURLE_SSL_CERTPROBLEM:
          case CURLE_UNSUPPORTED_PROTOCOL:
            return Failed(FetchFailure::kConnect, why);
          default:
            return Failed(FetchFailure::kTransfer, why);
        }
      }
      long status = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      if (status >= 300 && status < 400 && status != 304) {
        char* location = nullptr;
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
        if (location == nullptr) {
          return Failed(FetchFailure::kStatus, "HTTP status " + std::to_string(status));
        }
        if (hop >= options.max_redirects) {
          return Failed(FetchFailure::kRedirect,
                        "more than " + std::to_string(options.max_redirects) + " redirects");
        }
        auto next = Resolve(url, location);
        const auto host = next ? HttpsHost(*next) : std::nullopt;
        if (!host || *host != *origin) {
          return Failed(FetchFailure::kRedirect,
                        "redirected away from https://" + *origin + " (refused)");
        }
        url = *next;
        continue;
      }
      if (status != 200) {
        FetchResult result = Failed(FetchFailure::kStatus, "HTTP status " + std::to_string(status));
        result.status = status;
        return result;
      }
      if (options.require_json) {
        simdjson::dom::parser parser;
        simdjson::dom::element ignored;
        if (parser.parse(transfer.body).get(ignored) != simdjson::SUCCESS) {
          return Failed(FetchFailure::kNotJson, "the response is not JSON");
        }
      }
      FetchResult result;
      result.status = status;
      result.body = std::move(transfer.body);
      result.max_age = CacheControlMaxAge(transfer.cache_control);
      return result;
    }
  } catch (const std::exception& e) {
    return Failed(FetchFailure::kInternal, e.what());
  } catch (...) {
    return Failed(FetchFailure::kInternal, "unexpected exception");
  }
}

}  // namespace rowguard::core
