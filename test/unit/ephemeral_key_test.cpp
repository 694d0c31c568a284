#include "rowguard/core/ephemeral_key.hpp"

#include <gtest/gtest.h>

#include <string>

#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/trust_store.hpp"

namespace rowguard::core {
namespace {

TEST(EphemeralKey, SignsWhatItsPublicHalfVerifies) {
  auto made = MakeEphemeralKey("test-");
  ASSERT_TRUE(made.ok()) << made.failure().detail;
  const EphemeralKey& key = made.value();
  EXPECT_TRUE(key.signing.can_sign());
  EXPECT_EQ(key.signing.algorithm(), Algorithm::kEdDSA);
  EXPECT_EQ(key.signing.kid().rfind("test-", 0), 0u);
  EXPECT_EQ(key.signing.kid().size(), 5u + 22u);  // 128 bits, base64url

  auto public_key = ParseJwk(key.public_jwk);
  ASSERT_TRUE(public_key.ok()) << public_key.failure().detail;
  EXPECT_FALSE(public_key.value().can_sign());
  EXPECT_EQ(public_key.value().kid(), key.signing.kid());
  EXPECT_EQ(public_key.value().thumbprint(), key.signing.thumbprint());
  EXPECT_EQ(key.public_jwk.find("\"d\""), std::string::npos);

  auto token = SignCompact(key.signing, R"({"sub":"alice"})");
  ASSERT_TRUE(token.ok()) << token.failure().detail;
  TrustStore store;
  store.AddKey(std::move(public_key).value());
  auto verified = store.VerifySignature(token.value(), 16384);
  ASSERT_TRUE(verified.ok()) << verified.failure().detail;
  EXPECT_EQ(verified.value().payload_json, R"({"sub":"alice"})");
}

TEST(EphemeralKey, EveryKeyIsNew) {
  auto a = MakeEphemeralKey("k-");
  auto b = MakeEphemeralKey("k-");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.value().signing.kid(), b.value().signing.kid());
  EXPECT_NE(a.value().signing.thumbprint(), b.value().signing.thumbprint());
  // A token of one does not verify with the other.
  auto token = SignCompact(a.value().signing, R"({"sub":"alice"})");
  ASSERT_TRUE(token.ok());
  auto other = ParseJwk(b.value().public_jwk);
  ASSERT_TRUE(other.ok());
  TrustStore store;
  store.AddKey(std::move(other).value());
  EXPECT_FALSE(store.VerifySignature(token.value(), 16384).ok());
}

}  // namespace
}  // namespace rowguard::core
