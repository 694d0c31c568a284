#include "rowguard/core/token_text.hpp"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
