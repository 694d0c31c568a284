#include "rowguard/core/base64url.hpp"

#include <gtest/gtest.h>

namespace rowguard::core {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int len = 0; len < 70; ++len) {
    const std::string encoded = EncodeBase64Url(bytes);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    auto decoded = DecodeBase64Url(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(len * 37 + 250));
  }
}

TEST(Base64Url, KnownValues) {
  EXPECT_EQ(EncodeBase64Url("\xfb\xff"), "-_8");
  EXPECT_EQ(DecodeBase64Url("eyJhbGciOiJIUzI1NiJ9"), std::string(R"({"alg":"HS256"})"));
}

TEST(Base64Url, RejectsOutsideTheAlphabet) {
  for (const char* bad : {"ab+c", "ab/c", "abc=", "ab==", "ab c", "ab\nc",
                          "a\x80"
                          "bc",
                          "ab.c"}) {
    EXPECT_FALSE(DecodeBase64Url(bad).has_value()) << bad;
  }
}

TEST(Base64Url, RejectsImpossibleLength) {
  EXPECT_FALSE(DecodeBase64Url("a").has_value());
  EXPECT_FALSE(DecodeBase64Url("abcde").has_value());
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  // "-_8" is canonical for fb ff; "-_9" decodes to the same bytes with a stray bit.
  EXPECT_TRUE(DecodeBase64Url("-_8").has_value());
  EXPECT_FALSE(DecodeBase64Url("-_9").has_value());
  EXPECT_TRUE(DecodeBase64Url("YQ").has_value());  // "a"
  EXPECT_FALSE(DecodeBase64Url("YR").has_value());
}

}  // namespace
}  // namespace rowguard::core
