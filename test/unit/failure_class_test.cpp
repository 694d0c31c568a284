// The classes rowguard.stats() counts: real verification failures land in the class
// an operator would look for, and every class has its contract name.
#include "rowguard/core/failure_class.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/trust_store.hpp"
#include "test_keys.hpp"

namespace rowguard::core {
namespace {

constexpr std::int64_t kNow = 1700000000;

TEST(FailureClassTest, NamesAreTheContractsAndDistinct) {
  const char* expected[] = {"signature",   "expired",   "not_yet_valid", "audience", "issuer",
                            "unknown_key", "malformed", "revoked",       "role",     "other"};
  std::set<std::string> seen;
  for (int i = 0; i < kFailureClassCount; ++i) {
    const std::string name = FailureClassName(static_cast<FailureClass>(i));
    EXPECT_EQ(name, expected[i]);
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kFailureClassCount));
}

TEST(FailureClassTest, CodesMapToTheClassAnOperatorLooksFor) {
  EXPECT_EQ(ClassOf(ErrorCode::kBadSignature), FailureClass::kSignature);
  EXPECT_EQ(ClassOf(ErrorCode::kAlgorithmMismatch), FailureClass::kSignature);
  EXPECT_EQ(ClassOf(ErrorCode::kUnsupportedAlgorithm), FailureClass::kSignature);
  EXPECT_EQ(ClassOf(ErrorCode::kExpired), FailureClass::kExpired);
  EXPECT_EQ(ClassOf(ErrorCode::kNotYetValid), FailureClass::kNotYetValid);
  EXPECT_EQ(ClassOf(ErrorCode::kIssuedInFuture), FailureClass::kNotYetValid);
  EXPECT_EQ(ClassOf(ErrorCode::kAudienceMismatch), FailureClass::kAudience);
  EXPECT_EQ(ClassOf(ErrorCode::kIssuerMismatch), FailureClass::kIssuer);
  EXPECT_EQ(ClassOf(ErrorCode::kUnknownKey), FailureClass::kUnknownKey);
  EXPECT_EQ(ClassOf(ErrorCode::kMalformedToken), FailureClass::kMalformed);
  EXPECT_EQ(ClassOf(ErrorCode::kMalformedJson), FailureClass::kMalformed);
  EXPECT_EQ(ClassOf(ErrorCode::kBadHeader), FailureClass::kMalformed);
  EXPECT_EQ(ClassOf(ErrorCode::kTokenTooLarge), FailureClass::kMalformed);
  EXPECT_EQ(ClassOf(ErrorCode::kMissingExpiry), FailureClass::kOther);
  EXPECT_EQ(ClassOf(ErrorCode::kInternal), FailureClass::kOther);
}

// End to end: the code a real rejection carries classifies as expected.
TEST(FailureClassTest, RealRejections) {
  const test::TestKey generated = test::MakeTestKey(Algorithm::kHS256);
  auto key = ParseJwk(generated.private_jwk);
  ASSERT_TRUE(key.ok());
  TrustStore store;
  store.AddKey(ParseJwk(generated.private_jwk).value());
  VerifyOptions options;
  options.leeway_seconds = 0;
  auto class_of = [&](const std::string& token) {
    auto result = store.Verify(token, kNow, options);
    EXPECT_FALSE(result.ok());
    return result.ok() ? FailureClass::kOther : ClassOf(result.failure().code);
  };
  const std::string good =
      SignCompact(key.value(), R"({"sub":"u","exp":)" + std::to_string(kNow + 60) + "}").value();
  ASSERT_TRUE(store.Verify(good, kNow, options).ok());

  // Change the first character of the signature: the last one also carries padding
  // bits, and a non-zero padding bit is a malformed token, not a bad signature.
  std::string tampered = good;
  const std::size_t first = good.rfind('.') + 1;
  tampered[first] = tampered[first] == 'A' ? 'B' : 'A';
  EXPECT_EQ(class_of(tampered), FailureClass::kSignature);
  EXPECT_EQ(class_of(SignCompact(key.value(), R"({"exp":1})").value()), FailureClass::kExpired);
  EXPECT_EQ(class_of("not.a-token"), FailureClass::kMalformed);
  const std::string none =
      EncodeBase64Url(R"({"alg":"none"})") + "." + EncodeBase64Url(R"({"exp":9999999999})") + ".";
  EXPECT_EQ(class_of(none), FailureClass::kSignature);
  const std::string stranger = EncodeBase64Url(R"({"alg":"HS256","kid":"nobody"})") + "." +
                               EncodeBase64Url(R"({"exp":9999999999})") + ".c2ln";
  EXPECT_EQ(class_of(stranger), FailureClass::kUnknownKey);
}

}  // namespace
}  // namespace rowguard::core
