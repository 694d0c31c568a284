// RFC 7520 section 4.1-4.4 (JOSE cookbook), RFC 8037 A.4 (Ed25519) and RFC 7797 4.2.
//
// The cookbook payload is text ("It's a dangerous business, Frodo, ..."), not a JWT
// claims set, and rowguard's full path requires the payload to be a JSON object. So the
// published tokens are checked at the signature level (ParseCompact + Key::Verify, and
// TrustStore::VerifySignature), TrustStore::Verify is shown to refuse them as
// kMalformedJson only after the signature passed, and the same keys then sign and
// verify a real claims set under an injected clock.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/trust_store.hpp"
#include "vector_files.hpp"

namespace rowguard::core {
namespace {

constexpr std::int64_t kNow = 1700000000;

struct Cookbook {
  std::string file;
  Algorithm alg;
  bool deterministic;  // RSASSA-PKCS1-v1_5, HMAC, Ed25519 signatures are reproducible
};

class CookbookTest : public ::testing::TestWithParam<Cookbook> {};

TEST_P(CookbookTest, VerifiesThePublishedToken) {
  ROWGUARD_REQUIRE_VECTORS();
  const Cookbook& vector = GetParam();
  const std::string text = test::ReadVectorFile("jose-cookbook/" + vector.file);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS);
  const std::string jwk = simdjson::minify(root["input"]["key"].value());
  const std::string_view alg_name = root["input"]["alg"].get_string().value();
  const std::string_view payload = root["input"]["payload"].get_string().value();
  const std::string_view sig_input = root["signing"]["sig-input"].get_string().value();
  const std::string_view sig = root["signing"]["sig"].get_string().value();
  const std::string token(root["output"]["compact"].get_string().value());
  ASSERT_EQ(AlgorithmFromName(alg_name), vector.alg);

  auto parsed_key = ParseJwk(jwk, vector.alg);
  ASSERT_TRUE(parsed_key.ok()) << parsed_key.failure().detail;
  const Key& key = parsed_key.value();
  EXPECT_EQ(key.algorithm(), vector.alg);

  // Signature level.
  auto jws = ParseCompact(token, 16384);
  ASSERT_TRUE(jws.ok()) << jws.failure().detail;
  EXPECT_EQ(jws.value().header.alg, vector.alg);
  EXPECT_EQ(jws.value().signing_input, sig_input);
  EXPECT_EQ(jws.value().payload_json, payload);
  EXPECT_EQ(EncodeBase64Url(jws.value().signature), sig);
  Status verified = key.Verify(jws.value().signing_input, jws.value().signature);
  EXPECT_TRUE(verified.ok()) << verified.failure().detail;
  if (vector.deterministic) {
    auto signature = key.Sign(sig_input);
    ASSERT_TRUE(signature.ok()) << signature.failure().detail;
    EXPECT_EQ(EncodeBase64Url(signature.value()), sig);
  }

  // Through the store: kid lookup where the header has one, else by algorithm.
  const std::string kid = key.kid();
  TrustStore store;
  store.AddKey(std::move(parsed_key).value());
  auto by_store = store.VerifySignature(token, 16384);
  EXPECT_TRUE(by_store.ok()) << by_store.failure().detail;
  VerifyOptions options;
  options.require_exp = false;
  auto full = store.Verify(token, kNow, options);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.failure().code, ErrorCode::kMalformedJson);  // text, not a claims set

  // One changed payload byte breaks it.
  const std::size_t dot = token.find('.');
  std::string tampered = token;
  tampered[dot + 1] = tampered[dot + 1] == 'S' ? 'T' : 'S';
  auto bad = store.VerifySignature(tampered, 16384);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.failure().code, ErrorCode::kBadSignature);

  // The RFC key signs and verifies a claims set, with the clock injected.
  const Key* stored = store.FindKey(kid);
  ASSERT_NE(stored, nullptr);
  auto minted = SignCompact(*stored, R"({"sub":"frodo","iat":1700000000,"exp":1700000600})");
  ASSERT_TRUE(minted.ok()) << minted.failure().detail;
  options.require_exp = true;
  options.leeway_seconds = 0;
  auto claims = store.Verify(minted.value(), kNow + 599, options);
  ASSERT_TRUE(claims.ok()) << claims.failure().detail;
  EXPECT_EQ(claims.value().claims.sub, "frodo");
  auto expired = store.Verify(minted.value(), kNow + 600, options);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.failure().code, ErrorCode::kExpired);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc, CookbookTest,
    ::testing::Values(Cookbook{"jws_4_1.rsa_v15_signature.json", Algorithm::kRS256, true},
                      Cookbook{"jws_4_2.rsa-pss_signature.json", Algorithm::kPS384, false},
                      Cookbook{"jws_4_3.ecdsa_signature.json", Algorithm::kES512, false},
                      Cookbook{"jws_4_4.hmac-sha2_integrity_protection.json", Algorithm::kHS256,
                               true},
                      Cookbook{"curve25519_jws.json", Algorithm::kEdDSA, true}),
    [](const ::testing::TestParamInfo<Cookbook>& info) {
      return std::string(AlgorithmName(info.param.alg));
    });

TEST(Rfc7797, UnencodedPayloadIsRejected) {
  ROWGUARD_REQUIRE_VECTORS();
  const std::string text =
      test::ReadVectorFile("jose-cookbook/rfc7797_4.2.hmac-sha2_b64_false.json");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS);
  const std::string jwk = simdjson::minify(root["input"]["key"].value());
  const std::string header(root["signing"]["protected_b64u"].get_string().value());
  const std::string payload(root["input"]["payload"].get_string().value());
  const std::string sig(root["signing"]["sig"].get_string().value());
  auto key = ParseJwk(jwk);
  ASSERT_TRUE(key.ok()) << key.failure().detail;
  // The MAC is genuine over the unencoded input, so only the header rules stop it.
  auto raw_sig = DecodeBase64Url(sig);
  ASSERT_TRUE(raw_sig.has_value());
  EXPECT_TRUE(key.value().Verify(header + "." + payload, *raw_sig).ok());

  TrustStore store;
  store.AddKey(std::move(key).value());
  VerifyOptions options;
  options.require_exp = false;
  // As RFC 7797 writes it ("$.02" raw: four segments), and with the payload encoded.
  const std::string raw = header + "." + payload + "." + sig;
  const std::string encoded = header + "." + EncodeBase64Url(payload) + "." + sig;
  auto a = ParseCompact(raw, 16384);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.failure().code, ErrorCode::kMalformedToken);
  auto b = ParseCompact(encoded, 16384);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.failure().code, ErrorCode::kBadHeader);
  auto detached = ParseCompact(header + ".." + sig, 16384);
  ASSERT_FALSE(detached.ok());
  EXPECT_EQ(detached.failure().code, ErrorCode::kBadHeader);
  for (const std::string& token : {raw, encoded}) {
    auto result = store.Verify(token, kNow, options);
    EXPECT_FALSE(result.ok());
  }
}

}  // namespace
}  // namespace rowguard::core
