#include "rowguard/core/algorithm.hpp"

#include <gtest/gtest.h>

namespace rowguard::core {
namespace {

TEST(AlgorithmTest, RoundTripsEveryRegisteredName) {
  const char* names[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                         "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  int count = 0;
  for (const char* name : names) {
    auto alg = AlgorithmFromName(name);
    ASSERT_TRUE(alg.has_value()) << name;
    EXPECT_EQ(AlgorithmName(*alg), name);
    ++count;
  }
  EXPECT_EQ(count, 13);
  EXPECT_EQ(AlgorithmFromName("ES512"), Algorithm::kES512);
  EXPECT_EQ(AlgorithmFromName("EdDSA"), Algorithm::kEdDSA);
}

TEST(AlgorithmTest, NoneIsNeverAnAlgorithm) {
  for (const char* name : {"none", "None", "NONE", "nOnE"}) {
    EXPECT_FALSE(AlgorithmFromName(name).has_value()) << name;
  }
}

TEST(AlgorithmTest, MatchIsExactAndCaseSensitive) {
  for (const char* name : {"hs256", "Hs256", "HS256 ", " HS256", "HS25", "HS2560", "EDDSA", "eddsa",
                           "Ed25519", "ES256K", "RSA1_5", "A256GCM", ""}) {
    EXPECT_FALSE(AlgorithmFromName(name).has_value()) << '"' << name << '"';
  }
  EXPECT_FALSE(AlgorithmFromName(std::string_view("HS256\0", 6)).has_value());
}

TEST(AlgorithmTest, FactsPerAlgorithm) {
  struct Expected {
    const char* name;
    AlgorithmFamily family;
    const char* digest;
    std::size_t min_secret;
  };
  const Expected expected[] = {
      {"HS256", AlgorithmFamily::kHmac, "SHA256", 32},
      {"HS512", AlgorithmFamily::kHmac, "SHA512", 64},
      {"RS384", AlgorithmFamily::kRsaPkcs1, "SHA384", 0},
      {"PS256", AlgorithmFamily::kRsaPss, "SHA256", 0},
      {"ES512", AlgorithmFamily::kEcdsa, "SHA512", 0},
      {"EdDSA", AlgorithmFamily::kEdDSA, nullptr, 0},
  };
  for (const Expected& e : expected) {
    const Algorithm alg = *AlgorithmFromName(e.name);
    EXPECT_EQ(FamilyOf(alg), e.family) << e.name;
    if (e.digest == nullptr) {
      EXPECT_EQ(DigestName(alg), nullptr) << e.name;
    } else {
      EXPECT_STREQ(DigestName(alg), e.digest) << e.name;
    }
    EXPECT_EQ(MinHmacSecretBytes(alg), e.min_secret) << e.name;
    EXPECT_EQ(IsHmac(alg), e.family == AlgorithmFamily::kHmac) << e.name;
    EXPECT_EQ(IsRsa(alg),
              e.family == AlgorithmFamily::kRsaPkcs1 || e.family == AlgorithmFamily::kRsaPss)
        << e.name;
  }
}

}  // namespace
}  // namespace rowguard::core
