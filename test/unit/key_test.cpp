// Key::Sign and Key::Verify for every algorithm, with keys generated here by OpenSSL
// and handed to ParseJwk as JWKs (the path every real key takes).
#include "rowguard/core/key.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include <map>
#include <string>
#include <vector>

#include "key_material.hpp"
#include "rowguard/core/base64url.hpp"

namespace rowguard::core {
namespace {

std::string B64(const std::string& bytes) { return EncodeBase64Url(bytes); }

std::string BnParam(const EVP_PKEY* pkey, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return {};
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_clear_free(bn);
  return out;
}

struct TestJwk {
  std::string private_jwk;
  std::string public_jwk;
};

std::string Field(const char* name, const std::string& value) {
  return std::string(",\"") + name + "\":\"" + value + "\"";
}

TestJwk ExportRsa(EVP_PKEY* pkey) {
  std::string pub = "{\"kty\":\"RSA\"" + Field("n", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_N))) +
                    Field("e", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_E)));
  std::string priv = pub + Field("d", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_D))) +
                     Field("p", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1))) +
                     Field("q", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2))) +
                     Field("dp", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1))) +
                     Field("dq", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2))) +
                     Field("qi", B64(BnParam(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1)));
  return {priv + "}", pub + "}"};
}

TestJwk ExportEc(EVP_PKEY* pkey, const char* crv, int field) {
  std::string pub = std::string("{\"kty\":\"EC\",\"crv\":\"") + crv + "\"" +
                    Field("x", B64(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, field))) +
                    Field("y", B64(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, field)));
  std::string priv = pub + Field("d", B64(BnParam(pkey, OSSL_PKEY_PARAM_PRIV_KEY, field)));
  return {priv + "}", pub + "}"};
}

TestJwk ExportOkp(EVP_PKEY* pkey, const char* crv) {
  unsigned char buf[64];
  std::size_t len = sizeof buf;
  EVP_PKEY_get_raw_public_key(pkey, buf, &len);
  std::string pub = std::string("{\"kty\":\"OKP\",\"crv\":\"") + crv + "\"" +
                    Field("x", B64(std::string(reinterpret_cast<char*>(buf), len)));
  len = sizeof buf;
  EVP_PKEY_get_raw_private_key(pkey, buf, &len);
  std::string priv = pub + Field("d", B64(std::string(reinterpret_cast<char*>(buf), len)));
  return {priv + "}", pub + "}"};
}

TestJwk ExportOct(std::size_t bytes) {
  std::string secret(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(bytes));
  std::string jwk = "{\"kty\":\"oct\"" + Field("k", B64(secret)) + "}";
  return {jwk, jwk};
}

// One generated key per family, shared by the tests (RSA generation is slow).
const TestJwk& Generated(const std::string& which) {
  static std::map<std::string, TestJwk> cache;
  auto it = cache.find(which);
  if (it != cache.end()) return it->second;
  TestJwk jwk;
  EVP_PKEY* pkey = nullptr;
  if (which == "RSA") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    jwk = ExportRsa(pkey);
  } else if (which == "P-256") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    jwk = ExportEc(pkey, "P-256", 32);
  } else if (which == "P-384") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    jwk = ExportEc(pkey, "P-384", 48);
  } else if (which == "P-521") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
    jwk = ExportEc(pkey, "P-521", 66);
  } else if (which == "Ed25519") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    jwk = ExportOkp(pkey, "Ed25519");
  } else if (which == "Ed448") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448");
    if (pkey != nullptr) jwk = ExportOkp(pkey, "Ed448");
  } else if (which == "oct32") {
    jwk = ExportOct(32);
  } else if (which == "oct48") {
    jwk = ExportOct(48);
  } else if (which == "oct64") {
    jwk = ExportOct(64);
  }
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  return cache.emplace(which, jwk).first->second;
}

struct AlgCase {
  const char* alg;
  const char* family;
  std::size_t signature_size;
};

const AlgCase kCases[] = {
    {"HS256", "oct32", 32},   {"HS384", "oct48", 48},  {"HS512", "oct64", 64},
    {"RS256", "RSA", 256},    {"RS384", "RSA", 256},   {"RS512", "RSA", 256},
    {"PS256", "RSA", 256},    {"PS384", "RSA", 256},   {"PS512", "RSA", 256},
    {"ES256", "P-256", 64},   {"ES384", "P-384", 96},  {"ES512", "P-521", 132},
    {"EdDSA", "Ed25519", 64}, {"EdDSA", "Ed448", 114},
};

class KeyRoundTrip : public testing::TestWithParam<AlgCase> {};

TEST_P(KeyRoundTrip, SignsAndVerifiesAndRejectsTampering) {
  const AlgCase& c = GetParam();
  const TestJwk& jwk = Generated(c.family);
  if (jwk.private_jwk.empty()) GTEST_SKIP() << c.family << " is not available in this OpenSSL";
  const Algorithm alg = *AlgorithmFromName(c.alg);

  auto priv = ParseJwk(jwk.private_jwk, alg);
  ASSERT_TRUE(priv.ok()) << priv.failure().detail;
  auto pub = ParseJwk(jwk.public_jwk, alg);
  ASSERT_TRUE(pub.ok()) << pub.failure().detail;
  EXPECT_TRUE(priv.value().can_sign());
  EXPECT_EQ(pub.value().can_sign(), std::string(c.family).rfind("oct", 0) == 0);
  EXPECT_EQ(priv.value().algorithm(), alg);
  // The thumbprint covers the public members only, so both halves share it.
  EXPECT_EQ(priv.value().thumbprint(), pub.value().thumbprint());
  EXPECT_EQ(priv.value().kid(), priv.value().thumbprint());

  const std::string input = "eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiJyb3dndWFyZCJ9";
  auto sig = priv.value().Sign(input);
  ASSERT_TRUE(sig.ok()) << sig.failure().detail;
  const std::string& s = sig.value();
  ASSERT_EQ(s.size(), c.signature_size);

  // Verified by the private key's public half and by the public JWK, repeatedly
  // (contexts are reused between calls).
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(priv.value().Verify(input, s).ok());
    auto status = pub.value().Verify(input, s);
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.failure().detail);
  }

  auto expect_bad = [&](std::string_view in, std::string_view sg, const char* what) {
    auto status = pub.value().Verify(in, sg);
    ASSERT_FALSE(status.ok()) << what;
    EXPECT_EQ(status.failure().code, ErrorCode::kBadSignature) << what;
    EXPECT_EQ(ERR_peek_error(), 0UL) << what << ": OpenSSL error queue not cleared";
  };
  std::string tampered_input = input;
  tampered_input[5] ^= 1;
  expect_bad(tampered_input, s, "tampered input");
  expect_bad(input + "x", s, "extended input");
  expect_bad("", s, "empty input");
  for (std::size_t pos : {std::size_t{0}, s.size() / 2, s.size() - 1}) {
    std::string bad = s;
    bad[pos] ^= 0x01;
    expect_bad(input, bad, "flipped signature bit");
  }
  expect_bad(input, s + '\0', "signature one byte long");
  expect_bad(input, s.substr(0, s.size() - 1), "signature one byte short");
  expect_bad(input, "", "empty signature");
  expect_bad(input, std::string(s.size(), '\0'), "all-zero signature");
  expect_bad(input, std::string(s.size(), '\xff'), "all-ones signature");
  // Still good after all the failures.
  EXPECT_TRUE(pub.value().Verify(input, s).ok());

  if (!pub.value().can_sign()) {
    auto refused = pub.value().Sign(input);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.failure().code, ErrorCode::kBadKey);
  }
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, KeyRoundTrip, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<AlgCase>& info) {
                           return std::string(info.param.alg) + "_" +
                                  (info.param.family[0] == 'P' ? info.param.family + 2
                                                               : info.param.family);
                         });

TEST(KeyTest, SignaturesOfOneAlgorithmDoNotVerifyUnderAnother) {
  const std::string& jwk = Generated("RSA").public_jwk;
  auto rs = ParseJwk(Generated("RSA").private_jwk, Algorithm::kRS256);
  auto ps = ParseJwk(jwk, Algorithm::kPS256);
  auto rs384 = ParseJwk(jwk, Algorithm::kRS384);
  ASSERT_TRUE(rs.ok() && ps.ok() && rs384.ok());
  auto sig = rs.value().Sign("input");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(ps.value().Verify("input", sig.value()).failure().code, ErrorCode::kBadSignature);
  EXPECT_EQ(rs384.value().Verify("input", sig.value()).failure().code, ErrorCode::kBadSignature);
}

TEST(KeyTest, HmacSignatureIsDeterministicAndKeyed) {
  auto a = ParseJwk(Generated("oct32").private_jwk, Algorithm::kHS256);
  auto b = ParseJwk(Generated("oct64").private_jwk, Algorithm::kHS256);
  ASSERT_TRUE(a.ok() && b.ok());
  auto s1 = a.value().Sign("m");
  auto s2 = a.value().Sign("m");
  auto s3 = b.value().Sign("m");
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(s1.value(), s2.value());
  EXPECT_NE(s1.value(), s3.value());
  EXPECT_FALSE(b.value().Verify("m", s1.value()).ok());
}

// RFC 7515 appendix A.1: HS256 over the example JWS Signing Input.
TEST(KeyTest, Rfc7515AppendixA1Hs256) {
  auto key = ParseJwk(
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})",
      Algorithm::kHS256);
  ASSERT_TRUE(key.ok()) << key.failure().detail;
  const std::string input =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
      "cnVlfQ";
  auto sig = DecodeBase64Url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(key.value().Verify(input, *sig).ok());
  auto mine = key.value().Sign(input);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine.value(), *sig);
}

// r or s of zero, equal to the group order n, or above it: rejected before OpenSSL sees
// them (CVE-2022-21449 accepted r = s = 0).
TEST(KeyTest, EcdsaOutOfRangeValuesAreRejected) {
  struct Curve {
    const char* family;
    Algorithm alg;
    int nid;
    int field;
  };
  for (const Curve& c : {Curve{"P-256", Algorithm::kES256, NID_X9_62_prime256v1, 32},
                         Curve{"P-384", Algorithm::kES384, NID_secp384r1, 48},
                         Curve{"P-521", Algorithm::kES512, NID_secp521r1, 66}}) {
    SCOPED_TRACE(c.family);
    auto key = ParseJwk(Generated(c.family).private_jwk);
    ASSERT_TRUE(key.ok());
    ASSERT_EQ(key.value().algorithm(), c.alg);
    auto sig = key.value().Sign("input");
    ASSERT_TRUE(sig.ok());
    const std::string good = sig.value();
    ASSERT_TRUE(key.value().Verify("input", good).ok());

    EC_GROUP* group = EC_GROUP_new_by_curve_name(c.nid);
    std::string order(c.field, '\0');
    BN_bn2binpad(EC_GROUP_get0_order(group), reinterpret_cast<unsigned char*>(order.data()),
                 c.field);
    EC_GROUP_free(group);
    const std::string zero(c.field, '\0');
    const std::string ones(c.field, '\xff');
    const std::string r = good.substr(0, c.field), s = good.substr(c.field);
    for (const std::string& bad : {zero + s, r + zero, zero + zero, order + s, r + order,
                                   order + order, ones + s, r + ones}) {
      auto status = key.value().Verify("input", bad);
      ASSERT_FALSE(status.ok());
      EXPECT_EQ(status.failure().code, ErrorCode::kBadSignature);
    }
    // r + n and s + n do not fit the fixed size; r || s in DER is the wrong format.
    EXPECT_FALSE(key.value().Verify("input", "\x01" + good).ok());
  }
}

TEST(KeyTest, EcdsaSignatureMustBeRawNotDer) {
  auto key = ParseJwk(Generated("P-256").private_jwk);
  ASSERT_TRUE(key.ok());
  auto sig = key.value().Sign("input");
  ASSERT_TRUE(sig.ok());
  // A DER encoding of the same (r, s) is 70-72 bytes, never the required 64.
  std::string der =
      "\x30\x44\x02\x20" + sig.value().substr(0, 32) + "\x02\x20" + sig.value().substr(32);
  auto status = key.value().Verify("input", der);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.failure().code, ErrorCode::kBadSignature);
}

TEST(KeyTest, KeysMove) {
  auto parsed = ParseJwk(Generated("Ed25519").private_jwk);
  ASSERT_TRUE(parsed.ok());
  Key key = std::move(parsed).value();
  auto sig = key.Sign("x");
  ASSERT_TRUE(sig.ok());
  Key moved = std::move(key);
  EXPECT_TRUE(moved.Verify("x", sig.value()).ok());
  std::vector<Key> keys;
  keys.push_back(std::move(moved));
  EXPECT_TRUE(keys[0].Verify("x", sig.value()).ok());
  EXPECT_EQ(keys[0].algorithm(), Algorithm::kEdDSA);
}

// The curve orders rowguard keeps as constants (EcGroupOrder) are OpenSSL's, byte for byte.
TEST(EcGroupOrder, MatchesOpenSslGroups) {
  for (const char* name : {"prime256v1", "secp384r1", "secp521r1"}) {
    std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
        EC_GROUP_new_by_curve_name(OBJ_sn2nid(name)), &EC_GROUP_free);
    ASSERT_NE(group, nullptr) << name;
    const BIGNUM* order = EC_GROUP_get0_order(group.get());
    const int field_bytes = (EC_GROUP_get_degree(group.get()) + 7) / 8;
    std::string expected(static_cast<std::size_t>(field_bytes), '\0');
    ASSERT_EQ(BN_bn2binpad(order, reinterpret_cast<unsigned char*>(expected.data()), field_bytes),
              field_bytes);
    const auto ours = EcGroupOrder(name);
    ASSERT_TRUE(ours.has_value()) << name;
    EXPECT_EQ(std::string(*ours), expected) << name;
  }
  EXPECT_FALSE(EcGroupOrder("secp256k1").has_value());
  EXPECT_FALSE(EcGroupOrder("").has_value());
}

}  // namespace
}  // namespace rowguard::core
