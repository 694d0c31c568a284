// core::HttpsHost without libcurl (src/core/https_url.cpp) against libcurl's own URL
// parser, which decided what an https URL was before rowguard.so stopped linking
// libcurl: whatever HttpsHost accepts, libcurl parses to the same host and port, and
// whatever libcurl refuses, HttpsHost refuses too. HttpsHost may refuse more (percent-
// encoded or unusual host names).
#include "rowguard/core/https_url.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

namespace rowguard::core {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// HttpsHost as it was written with libcurl's URL API.
std::optional<std::string> CurlHttpsHost(const std::string& text) {
  if (text.size() <= 8 || Lower(text.substr(0, 8)) != "https://" || text[8] == '/') {
    return std::nullopt;
  }
  std::unique_ptr<CURLU, void (*)(CURLU*)> url(curl_url(), curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  auto part = [&](CURLUPart which) -> std::optional<std::string> {
    char* value = nullptr;
    if (curl_url_get(url.get(), which, &value, 0) != CURLUE_OK) return std::nullopt;
    std::string out(value);
    curl_free(value);
    return out;
  };
  const auto scheme = part(CURLUPART_SCHEME);
  if (!scheme || Lower(*scheme) != "https" || part(CURLUPART_USER)) return std::nullopt;
  const auto host = part(CURLUPART_HOST);
  if (!host || host->empty()) return std::nullopt;
  std::string result = Lower(*host);
  if (const auto port = part(CURLUPART_PORT)) result += ":" + *port;
  return result;
}

const char* const kUrls[] = {
    "https://Example.COM/.well-known/jwks.json",
    "https://example.com",
    "https://example.com?x=1",
    "https://example.com#frag",
    "https://example.com:8443",
    "https://example.com:08443/x",
    "https://example.com:/x",
    "https://example.com:443/x",
    "https://127.0.0.1:8443/x",
    "https://[::1]:8443/jwks",
    "https://[::1]/jwks",
    "https://[0:0:0:0:0:0:0:1]/jwks",
    "https://[2001:DB8::1]:443/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::1/jwks",
    "https://[::1]x/",
    "https://[zz::1]/",
    "https://my_host.internal/jwks",
    "https://a-b.c-d.example/",
    "https://example.com:65535/",
    "https://example.com:65536/",
    "https://example.com:99999999/",
    "https://example.com:-1/",
    "https://example.com:80a/",
    "https://example.com:0/",
    "https://user:pw@example.com/",
    "https://user@example.com/",
    "https://@example.com/",
    "https://:pw@example.com/",
    "https://exa mple.com/",
    "https://example.com/a b",
    "https://example.com/\t",
    "https://ex%61mple.com/",
    "https://exa<mple.com/",
    "https://exa\\mple.com/",
    "https:///jwks",
    "https://",
    "https://:8443/",
    "http://example.com/",
    "file:///etc/passwd",
    "example.com/jwks",
    "HTTPS://Example.com",
    "https:example.com",
    "https:/example.com",
    "",
};

TEST(HttpsHostWithoutLibcurl, AgreesWithLibcurlWhereItAccepts) {
  for (const char* url : kUrls) {
    const auto ours = HttpsHost(url);
    const auto curls = CurlHttpsHost(url);
    if (ours) {
      EXPECT_EQ(ours, curls) << url;
    }
    if (!curls) {
      EXPECT_EQ(ours, std::nullopt) << url;
    }
  }
}

TEST(HttpsHostWithoutLibcurl, Hosts) {
  EXPECT_EQ(HttpsHost("https://Example.COM/.well-known/jwks.json"), "example.com");
  EXPECT_EQ(HttpsHost("https://example.com?x=1"), "example.com");
  EXPECT_EQ(HttpsHost("https://example.com:08443/x"), "example.com:8443");
  EXPECT_EQ(HttpsHost("https://example.com:/x"), "example.com");
  EXPECT_EQ(HttpsHost("https://[::1]:8443/jwks"), "[::1]:8443");
  EXPECT_EQ(HttpsHost("https://[0:0:0:0:0:0:0:1]/jwks"), "[::1]");
  EXPECT_EQ(HttpsHost("https://[2001:DB8::1]:443/"), "[2001:db8::1]:443");
  EXPECT_EQ(HttpsHost("https://my_host.internal/jwks"), "my_host.internal");
}

TEST(HttpsHostWithoutLibcurl, Refusals) {
  for (const char* url :
       {"https://user@example.com/", "https://@example.com/", "https://example.com:65536/",
        "https://example.com:0/", "https://example.com:80a/", "https://[::1/jwks",
        "https://[::1]x/", "https://[zz::1]/", "https://exa mple.com/", "https://example.com/a b",
        "https://ex%61mple.com/", "https://exa\\mple.com/", "https://:8443/", "https://",
        "https:example.com", "https:/example.com"}) {
    EXPECT_EQ(HttpsHost(url), std::nullopt) << url;
  }
}

}  // namespace
}  // namespace rowguard::core
