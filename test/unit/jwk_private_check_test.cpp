// PrivateKeyCheck: the full pairwise check runs when a key is stored; reloads skip it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "rowguard/core/key.hpp"

namespace rowguard::core {
namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(ROWGUARD_FIXTURES_DIR) + "/keys/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Replaces the value of JSON member `name` (a string) in `json` with `value`.
std::string WithMember(std::string json, const std::string& name, const std::string& value) {
  const std::string key = "\"" + name + "\"";
  std::size_t at = json.find(key);
  at = json.find('"', json.find(':', at) + 1);
  const std::size_t end = json.find('"', at + 1);
  return json.replace(at + 1, end - at - 1, value);
}

std::string MemberOf(const std::string& json, const std::string& name) {
  std::size_t at = json.find("\"" + name + "\"");
  at = json.find('"', json.find(':', at) + 1);
  return json.substr(at + 1, json.find('"', at + 1) - at - 1);
}

TEST(PrivateKeyCheck, SkippedCheckStillGivesAWorkingKey) {
  const std::string jwk = ReadFixture("rs256.jwk.json");
  ASSERT_FALSE(jwk.empty());
  auto key = ParseJwk(jwk, std::nullopt, PrivateKeyCheck::kSkip);
  ASSERT_TRUE(key.ok()) << key.failure().detail;
  auto signature = key.value().Sign("payload");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(key.value().Verify("payload", signature.value()).ok());
}

TEST(PrivateKeyCheck, FullCheckRefusesMismatchedPrivateParts) {
  const std::string mine = ReadFixture("rs256.jwk.json");
  const std::string other = ReadFixture("rs384.jwk.json");
  ASSERT_FALSE(mine.empty());
  ASSERT_FALSE(other.empty());
  // rs256's public modulus with rs384's private exponent.
  const std::string mismatched = WithMember(mine, "d", MemberOf(other, "d"));
  auto full = ParseJwk(mismatched, std::nullopt, PrivateKeyCheck::kFull);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.failure().code, ErrorCode::kBadKey);
  // The default is the full check.
  EXPECT_FALSE(ParseJwk(mismatched).ok());
}

}  // namespace
}  // namespace rowguard::core

namespace rowguard::core {
namespace {

// A reload skips OpenSSL's EC public check (the order multiplication), but a point off
// the curve is still refused by the import itself, in both modes; a stored EC key
// reloaded with kSkip verifies what it signed.
TEST(PrivateKeyCheck, SkippedCheckStillRefusesAnEcPointOffTheCurve) {
  const std::string jwk = ReadFixture("es256.jwk.json");
  ASSERT_FALSE(jwk.empty());
  // Another valid 32-byte y for the same x: (x, y') is not on P-256.
  const std::string off_curve =
      WithMember(jwk, "y", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE");
  for (PrivateKeyCheck check : {PrivateKeyCheck::kFull, PrivateKeyCheck::kSkip}) {
    auto key = ParseJwk(off_curve, std::nullopt, check);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.failure().code, ErrorCode::kBadKey);
  }
  auto key = ParseJwk(jwk, std::nullopt, PrivateKeyCheck::kSkip);
  ASSERT_TRUE(key.ok()) << key.failure().detail;
  auto signature = key.value().Sign("payload");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(key.value().Verify("payload", signature.value()).ok());
}

}  // namespace
}  // namespace rowguard::core
