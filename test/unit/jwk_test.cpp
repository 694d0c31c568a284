// ParseJwk / ParseJwkSet: every rejection reason, algorithm binding and thumbprints.
#include <gtest/gtest.h>

#include <string>

#include "rowguard/core/key.hpp"

namespace rowguard::core {
namespace {

// Test-only keys, generated for this file.
const std::string kRsaPublic =
    R"("kty":"RSA","n":"tIivmgXsHwiPrixjMmKtaXiGfbsM7wOejamBnP6wAJyGKHS14iTe93h-4Eek1Ze9jPoa6AqHFXuDxfiaLc2JCZ-wziTB7yh4xEVhshi8LHJ9DbBRDCjsnT40B7utvRhjvhPYDNKyJJvyBufyUv62bcvfJlR3DihpIBM2uhjH8ob2Qqr8QJXj0wu_7eb3PfrW7UBmf4OX3E77_Aq6nwOARzxU4oxuNscchDjK5wAThrpWP4MsY7zHpz4Nc3E0IF2CaH4cqRxjFb1BVS_QnYmter6Hk_YjikBq-CuuBWW6L7kN6h9MQFJ9aFJGoULma2h2groyruHYK_THPX4PDwKHtQ","e":"AQAB")";
const std::string kRsaPrivateMembers =
    R"("d":"HG9tDTsCkm7ERsBKDY0aWEL6GAKmylzNE-4Pcr1w1l_RB70-SrTZA6yQe139egERA4v_Qe4qkbknK7749d7qR0BGVmnWvAcpYmy1MxqPRQbxaH8NfPdTMX8zLcajWmXli_JPNNHY6kg_ylOtSOJCtK-IYd6q8-lsiXdNRumRUMMqdzA_QM-rI1tcdBuadOOM7IZCqvqZhoHl_8QPj99dYa9QjlhV2PdcV8ccNGIzAtZqYsME8ak4MKc66NUCnlCwKUVOLY3I0bdKbJTzGcY6okspu-Xo_44eYhpVw2jT8mSBRBtqrYM5aBieeTf1q9p22fOvRE2mDCcZFkZmfLOqcQ","p":"3GsSFQWvp2zQpOMadRQoI5Jjgr_ViBBnt6xyS9NLf_AjrwZ96NIQT8yq0p-IOYqZnADb0eI8p-YQJ-Eum1KykbUqfqSlfGZgxGKwZw3cEwIwTBxT4SQc6ABAdNSDMM7Pl0yrFjOSSMW-59gLBAq_orZjONnkBMU5IUDpqvtF6kk","q":"0a1eovp-xVIRfuBKOBKvLdEBo4XQfyWO13JG6zhSFCEp1BVMWwb203vpSNrrjAl1syjuXSFVa_stMDsTucq_ARHUHuhUXrfKZii2zI7dLCWN6-58NL9RO3bHYMdFYaF6_9TtbWsBoWnFKtVoxKjAEot2KB8yHuXkc38g0MYYkg0","dp":"ogPhqqofTwVg55I25FAIoPz9QCIZpoXIdu2-pZWOLWAqGoC_E980NjPObDrvOrxx5IWNDl0pEJC-11FhnLHQp-FuduA285WdEz0nRNifJym4rnkz_o044h8tQbLjK4EYfbHRH-SQZgVUKb5XeoUcD1HY5PTj8c22DIdWOmOwJGE","dq":"QNAYasSHnzLpGZD3IDIWWFE88nEQq9zONKasaVU1eeduaJJU0eZrMaAh0lVpbhYWfdTvKXZ-UyyHIVuBk3KqbAg4y30BZ23kcIOxTbXzhAvvvLgxSJTC5WCn7LBsL-uce6wz4Bitnll1ivIAupl3FcRqN6i883QYk-L-H8q8GZk","qi":"2Bc7kOlEVbVdI4_67NykhbRT9JTXIPs019bIgJgqD0I5VrISnrarOV9lCrWDLm1XjomRqe7nMcpzwHM7zskoM8IyZ9y-hwV6wUw7816qjaeTNkQrOILz3MzmnNrm3r4MwOagSsQxdYniUYy3xSot8ZTJ5tKxKs4Hc4Cpi-5orHc")";
// 1024-bit modulus (Wycheproof json_web_key_test "keysize_too_small").
const std::string kRsa1024 =
    R"("kty":"RSA","n":"rJBIp6T1YK-RtPyvYqFFlcucqewSAA_IReSFchE8qyiQrbARqRlXWkB2DR8j_pJQnIpYELbQWZC5Cd0PTGAU8rMbar2AW6zpmBbi7aQf17lUBdt8XI9M9rq7FPVQ1dDdUXm1SVH_9qqWhvMPR422SbfHBEzCAtzK0ANDRo6qz78","e":"AQAB")";
const std::string kP256 =
    R"("kty":"EC","crv":"P-256","x":"GAGpLYzYp_90x2s3nIhCIm2dS89KxIwMWZA5HKaGaOk","y":"Vnd9it229Zb_2PMnekSYo_DEYXxsFNfESTdsGlQgoik")";
const std::string kP256D = R"("d":"30yyMqGX9cWruvOdV3LwEaueeDoF17pS9ShNdmUiLWA")";
const std::string kP384 =
    R"("kty":"EC","crv":"P-384","x":"vCWT0HgwUMfWJuTwmfamElzfxZy_8b5sLmPvoh7OnzOczUBL_K7k5IC8rkAsDs1D","y":"5f76Vfk5bD9_AhV0OssSLTSOXdT62GrdzosNIpMB9h-WkNTj4g0qzBErM4YQLxsF")";
const std::string kP384D =
    R"("d":"WB9BKxzj3g7H1yBWSNHqeDksQsLi1jPI4Jljds1SlZ13wUBb5dKSoqrD0075J5_T")";
const std::string kP521 =
    R"("kty":"EC","crv":"P-521","x":"APiXAMv19xPomI-PkSChuJ7jtiB4HWf3vTWiMGbwrRNC90iq5P7pJI0Wu2lSq5c0aQhnRlZ8uQO_nnnDt9ChuOVZ","y":"AGdmL8OYxLzE1EX2ItLfnYAD0CVvmy-nb6P9cyrV2LqoD-DMaI4DNEMs9zMgSw_Dyu9FN6OLMRxfiStkvyHhbfCn")";
const std::string kEd25519 =
    R"("kty":"OKP","crv":"Ed25519","x":"x7SMB7By-Y_8uL-GvQRonwhiT4fpZU9_psXl7ugmgmU")";
const std::string kEd25519D = R"("d":"mfzY-DnMEOSH-eIVvZu7nOza6_PsASPLRJwBj9D9Rq4")";
const std::string kEd448 =
    R"("kty":"OKP","crv":"Ed448","x":"20eHej9N24Posf5-tDtir3jSNeQ4gVJ-zj0cJ8VUK3Axdxms6_zYoMKnPGHS-1D4DlSc40Www7uA")";
// 32, 48 and 64 bytes.
const std::string k32 = R"("kty":"oct","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")";
const std::string k48 =
    R"("kty":"oct","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v")";
const std::string k64 =
    R"("kty":"oct","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw")";

std::string Obj(const std::string& members) { return "{" + members + "}"; }

// A valid P-256 scalar that is not the private key of kP256.
std::string OtherD() {
  std::string d = kP256D;
  d[10] = d[10] == 'A' ? 'B' : 'A';
  return d;
}

// Expects kBadKey with a detail containing `needle`.
void ExpectBadKey(const std::string& json, const std::string& needle,
                  std::optional<Algorithm> alg = std::nullopt) {
  auto key = ParseJwk(json, alg);
  ASSERT_FALSE(key.ok()) << json;
  EXPECT_EQ(key.failure().code, ErrorCode::kBadKey) << json;
  EXPECT_NE(key.failure().detail.find(needle), std::string::npos)
      << "detail: " << key.failure().detail << "\nwanted: " << needle;
  EXPECT_EQ(key.failure().detail.find('\n'), std::string::npos);
}

Algorithm AlgOf(const std::string& json, std::optional<Algorithm> alg = std::nullopt) {
  auto key = ParseJwk(json, alg);
  EXPECT_TRUE(key.ok()) << json << ": " << (key.ok() ? "" : key.failure().detail);
  return key.ok() ? key.value().algorithm() : Algorithm::kHS256;
}

TEST(JwkTest, Rfc7638Section31Thumbprint) {
  const std::string jwk =
      R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"})";
  auto key = ParseJwk(jwk);
  ASSERT_TRUE(key.ok()) << key.failure().detail;
  EXPECT_EQ(key.value().thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(key.value().kid(), "2011-04-29");
  EXPECT_FALSE(key.value().can_sign());

  // Without "kid" the thumbprint is the kid; member order and extras do not matter.
  auto bare = ParseJwk(
      R"({"e":"AQAB","use":"sig","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","kty":"RSA","x5t":"ignored"})");
  ASSERT_TRUE(bare.ok()) << bare.failure().detail;
  EXPECT_EQ(bare.value().kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(JwkTest, ThumbprintsOfOtherKeyTypes) {
  // RFC 8037 appendix A.3: the Ed25519 example key.
  auto okp = ParseJwk(
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})");
  ASSERT_TRUE(okp.ok()) << okp.failure().detail;
  EXPECT_EQ(okp.value().thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  // Private members never enter the thumbprint.
  auto pub = ParseJwk(Obj(kP256));
  auto priv = ParseJwk(Obj(kP256 + "," + kP256D));
  ASSERT_TRUE(pub.ok() && priv.ok());
  EXPECT_EQ(pub.value().thumbprint(), priv.value().thumbprint());
  auto a = ParseJwk(Obj(k32), Algorithm::kHS256);
  auto b = ParseJwk(Obj(k48), Algorithm::kHS256);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.value().thumbprint(), b.value().thumbprint());
  EXPECT_EQ(a.value().thumbprint().size(), 43u);
}

TEST(JwkTest, AcceptsEveryKeyType) {
  EXPECT_EQ(AlgOf(Obj(kRsaPublic)), Algorithm::kRS256);
  EXPECT_EQ(AlgOf(Obj(kRsaPublic + "," + kRsaPrivateMembers)), Algorithm::kRS256);
  EXPECT_EQ(AlgOf(Obj(kP256)), Algorithm::kES256);
  EXPECT_EQ(AlgOf(Obj(kP256 + "," + kP256D)), Algorithm::kES256);
  EXPECT_EQ(AlgOf(Obj(kP384)), Algorithm::kES384);
  EXPECT_EQ(AlgOf(Obj(kP384 + "," + kP384D)), Algorithm::kES384);
  EXPECT_EQ(AlgOf(Obj(kP521)), Algorithm::kES512);
  EXPECT_EQ(AlgOf(Obj(kEd25519)), Algorithm::kEdDSA);
  EXPECT_EQ(AlgOf(Obj(kEd25519 + "," + kEd25519D)), Algorithm::kEdDSA);
  EXPECT_EQ(AlgOf(Obj(k32), Algorithm::kHS256), Algorithm::kHS256);
  auto ed448 = ParseJwk(Obj(kEd448));
  if (ed448.ok()) {
    EXPECT_EQ(ed448.value().algorithm(), Algorithm::kEdDSA);
  }
}

TEST(JwkTest, PrivateFlag) {
  auto pub = ParseJwk(Obj(kRsaPublic));
  auto priv = ParseJwk(Obj(kRsaPublic + "," + kRsaPrivateMembers));
  auto oct = ParseJwk(Obj(k32 + R"(,"alg":"HS256")"));
  ASSERT_TRUE(pub.ok() && priv.ok() && oct.ok());
  EXPECT_FALSE(pub.value().can_sign());
  EXPECT_TRUE(priv.value().can_sign());
  EXPECT_TRUE(oct.value().can_sign());
  // The public half of a private JWK verifies what the private key signs.
  auto sig = priv.value().Sign("data");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub.value().Verify("data", sig.value()).ok());
  EXPECT_TRUE(priv.value().Verify("data", sig.value()).ok());
}

TEST(JwkTest, AlgorithmBinding) {
  // JWK "alg" first, then the argument, then the key type.
  EXPECT_EQ(AlgOf(Obj(kRsaPublic + R"(,"alg":"PS384")")), Algorithm::kPS384);
  EXPECT_EQ(AlgOf(Obj(kRsaPublic), Algorithm::kPS512), Algorithm::kPS512);
  EXPECT_EQ(AlgOf(Obj(kRsaPublic + R"(,"alg":"RS512")"), Algorithm::kRS512), Algorithm::kRS512);
  EXPECT_EQ(AlgOf(Obj(k64), Algorithm::kHS512), Algorithm::kHS512);
  EXPECT_EQ(AlgOf(Obj(k64), Algorithm::kHS256), Algorithm::kHS256);
  EXPECT_EQ(AlgOf(Obj(k48 + R"(,"alg":"HS384")")), Algorithm::kHS384);
  EXPECT_EQ(AlgOf(Obj(kP384), Algorithm::kES384), Algorithm::kES384);
  EXPECT_EQ(AlgOf(Obj(kEd25519 + R"(,"alg":"EdDSA")")), Algorithm::kEdDSA);

  ExpectBadKey(Obj(k64), "needs an algorithm");
  ExpectBadKey(Obj(kRsaPublic + R"(,"alg":"RS256")"), "PS256 was given", Algorithm::kPS256);
  ExpectBadKey(Obj(kP256), "ES384 does not fit a P-256 key", Algorithm::kES384);
  ExpectBadKey(Obj(kP384 + R"(,"alg":"ES256")"), "ES256 does not fit a P-384 key");
  ExpectBadKey(Obj(kP521 + R"(,"alg":"ES384")"), "ES384 does not fit a P-521 key");
  ExpectBadKey(Obj(kRsaPublic + R"(,"alg":"HS256")"), "HS256 does not fit an RSA key");
  ExpectBadKey(Obj(kRsaPublic), "ES256 does not fit an RSA key", Algorithm::kES256);
  ExpectBadKey(Obj(k64 + R"(,"alg":"RS256")"), "RS256 does not fit an oct");
  ExpectBadKey(Obj(k64), "EdDSA does not fit an oct", Algorithm::kEdDSA);
  ExpectBadKey(Obj(kP256), "HS256 does not fit", Algorithm::kHS256);
  ExpectBadKey(Obj(kEd25519 + R"(,"alg":"ES256")"), "ES256 does not fit an OKP key");
  ExpectBadKey(Obj(kP256 + R"(,"alg":"EdDSA")"), "EdDSA does not fit a P-256 key");
  for (const char* alg : {"none", "NONE", "hs256", "ES256K", "RSA1_5", "A256GCM", "ES521"}) {
    ExpectBadKey(Obj(k64 + R"(,"alg":")" + alg + "\""), "is not a supported algorithm");
  }
}

TEST(JwkTest, HmacSecretLength) {
  ExpectBadKey(Obj(R"("kty":"oct","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg")"),
               "HMAC secret is 31 bytes; HS256 needs at least 32", Algorithm::kHS256);
  ExpectBadKey(Obj(k32), "HMAC secret is 32 bytes; HS384 needs at least 48", Algorithm::kHS384);
  ExpectBadKey(Obj(k48), "HMAC secret is 48 bytes; HS512 needs at least 64", Algorithm::kHS512);
  ExpectBadKey(Obj(R"("kty":"oct","k":"")"), "HMAC secret is 0 bytes", Algorithm::kHS256);
  ExpectBadKey(Obj(R"("kty":"oct")"), "missing \"k\"", Algorithm::kHS256);
}

TEST(JwkTest, RsaRejections) {
  ExpectBadKey(Obj(kRsa1024), "RSA modulus is 1024 bits; at least 2048 are required");
  std::string even = Obj(kRsaPublic);
  even.replace(even.find("\"e\":\"AQAB\""), 10, R"("e":"AQAC")");
  ExpectBadKey(even, "RSA public exponent is even");
  std::string one = Obj(kRsaPublic);
  one.replace(one.find("\"e\":\"AQAB\""), 10, R"("e":"AQ")");
  ExpectBadKey(one, "RSA public exponent is 1");
  std::string leading = Obj(kRsaPublic);
  leading.replace(leading.find("\"e\":\"AQAB\""), 10, R"("e":"AAEAAQ")");
  ExpectBadKey(leading, "leading zero");
  ExpectBadKey(R"({"kty":"RSA","e":"AQAB"})", "missing \"n\"");
  ExpectBadKey(Obj(kRsaPublic.substr(0, kRsaPublic.find(",\"e\""))), "missing \"e\"");
  // A private key needs every CRT member; "d" alone or factors alone are refused.
  ExpectBadKey(
      Obj(kRsaPublic + "," + kRsaPrivateMembers.substr(0, kRsaPrivateMembers.find(",\"p\""))),
      "RSA private key is missing \"p\"");
  ExpectBadKey(Obj(kRsaPublic + R"(,"p":"AQAB")"), "has \"p\" but no \"d\"");
  ExpectBadKey(Obj(kRsaPublic + "," + kRsaPrivateMembers + R"(,"oth":[])"), "multi-prime");
  // A private exponent that does not belong to the modulus.
  std::string wrong_d = kRsaPrivateMembers;
  wrong_d[6] = wrong_d[6] == 'A' ? 'B' : 'A';
  ExpectBadKey(Obj(kRsaPublic + "," + wrong_d), "RSA private key is inconsistent");
}

TEST(JwkTest, EcRejections) {
  std::string off = Obj(kP256);
  off[off.find("\"y\":\"") + 6] ^= 1;  // one bit of y changed: off the curve
  ExpectBadKey(off, "EC point is not on the P-256 curve");
  // P-256 coordinates claimed as P-384.
  std::string wrong_curve = Obj(kP256);
  wrong_curve.replace(wrong_curve.find("P-256"), 5, "P-384");
  ExpectBadKey(wrong_curve, "EC \"x\" is 32 bytes; P-384 needs 48");
  ExpectBadKey(R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})", "needs 32");
  ExpectBadKey(R"({"kty":"EC","crv":"secp256k1","x":"AAAA","y":"AAAA"})",
               "unsupported EC curve \"secp256k1\"");
  ExpectBadKey(R"({"kty":"EC","x":"AAAA","y":"AAAA"})", "missing \"crv\"");
  ExpectBadKey(Obj(kP256 + R"(,"d":"AAAA")"), "EC \"d\" is 3 bytes; P-256 needs 32");
  ExpectBadKey(Obj(kP256 + "," + OtherD()), "EC private key does not match");
  // The point at infinity and (0, 0) are not public keys.
  ExpectBadKey(
      Obj(R"("kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")"),
      "not on the P-256 curve");
}

TEST(JwkTest, OkpRejections) {
  ExpectBadKey(R"({"kty":"OKP","crv":"X25519","x":"AAAA"})", "key agreement");
  ExpectBadKey(R"({"kty":"OKP","crv":"Ed1","x":"AAAA"})", "unsupported OKP curve");
  ExpectBadKey(R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"})", "OKP \"x\" is 3 bytes");
  ExpectBadKey(Obj(kEd25519 + R"(,"d":"AAAA")"), "OKP \"d\" is 3 bytes");
  // A d whose public key is another x.
  ExpectBadKey(Obj(kEd25519 + R"(,"d":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")"),
               "does not match \"x\"");
}

TEST(JwkTest, CommonMemberRejections) {
  ExpectBadKey(R"({"kty":"XYZ"})", "unsupported key type \"XYZ\"");
  ExpectBadKey(R"({"kty":"rsa"})", "unsupported key type");
  ExpectBadKey(R"({"n":"AQAB"})", "missing \"kty\"");
  ExpectBadKey(R"({"kty":1})", "\"kty\" is not a string");
  ExpectBadKey(Obj(kRsaPublic + R"(,"use":"enc")"), "\"use\" is not \"sig\"");
  ExpectBadKey(Obj(kRsaPublic + R"(,"use":1)"), "\"use\" is not a string");
  ExpectBadKey(Obj(kRsaPublic + R"(,"key_ops":["encrypt"])"), "neither \"verify\" nor \"sign\"");
  ExpectBadKey(Obj(kRsaPublic + R"(,"key_ops":[])"), "neither");
  ExpectBadKey(Obj(kRsaPublic + R"(,"key_ops":"verify")"), "\"key_ops\" is not an array");
  ExpectBadKey(Obj(kRsaPublic + R"(,"key_ops":[1])"), "not a string");
  ExpectBadKey(Obj(kRsaPublic + R"(,"key_ops":["verify","verify"])"), "repeats");
  EXPECT_EQ(AlgOf(Obj(kRsaPublic + R"(,"key_ops":["verify"],"use":"sig")")), Algorithm::kRS256);
  EXPECT_EQ(AlgOf(Obj(k32 + R"(,"key_ops":["sign","verify"])"), Algorithm::kHS256),
            Algorithm::kHS256);
  ExpectBadKey(Obj(kRsaPublic + R"(,"kid":"")"), "\"kid\" is empty");
  ExpectBadKey(Obj(kRsaPublic + R"(,"kid":7)"), "\"kid\" is not a string");
  ExpectBadKey(Obj(kRsaPublic + R"(,"alg":["RS256"])"), "\"alg\" is not a string");
  ExpectBadKey(Obj(kP256 + R"(,"crv":"P-256")"), "duplicate");
  // Base64url strictly: padding, the standard alphabet and whitespace are refused.
  ExpectBadKey(
      Obj(kP256.substr(0, kP256.find("\"x\"")) +
          R"("x":"GAGpLYzYp_90x2s3nIhCIm2dS89KxIwMWZA5HKaGaOk=","y":"Vnd9it229Zb_2PMnekSYo_DEYXxsFNfESTdsGlQgoik")"),
      "\"x\" is not valid base64url");
  ExpectBadKey(Obj(R"("kty":"oct","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+/")"),
               "\"k\" is not valid base64url", Algorithm::kHS256);
  ExpectBadKey(Obj(R"("kty":"oct","k":" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")"),
               "\"k\" is not valid base64url", Algorithm::kHS256);
  ExpectBadKey(Obj(R"("kty":"oct","k":42)"), "\"k\" is not a string", Algorithm::kHS256);
  // Not JSON objects at all: key errors, not token errors.
  ExpectBadKey("", "JWK");
  ExpectBadKey("[]", "JWK");
  ExpectBadKey("{\"kty\":\"oct\"", "JWK");
  ExpectBadKey(R"("oct")", "JWK");
}

TEST(JwkTest, DetailsNeverHoldKeyMaterial) {
  // A short secret: the message names the length, not the bytes.
  auto key = ParseJwk(Obj(R"("kty":"oct","k":"c2VjcmV0LXNlY3JldA")"), Algorithm::kHS256);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.failure().detail.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(key.failure().detail.find("secret-secret"), std::string::npos);
  auto ec = ParseJwk(Obj(kP256 + "," + OtherD()));
  ASSERT_FALSE(ec.ok());
  EXPECT_EQ(ec.failure().detail.find(OtherD().substr(5, 10)), std::string::npos);
}

TEST(JwkSetTest, ParsesEveryKey) {
  auto set = ParseJwkSet("{\"keys\":[" + Obj(kRsaPublic + R"(,"kid":"r")") + "," + Obj(kP256) +
                         "," + Obj(kEd25519 + R"(,"kid":"e")") + R"(],"extra":true})");
  ASSERT_TRUE(set.ok()) << set.failure().detail;
  ASSERT_EQ(set.value().size(), 3u);
  EXPECT_EQ(set.value()[0].kid(), "r");
  EXPECT_EQ(set.value()[0].algorithm(), Algorithm::kRS256);
  EXPECT_EQ(set.value()[1].algorithm(), Algorithm::kES256);
  EXPECT_EQ(set.value()[1].kid(), set.value()[1].thumbprint());
  EXPECT_EQ(set.value()[2].algorithm(), Algorithm::kEdDSA);
  auto empty = ParseJwkSet(R"({"keys":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value().empty());
}

void ExpectBadSet(const std::string& json, const std::string& needle) {
  auto set = ParseJwkSet(json);
  ASSERT_FALSE(set.ok()) << json;
  EXPECT_EQ(set.failure().code, ErrorCode::kBadKey);
  EXPECT_NE(set.failure().detail.find(needle), std::string::npos)
      << "detail: " << set.failure().detail << "\nwanted: " << needle;
}

TEST(JwkSetTest, Rejections) {
  ExpectBadSet(Obj(kRsaPublic), "not a JWK Set");
  ExpectBadSet(R"({"keys":{}})", "not a JWK Set");
  ExpectBadSet(R"({"Keys":[]})", "not a JWK Set");
  ExpectBadSet("[]", "JWK Set");
  ExpectBadSet("", "JWK Set");
  ExpectBadSet(R"({"keys":[],"keys":[]})", "duplicate");
  ExpectBadSet("{\"keys\":[" + Obj(kP256) + ",42]}", "index 1 is not a JSON object");
  ExpectBadSet("{\"keys\":[" + Obj(kP256) + "," + Obj(kEd25519) + "," + Obj(kRsa1024) + "]}",
               "index 2: RSA modulus is 1024 bits");
  ExpectBadSet(
      "{\"keys\":[" + Obj(kP256 + R"(,"kid":"a")") + "," + Obj(kEd25519 + R"(,"kid":"a")") + "]}",
      "index 1 repeats the kid of the key at index 0");
  // The same key twice without kid: equal thumbprints, so equal kids.
  ExpectBadSet("{\"keys\":[" + Obj(kP256) + "," + Obj(kP256) + "]}", "repeats the kid");
  ExpectBadSet("{\"keys\":[" + Obj(kP256) + "," + Obj(kP384 + "," + kP384D) + "]}",
               "must not mix public keys with private or secret ones");
  ExpectBadSet("{\"keys\":[" + Obj(k32 + R"(,"alg":"HS256")") + "," + Obj(kP256) + "]}",
               "must not mix");
  // An oct key in a set must carry its own "alg".
  ExpectBadSet("{\"keys\":[" + Obj(k32) + "]}", "index 0: an oct key needs an algorithm");
}

}  // namespace
}  // namespace rowguard::core
