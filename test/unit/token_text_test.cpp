#include "rowguard/core/token_text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/jws.hpp"

namespace {

using rowguard::core::HasTokenRun;
using rowguard::core::MaskTokensInPlace;

std::string Masked(std::string text) {
  MaskTokensInPlace(text.data(), text.size());
  return text;
}

const std::string kToken =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX2J5dGVz";

TEST(TokenText, MasksATokenInsideAStatementKeepingItsLength) {
  const std::string statement = "SET LOCAL rowguard.token = '" + kToken + "'";
  const std::string masked = Masked(statement);
  ASSERT_EQ(masked.size(), statement.size());
  EXPECT_EQ(masked.find("eyJ"), std::string::npos);
  EXPECT_EQ(masked.substr(0, 28), "SET LOCAL rowguard.token = '");
  EXPECT_EQ(masked.substr(28, 10), "[redacted]");
  EXPECT_EQ(masked.back(), '\'');
}

TEST(TokenText, MasksEveryTokenAndABearerPrefixedOne) {
  std::string text = "select authenticate('Bearer " + kToken + "'), verify('" + kToken + "')";
  EXPECT_EQ(MaskTokensInPlace(text.data(), text.size()), 2u);
  EXPECT_FALSE(HasTokenRun(text.data(), text.size()));
  EXPECT_NE(text.find("Bearer [redacted]"), std::string::npos);
}

TEST(TokenText, MasksHeadersWithWhitespaceAndEmptySignatures) {
  // base64url of "{ \"alg\"" and of "{\n" start with "ey" and "ew".
  EXPECT_EQ(Masked("x eyAiYWxnIjoi.eyJz. y"), "x [redacted]******** y");
  EXPECT_EQ(Masked("ewoiYWxnIjoiSFMy.eyJzdWIi.sig"), "[redacted]*******************");
}

TEST(TokenText, LeavesOrdinaryTextAlone) {
  for (const std::string text :
       {"select * from eyes.eyJ.x", "schema.table.column", "key.value.more", "eyJhbGci.e.sig",
        "a.eyJhbGci.eyJz.sig", "eyJhbGci.eyJz.sig.four", "xeyJhbGci.eyJz.sig", "", "e", "ey"}) {
    EXPECT_EQ(Masked(text), text) << text;
  }
}

TEST(TokenText, FindsARunAtTheEndOfTheText) {
  const std::string text = "log: " + kToken;
  EXPECT_TRUE(HasTokenRun(text.data(), text.size()));
  EXPECT_TRUE(HasTokenRun(kToken.data(), kToken.size()));
}

TEST(TokenText, ShortFirstSegmentsAreNotTokens) {
  EXPECT_EQ(Masked("eyJa.bb."), "eyJa.bb.");
  EXPECT_EQ(Masked("eyJhbGciOiJI.bb."), "[redacted]******");
}

// The masker's rule is complete: every token whose header ParseCompact accepts is
// found, wherever it stands in a statement (after a quote, a space, "Bearer "). Tried
// over every one- and two-byte prefix of a header and every one- and two-byte run
// after its opening brace (the bytes that decide the first two base64url characters).
TEST(TokenText, EveryHeaderTheParserAcceptsIsMasked) {
  using rowguard::core::EncodeBase64Url;
  using rowguard::core::ParseCompact;
  const std::string members = R"("alg":"HS256","kid":"k1"})";
  const std::string tail = "." + EncodeBase64Url(R"({"sub":"a"})") + "." + EncodeBase64Url("sig");
  std::size_t accepted = 0, checked = 0;
  auto check = [&](const std::string& header) {
    const std::string token = EncodeBase64Url(header) + tail;
    ++checked;
    if (!ParseCompact(token, 16384).ok()) return;
    ++accepted;
    for (const std::string& text :
         {"SET rowguard.token = '" + token + "'",
          "select rowguard.authenticate('Bearer " + token + "')", token}) {
      EXPECT_TRUE(HasTokenRun(text.data(), text.size())) << header;
      EXPECT_EQ(Masked(text).find(token.substr(token.rfind('.') + 1)), std::string::npos) << header;
    }
  };
  for (int a = 0; a < 256; ++a) {
    const std::string one(1, static_cast<char>(a));
    check(one + "{" + members);
    check("{" + one + members);
    for (int b = 0; b < 256; ++b) {
      const std::string two = one + std::string(1, static_cast<char>(b));
      check(two + "{" + members);
      check("{" + two + members);
    }
  }
  EXPECT_EQ(checked, 2u * (256u + 65536u));
  // '{' followed by whitespace (four bytes, then any of them again or a quote) or by
  // the quote itself: the parser did accept some, so the loop proved something.
  EXPECT_GE(accepted, 20u);
}

}  // namespace
