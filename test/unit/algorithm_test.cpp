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

}  // namespace
}  // namespace rowguard::core
