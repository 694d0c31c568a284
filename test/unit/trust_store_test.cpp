// TrustStore::Verify end to end with real keys, and SignCompact round trips.
#include "rowguard/core/trust_store.hpp"

#include <gtest/gtest.h>

#include <string>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "test_keys.hpp"

namespace rowguard::core {
namespace {

using test::MakeTestKey;
using test::TestKey;

constexpr std::int64_t kNow = 1700000000;

Key MustParse(const std::string& jwk) {
  auto key = ParseJwk(jwk);
  if (!key.ok()) ADD_FAILURE() << key.failure().detail << " in " << jwk;
  return std::move(key).value();
}

std::string MustSign(const Key& key, const std::string& claims) {
  auto token = SignCompact(key, claims);
  if (!token.ok()) {
    ADD_FAILURE() << token.failure().detail;
    return {};
  }
  return token.value();
}

std::string Claims(std::int64_t exp = kNow + 3600, const std::string& extra = "") {
  return R"({"sub":"user-1","exp":)" + std::to_string(exp) + extra + "}";
}

// A token with any header and payload, signed by `key` (for headers SignCompact never
// writes).
std::string SignRaw(const Key& key, std::string_view header, std::string_view payload) {
  std::string input = EncodeBase64Url(header) + "." + EncodeBase64Url(payload);
  auto signature = key.Sign(input);
  EXPECT_TRUE(signature.ok());
  return input + "." + EncodeBase64Url(signature.ok() ? signature.value() : "x");
}

struct Fixture : ::testing::Test {
  VerifyOptions options;
  Fixture() { options.leeway_seconds = 0; }

  Failure FailureOf(const TrustStore& store, std::string_view token, TokenFacts* facts = nullptr,
                    std::int64_t now = kNow) {
    auto result = store.Verify(token, now, options, facts);
    EXPECT_FALSE(result.ok());
    return result.ok() ? Failure{ErrorCode::kInternal, "<accepted>"} : result.failure();
  }
};

using TrustStoreTest = Fixture;

TEST_F(TrustStoreTest, RoundTripEveryAlgorithm) {
  for (Algorithm alg : test::kAllAlgorithms) {
    SCOPED_TRACE(std::string(AlgorithmName(alg)));
    const TestKey generated = MakeTestKey(alg);
    Key signer = MustParse(generated.private_jwk);
    ASSERT_TRUE(signer.can_sign());
    const std::string token = MustSign(signer, Claims());
    // Verified by the public half alone.
    TrustStore store;
    store.AddKey(MustParse(generated.public_jwk));
    auto result = store.Verify(token, kNow, options);
    ASSERT_TRUE(result.ok()) << result.failure().detail;
    EXPECT_EQ(result.value().claims_json, Claims());
    EXPECT_EQ(result.value().kid, generated.kid);
    EXPECT_EQ(result.value().alg, alg);
    EXPECT_EQ(result.value().claims.sub, "user-1");
    EXPECT_EQ(result.value().claims.exp, kNow + 3600);
    EXPECT_EQ(result.value().leeway_seconds, 0);
    // The header SignCompact writes.
    auto parsed = ParseCompact(token, 16384);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(DecodeBase64Url(token.substr(0, token.find('.'))),
              "{\"alg\":\"" + std::string(AlgorithmName(alg)) + "\",\"typ\":\"JWT\",\"kid\":\"" +
                  generated.kid + "\"}");
    // Any flipped signature bit fails.
    std::string tampered = token;
    tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(FailureOf(store, tampered).code, ErrorCode::kBadSignature);
  }
}

TEST_F(TrustStoreTest, VerifiedTokenNamesTheKeyMaterialNotOnlyTheKid) {
  // Two different keys under one kid: the verified token says which material it was.
  const TestKey first = MakeTestKey(Algorithm::kES256, "same-kid");
  const TestKey second = MakeTestKey(Algorithm::kES256, "same-kid");
  Key first_key = MustParse(first.private_jwk);
  Key second_key = MustParse(second.private_jwk);
  ASSERT_NE(first_key.thumbprint(), second_key.thumbprint());
  const std::string token = MustSign(first_key, Claims());
  TrustStore store;
  store.AddKey(MustParse(first.public_jwk));
  auto result = store.Verify(token, kNow, options);
  ASSERT_TRUE(result.ok()) << result.failure().detail;
  EXPECT_EQ(result.value().key_thumbprint, first_key.thumbprint());
  EXPECT_EQ(result.value().key_thumbprint, store.FindKey("same-kid")->thumbprint());
}

// One parse per token (issue 26): the form parsed for the kid lookup is the one
// verification uses; a repeat of the same token text decodes nothing, any other text
// (or size limit) is parsed afresh, and the result is the same as parsing inside Verify.
TEST_F(TrustStoreTest, ParsedTokenIsParsedOnceAndVerifiesLikeTheText) {
  const TestKey generated = MakeTestKey(Algorithm::kES256, "one-parse");
  Key signer = MustParse(generated.private_jwk);
  TrustStore store;
  store.AddKey(MustParse(generated.public_jwk));
  const std::string token = MustSign(signer, Claims());
  const std::string other = MustSign(signer, Claims(kNow + 60));

  ParsedToken parsed;
  ParseTokenInto(token, 16384, &parsed);
  ASSERT_TRUE(parsed.status.ok()) << parsed.status.failure().detail;
  EXPECT_EQ(parsed.parses, 1u);
  EXPECT_EQ(parsed.jws.header.kid, "one-parse");
  // The same text (also with "Bearer "): nothing decoded again.
  ParseTokenInto(token, 16384, &parsed);
  ParseTokenInto("Bearer " + token, 16384, &parsed);
  EXPECT_EQ(parsed.parses, 1u);
  VerifiedToken verified;
  ASSERT_TRUE(store.VerifyParsedInto(parsed, kNow, options, &verified).ok());
  EXPECT_EQ(verified.claims_json, Claims());
  EXPECT_EQ(parsed.parses, 1u);
  // Another token, or another size limit: parsed afresh, never the old verdict.
  ParseTokenInto(other, 16384, &parsed);
  EXPECT_EQ(parsed.parses, 2u);
  ASSERT_TRUE(store.VerifyParsedInto(parsed, kNow, options, &verified).ok());
  EXPECT_EQ(verified.claims_json, Claims(kNow + 60));
  ParseTokenInto(other, 64, &parsed);
  EXPECT_EQ(parsed.parses, 3u);
  EXPECT_EQ(parsed.status.failure().code, ErrorCode::kTokenTooLarge);
  EXPECT_EQ(store.VerifyParsedInto(parsed, kNow, options, &verified).failure().code,
            ErrorCode::kTokenTooLarge);
  ParseTokenInto(other, 16384, &parsed);
  EXPECT_EQ(parsed.parses, 4u);
  EXPECT_TRUE(parsed.status.ok());

  // The thread's parse (the kid lookup) is what VerifyInto uses, for good and bad tokens
  // alike, with the verdicts Verify gives.
  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  const std::string bad_payload = token.substr(0, token.find('.')) + ".!!!." + "AAAA";
  for (const std::string& text : {token, other, tampered, bad_payload}) {
    SCOPED_TRACE(text);
    const ParsedToken& once = ParseTokenOnce(text, 16384);
    const std::uint64_t parses = once.parses;
    TokenFacts facts;
    const Status status = store.VerifyInto(text, kNow, options, &verified, &facts);
    EXPECT_EQ(once.parses, parses) << "VerifyInto parsed the token again";
    auto fresh = store.Verify(text, kNow, options);
    ASSERT_EQ(status.ok(), fresh.ok());
    if (!status.ok()) {
      EXPECT_EQ(status.failure().code, fresh.failure().code);
      EXPECT_EQ(status.failure().detail, fresh.failure().detail);
    }
  }
  EXPECT_FALSE(ParseTokenOnce(bad_payload, 16384).status.ok());
}

TEST_F(TrustStoreTest, BearerPrefixIsAccepted) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const std::string token = MustSign(*store.FindKey(generated.kid), Claims());
  EXPECT_TRUE(store.Verify("Bearer " + token, kNow, options).ok());
  EXPECT_EQ(FailureOf(store, "bearer " + token).code, ErrorCode::kMalformedToken);
  EXPECT_EQ(FailureOf(store, "Bearer  " + token).code, ErrorCode::kMalformedToken);
  EXPECT_EQ(FailureOf(store, " " + token).code, ErrorCode::kMalformedToken);
  EXPECT_EQ(FailureOf(store, token + "\n").code, ErrorCode::kMalformedToken);
}

TEST_F(TrustStoreTest, SizeCap) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const std::string token = MustSign(*store.FindKey(generated.kid), Claims());
  options.max_token_bytes = token.size();
  EXPECT_TRUE(store.Verify(token, kNow, options).ok());
  options.max_token_bytes = token.size() - 1;
  EXPECT_EQ(FailureOf(store, token).code, ErrorCode::kTokenTooLarge);
}

TEST_F(TrustStoreTest, UnknownKidIsNamedSafely) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  TokenFacts facts;
  Failure failure =
      FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":"abc"})", Claims()), &facts);
  EXPECT_EQ(failure.code, ErrorCode::kUnknownKey);
  EXPECT_EQ(failure.detail, "unknown key id \"abc\"");
  EXPECT_EQ(facts.kid, "abc");
  EXPECT_EQ(facts.sub, "");  // the payload of an unverified token is not read
  failure = FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":"a\"b\u0001\u00e9"})", Claims()));
  EXPECT_EQ(failure.detail, "unknown key id \"a\\x22b\\x01\\xc3\\xa9\"");
  const std::string long_kid(500, 'k');
  failure =
      FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":")" + long_kid + "\"}", Claims()));
  EXPECT_EQ(failure.detail, "unknown key id \"" + std::string(64, 'k') + "\"...");
}

TEST_F(TrustStoreTest, KeyAlgorithmMustEqualTheHeader) {
  const TestKey hs256 = MakeTestKey(Algorithm::kHS256);
  const TestKey hs384 = MakeTestKey(Algorithm::kHS384, "k384");
  TrustStore store;
  store.AddKey(MustParse(hs256.private_jwk));
  // A token claiming HS384 under the HS256 key's kid, MACed correctly with that secret.
  Key as384 = MustParse(R"({"kty":"oct","alg":"HS384","kid":"test-HS256","k":")" +
                        EncodeBase64Url(hs256.secret + std::string(16, 'x')) + "\"}");
  Failure failure =
      FailureOf(store, SignRaw(as384, R"({"alg":"HS384","kid":"test-HS256"})", Claims()));
  EXPECT_EQ(failure.code, ErrorCode::kAlgorithmMismatch);
  EXPECT_EQ(failure.detail, "key \"test-HS256\" is for HS256, not HS384");
}

TEST_F(TrustStoreTest, RsaPublicKeyAsHmacSecretIsRefused) {
  // The classic confusion: HS256 "signed" with the bytes of an RSA public key.
  const TestKey rsa = MakeTestKey(Algorithm::kRS256);
  TrustStore store;
  store.AddKey(MustParse(rsa.public_jwk));
  Key hmac = MustParse(R"({"kty":"oct","alg":"HS256","kid":"x","k":")" +
                       EncodeBase64Url(rsa.public_jwk) + "\"}");
  EXPECT_EQ(FailureOf(store, SignRaw(hmac, R"({"alg":"HS256","kid":"test-RS256"})", Claims())).code,
            ErrorCode::kAlgorithmMismatch);
  EXPECT_EQ(FailureOf(store, SignRaw(hmac, R"({"alg":"HS256"})", Claims())).code,
            ErrorCode::kUnknownKey);
}

TEST_F(TrustStoreTest, WithoutKidEveryKeyOfTheAlgorithmIsTried) {
  const TestKey a = MakeTestKey(Algorithm::kHS256, "a");
  const TestKey b = MakeTestKey(Algorithm::kHS256, "b");
  const TestKey es = MakeTestKey(Algorithm::kES256, "es");
  TrustStore store;
  store.AddKey(MustParse(a.private_jwk));
  store.AddKey(MustParse(es.private_jwk));
  store.AddKey(MustParse(b.private_jwk));
  EXPECT_EQ(store.key_count(), 3u);
  auto result =
      store.Verify(SignRaw(*store.FindKey("b"), R"({"alg":"HS256"})", Claims()), kNow, options);
  ASSERT_TRUE(result.ok()) << result.failure().detail;
  EXPECT_EQ(result.value().kid, "b");

  const TestKey stranger = MakeTestKey(Algorithm::kHS256, "c");
  Failure failure =
      FailureOf(store, SignRaw(MustParse(stranger.private_jwk), R"({"alg":"HS256"})", Claims()));
  EXPECT_EQ(failure.code, ErrorCode::kBadSignature);
  EXPECT_EQ(failure.detail, "signature does not match");

  const TestKey ps = MakeTestKey(Algorithm::kPS256, "ps");
  failure = FailureOf(store, SignRaw(MustParse(ps.private_jwk), R"({"alg":"PS256"})", Claims()));
  EXPECT_EQ(failure.code, ErrorCode::kUnknownKey);
  EXPECT_EQ(failure.detail, "no key for algorithm PS256");
}

TEST_F(TrustStoreTest, EmptyStoreKnowsNoKey) {
  TrustStore store;
  const TestKey a = MakeTestKey(Algorithm::kHS256);
  EXPECT_EQ(FailureOf(store, MustSign(MustParse(a.private_jwk), Claims())).code,
            ErrorCode::kUnknownKey);
  EXPECT_EQ(store.FindKey("test-HS256"), nullptr);
}

TEST_F(TrustStoreTest, AddKeyReplacesTheSameKid) {
  const TestKey first = MakeTestKey(Algorithm::kHS256, "same");
  const TestKey second = MakeTestKey(Algorithm::kES256, "same");
  TrustStore store;
  store.AddKey(MustParse(first.private_jwk));
  const std::string old_token = MustSign(*store.FindKey("same"), Claims());
  store.AddKey(MustParse(second.private_jwk));
  EXPECT_EQ(store.key_count(), 1u);
  EXPECT_EQ(store.FindKey("same")->algorithm(), Algorithm::kES256);
  EXPECT_EQ(FailureOf(store, old_token).code, ErrorCode::kAlgorithmMismatch);
  EXPECT_TRUE(store.Verify(MustSign(*store.FindKey("same"), Claims()), kNow, options).ok());
}

TEST_F(TrustStoreTest, HeaderRulesComeBeforeAnySignatureWork) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  EXPECT_EQ(FailureOf(store, SignRaw(key, R"({"alg":"none","kid":"test-HS256"})", Claims())).code,
            ErrorCode::kUnsupportedAlgorithm);
  EXPECT_EQ(
      FailureOf(store, EncodeBase64Url(R"({"alg":"none"})") + "." + EncodeBase64Url(Claims()) + ".")
          .code,
      ErrorCode::kUnsupportedAlgorithm);
  EXPECT_EQ(FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":"test-HS256","crit":["exp"]})",
                                     Claims()))
                .code,
            ErrorCode::kBadHeader);
  EXPECT_EQ(
      FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":"test-HS256","b64":true})", Claims()))
          .code,
      ErrorCode::kBadHeader);
  EXPECT_EQ(
      FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":"test-HS256","typ":"JOSE"})", Claims()))
          .code,
      ErrorCode::kBadHeader);
  EXPECT_EQ(
      FailureOf(store, SignRaw(key, R"({"alg":"HS256","kid":"test-HS256","cty":"JWT"})", Claims()))
          .code,
      ErrorCode::kBadHeader);
  EXPECT_EQ(
      FailureOf(store,
                SignRaw(key, R"({"alg":"HS256","kid":"test-HS256","kid":"test-HS256"})", Claims()))
          .code,
      ErrorCode::kMalformedJson);
  EXPECT_TRUE(
      store
          .Verify(SignRaw(key, R"({"alg":"HS256","kid":"test-HS256","typ":"at+jwt"})", Claims()),
                  kNow, options)
          .ok());
}

TEST_F(TrustStoreTest, EmbeddedKeysAreNeverUsed) {
  const TestKey trusted = MakeTestKey(Algorithm::kES256, "trusted");
  const TestKey attacker = MakeTestKey(Algorithm::kES256, "trusted");
  TrustStore store;
  store.AddKey(MustParse(trusted.public_jwk));
  const std::string header = R"({"alg":"ES256","kid":"trusted","jwk":)" + attacker.public_jwk + "}";
  EXPECT_EQ(FailureOf(store, SignRaw(MustParse(attacker.private_jwk), header, Claims())).code,
            ErrorCode::kBadHeader);
  // Refused even when the stored key signed it: a token that offers a key is never
  // accepted, so nothing downstream can be tempted to use the offer.
  EXPECT_EQ(FailureOf(store, SignRaw(MustParse(trusted.private_jwk), header, Claims())).code,
            ErrorCode::kBadHeader);
}

TEST_F(TrustStoreTest, PayloadIsReadOnlyAfterTheSignature) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  const TestKey other = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  const Key forger = MustParse(other.private_jwk);
  const std::string header = R"({"alg":"HS256","kid":"test-HS256"})";
  // Badly signed tokens fail on the signature whatever their payload holds.
  for (const std::string& payload :
       {Claims(kNow - 10), std::string("not json"), std::string(R"({"exp":"x"})"),
        std::string(R"({"a":1,"a":2})"), std::string("[]")}) {
    TokenFacts facts;
    EXPECT_EQ(FailureOf(store, SignRaw(forger, header, payload), &facts).code,
              ErrorCode::kBadSignature)
        << payload;
    EXPECT_EQ(facts.kid, "test-HS256");
    EXPECT_EQ(facts.sub, "");
  }
  // Well signed, the same payloads fail on their own merits.
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, Claims(kNow - 10))).code, ErrorCode::kExpired);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, "not json")).code, ErrorCode::kMalformedJson);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, "")).code, ErrorCode::kMalformedJson);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, R"({"exp":"x"})")).code,
            ErrorCode::kBadTimeClaim);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, R"({"exp":1e300})")).code,
            ErrorCode::kBadTimeClaim);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, R"({"exp":null})")).code,
            ErrorCode::kBadTimeClaim);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, R"({"exp":true})")).code,
            ErrorCode::kBadTimeClaim);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, R"({"a":1,"a":2})")).code,
            ErrorCode::kMalformedJson);
  EXPECT_EQ(
      FailureOf(store, SignRaw(key, header, Claims(kNow + 60, R"(,"x":{"y":[{"z":1,"z":2}]})")))
          .code,
      ErrorCode::kMalformedJson);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, "{\"sub\":\"\xff\"}")).code,
            ErrorCode::kMalformedJson);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, R"({"sub":"a\u0000b","exp":1})")).code,
            ErrorCode::kMalformedJson);
  EXPECT_EQ(FailureOf(store, SignRaw(key, header, "[]")).code, ErrorCode::kMalformedJson);
}

TEST_F(TrustStoreTest, FactsFromAVerifiedPayload) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  TokenFacts facts;
  facts.sub = "stale";
  const std::string token =
      MustSign(*store.FindKey(generated.kid),
               R"({"iss":"i","sub":"s","jti":"j","exp":)" + std::to_string(kNow) + "}");
  EXPECT_EQ(FailureOf(store, token, &facts).code, ErrorCode::kExpired);
  EXPECT_EQ(facts.kid, "test-HS256");
  EXPECT_EQ(facts.iss, "i");
  EXPECT_EQ(facts.sub, "s");
  EXPECT_EQ(facts.jti, "j");
  // A token without kid leaves facts.kid empty, whatever was there before.
  const std::string no_kid = SignRaw(*store.FindKey(generated.kid), R"({"alg":"HS256"})", "{}");
  EXPECT_EQ(FailureOf(store, no_kid, &facts).code, ErrorCode::kMissingExpiry);
  EXPECT_EQ(facts.kid, "");
  EXPECT_EQ(facts.sub, "");
}

TEST_F(TrustStoreTest, TimeEdgesThroughVerify) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  const std::string at_now = MustSign(key, Claims(kNow));
  EXPECT_EQ(FailureOf(store, at_now).code, ErrorCode::kExpired);
  EXPECT_EQ(FailureOf(store, MustSign(key, Claims(946684800))).detail,
            "token expired at 2000-01-01 00:00:00+00");
  options.leeway_seconds = 30;
  EXPECT_TRUE(store.Verify(at_now, kNow + 29, options).ok());
  EXPECT_EQ(FailureOf(store, at_now, nullptr, kNow + 30).code, ErrorCode::kExpired);
  const std::string nbf = MustSign(key, Claims(kNow + 100, R"(,"nbf":)" + std::to_string(kNow)));
  options.leeway_seconds = 0;
  EXPECT_TRUE(store.Verify(nbf, kNow, options).ok());
  EXPECT_EQ(FailureOf(store, nbf, nullptr, kNow - 1).code, ErrorCode::kNotYetValid);
  const std::string iat =
      MustSign(key, Claims(kNow + 100, R"(,"iat":)" + std::to_string(kNow + 1)));
  EXPECT_EQ(FailureOf(store, iat).code, ErrorCode::kIssuedInFuture);
  const std::string far = MustSign(key, R"({"exp":9223372036854775807})");
  options.leeway_seconds = 30;
  EXPECT_TRUE(store.Verify(far, kNow, options).ok());
}

TEST_F(TrustStoreTest, RequireExpOption) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const std::string token = MustSign(*store.FindKey(generated.kid), R"({"sub":"a"})");
  EXPECT_EQ(FailureOf(store, token).code, ErrorCode::kMissingExpiry);
  options.require_exp = false;
  EXPECT_TRUE(store.Verify(token, kNow, options).ok());
}

TEST_F(TrustStoreTest, KeyBoundToAnIssuer) {
  const TestKey generated = MakeTestKey(Algorithm::kES256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk), "https://a.example");
  const Key& key = *store.FindKey(generated.kid);
  auto bound =
      store.Verify(MustSign(key, Claims(kNow + 60, R"(,"iss":"https://a.example")")), kNow, options);
  ASSERT_TRUE(bound.ok());
  EXPECT_TRUE(bound.value().key_has_issuer);  // its iss was checked against the key's issuer
  Failure failure =
      FailureOf(store, MustSign(key, Claims(kNow + 60, R"(,"iss":"https://b.example")")));
  EXPECT_EQ(failure.code, ErrorCode::kIssuerMismatch);
  EXPECT_EQ(
      failure.detail,
      "key \"test-ES256\" accepts only issuer \"https://a.example\", not \"https://b.example\"");
  EXPECT_EQ(FailureOf(store, MustSign(key, Claims())).code, ErrorCode::kIssuerMismatch);
  EXPECT_EQ(
      FailureOf(store, MustSign(key, Claims(kNow + 60, R"(,"iss":"https://A.example")"))).code,
      ErrorCode::kIssuerMismatch);
}

// Issue 25: one HMAC secret registered twice, for two issuers (Supabase's Auth server and
// its API keys). A token without kid is accepted when any key that verifies it accepts
// its issuer, whatever the order of the keys.
TEST_F(TrustStoreTest, WithoutKidAnyVerifyingKeyMayAcceptTheIssuer) {
  const TestKey shared = MakeTestKey(Algorithm::kHS256, "unused");
  const TestKey other = MakeTestKey(Algorithm::kHS256, "other");
  // The same secret under two kids, bound to two issuers; another secret bound to a third.
  auto with_kid = [](const std::string& jwk, const std::string& kid) {
    std::string copy = jwk;
    const auto at = copy.find("\"kid\":\"");
    const auto end = copy.find('"', at + 7);
    return copy.replace(at + 7, end - at - 7, kid);
  };
  for (int order = 0; order < 2; ++order) {
    TrustStore store;
    const Key auth = MustParse(with_kid(shared.private_jwk, "auth"));
    if (order == 0) {
      store.AddKey(MustParse(with_kid(shared.private_jwk, "auth")),
                   "https://ref.supabase.co/auth/v1");
      store.AddKey(MustParse(other.private_jwk), "https://third.example");
      store.AddKey(MustParse(with_kid(shared.private_jwk, "api")), "supabase");
    } else {
      store.AddKey(MustParse(with_kid(shared.private_jwk, "api")), "supabase");
      store.AddKey(MustParse(other.private_jwk), "https://third.example");
      store.AddKey(MustParse(with_kid(shared.private_jwk, "auth")),
                   "https://ref.supabase.co/auth/v1");
    }
    const std::string header = R"({"alg":"HS256","typ":"JWT"})";
    auto user = store.Verify(
        SignRaw(auth, header, Claims(kNow + 60, R"(,"iss":"https://ref.supabase.co/auth/v1")")),
        kNow, options);
    ASSERT_TRUE(user.ok()) << order << ": " << user.failure().detail;
    EXPECT_EQ(user.value().kid, "auth");
    auto api_key = store.Verify(SignRaw(auth, header, Claims(kNow + 60, R"(,"iss":"supabase")")),
                                kNow, options);
    ASSERT_TRUE(api_key.ok()) << order << ": " << api_key.failure().detail;
    EXPECT_EQ(api_key.value().kid, "api");
    // No key of that secret accepts a third issuer: the first verifying key's refusal.
    Failure failure = FailureOf(
        store, SignRaw(auth, header, Claims(kNow + 60, R"(,"iss":"https://third.example")")));
    EXPECT_EQ(failure.code, ErrorCode::kIssuerMismatch);
    EXPECT_EQ(failure.detail, std::string("key \"") + (order == 0 ? "auth" : "api") +
                                  "\" accepts only issuer \"" +
                                  (order == 0 ? "https://ref.supabase.co/auth/v1" : "supabase") +
                                  "\", not \"https://third.example\"");
    // The key bound to the third issuer does not verify this secret's signature.
    EXPECT_EQ(FailureOf(store, SignRaw(MustParse(other.private_jwk), header,
                                       Claims(kNow + 60, R"(,"iss":"supabase")")))
                  .code,
              ErrorCode::kIssuerMismatch);
    // With a kid, only that key decides.
    failure = FailureOf(store, SignRaw(auth, R"({"alg":"HS256","kid":"auth"})",
                                       Claims(kNow + 60, R"(,"iss":"supabase")")));
    EXPECT_EQ(failure.code, ErrorCode::kIssuerMismatch);
  }
}

TEST_F(TrustStoreTest, KeyWithoutIssuerAcceptsAnyIssAndSaysSo) {
  // Role bindings for an issuer trust iss only from a key registered for it.
  const TestKey generated = MakeTestKey(Algorithm::kES256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  auto result = store.Verify(
      MustSign(*store.FindKey(generated.kid), Claims(kNow + 60, R"(,"iss":"https://a.example")")),
      kNow, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value().claims.iss, "https://a.example");
  EXPECT_FALSE(result.value().key_has_issuer);
}

TEST_F(TrustStoreTest, DefaultAudiences) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  options.default_audiences = std::vector<std::string>{"api", "web"};
  EXPECT_EQ(FailureOf(store, MustSign(key, Claims())).code, ErrorCode::kAudienceMismatch);
  EXPECT_EQ(FailureOf(store, MustSign(key, Claims(kNow + 60, R"(,"aud":"cli")"))).code,
            ErrorCode::kAudienceMismatch);
  EXPECT_TRUE(
      store.Verify(MustSign(key, Claims(kNow + 60, R"(,"aud":"web")")), kNow, options).ok());
  EXPECT_TRUE(
      store.Verify(MustSign(key, Claims(kNow + 60, R"(,"aud":["x","api"])")), kNow, options).ok());
  EXPECT_EQ(FailureOf(store, MustSign(key, Claims(kNow + 60, R"(,"aud":["x","y"])"))).code,
            ErrorCode::kAudienceMismatch);
  EXPECT_EQ(FailureOf(store, MustSign(key, Claims(kNow + 60, R"(,"aud":5)"))).code,
            ErrorCode::kMalformedJson);
}

TEST_F(TrustStoreTest, IssuerRules) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  IssuerRule rule;
  rule.audiences = std::vector<std::string>{"issuer-api"};
  rule.leeway_seconds = 100;
  rule.max_lifetime_seconds = 600;
  store.SetIssuer("https://i", rule);
  store.SetIssuer("https://only-leeway", IssuerRule{std::nullopt, 5, std::nullopt});
  options.default_audiences = std::vector<std::string>{"default-api"};
  options.leeway_seconds = 0;

  auto claims = [](const std::string& iss, const std::string& aud, std::int64_t exp,
                   std::int64_t iat) {
    return R"({"iss":")" + iss + R"(","aud":")" + aud + R"(","exp":)" + std::to_string(exp) +
           R"(,"iat":)" + std::to_string(iat) + "}";
  };
  // The issuer's audience list replaces the default.
  auto result = store.Verify(MustSign(key, claims("https://i", "issuer-api", kNow + 60, kNow)),
                             kNow, options);
  ASSERT_TRUE(result.ok()) << result.failure().detail;
  EXPECT_EQ(result.value().leeway_seconds, 100);
  EXPECT_EQ(
      FailureOf(store, MustSign(key, claims("https://i", "default-api", kNow + 60, kNow))).code,
      ErrorCode::kAudienceMismatch);
  // The issuer's leeway: expired 50 seconds ago, still inside 100.
  EXPECT_TRUE(store
                  .Verify(MustSign(key, claims("https://i", "issuer-api", kNow - 50, kNow - 60)),
                          kNow, options)
                  .ok());
  EXPECT_EQ(
      FailureOf(store, MustSign(key, claims("https://i", "issuer-api", kNow - 100, kNow - 200)))
          .code,
      ErrorCode::kExpired);
  // Max lifetime 600.
  EXPECT_TRUE(
      store
          .Verify(MustSign(key, claims("https://i", "issuer-api", kNow + 600, kNow)), kNow, options)
          .ok());
  EXPECT_EQ(
      FailureOf(store, MustSign(key, claims("https://i", "issuer-api", kNow + 601, kNow))).code,
      ErrorCode::kLifetimeTooLong);
  EXPECT_EQ(FailureOf(store, MustSign(key, R"({"iss":"https://i","aud":"issuer-api","exp":)" +
                                               std::to_string(kNow + 60) + "}"))
                .code,
            ErrorCode::kLifetimeTooLong);  // no iat
  // A rule without audiences keeps the default list; its leeway applies.
  result =
      store.Verify(MustSign(key, claims("https://only-leeway", "default-api", kNow - 4, kNow - 10)),
                   kNow, options);
  ASSERT_TRUE(result.ok()) << result.failure().detail;
  EXPECT_EQ(result.value().leeway_seconds, 5);
  EXPECT_EQ(
      FailureOf(store, MustSign(key, claims("https://only-leeway", "issuer-api", kNow + 60, kNow)))
          .code,
      ErrorCode::kAudienceMismatch);
  // Another issuer: options apply.
  EXPECT_TRUE(store
                  .Verify(MustSign(key, claims("https://other", "default-api", kNow + 6000, kNow)),
                          kNow, options)
                  .ok());
  EXPECT_EQ(
      FailureOf(store, MustSign(key, claims("https://other", "default-api", kNow, kNow))).code,
      ErrorCode::kExpired);
}

TEST_F(TrustStoreTest, VerifySignatureSkipsThePayload) {
  const TestKey generated = MakeTestKey(Algorithm::kEdDSA);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  auto result = store.VerifySignature(SignRaw(key, R"({"alg":"EdDSA"})", "plain text"), 16384);
  ASSERT_TRUE(result.ok()) << result.failure().detail;
  EXPECT_EQ(result.value().payload_json, "plain text");
  TokenFacts facts;
  auto bad =
      store.VerifySignature(SignRaw(key, R"({"alg":"EdDSA","kid":"zz"})", "x"), 16384, &facts);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.failure().code, ErrorCode::kUnknownKey);
  EXPECT_EQ(facts.kid, "zz");
}

TEST(SignCompact, ClaimsMustBeAStrictObject) {
  const Key key = MustParse(MakeTestKey(Algorithm::kHS256).private_jwk);
  for (const char* bad : {"", "[]", "1", "\"x\"", "{", R"({"a":1,"a":2})", R"({"a":{"b":1,"b":1}})",
                          "{\"a\":\"\xff\"}", R"({"a":"\u0000"})"}) {
    auto result = SignCompact(key, bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.failure().code, ErrorCode::kMalformedJson) << bad;
  }
  EXPECT_TRUE(SignCompact(key, "{}").ok());
}

TEST(SignCompact, PublicKeysCannotSign) {
  const Key key = MustParse(MakeTestKey(Algorithm::kES256).public_jwk);
  auto result = SignCompact(key, "{}");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().code, ErrorCode::kBadKey);
}

TEST(SignCompact, KidIsJsonEscaped) {
  const std::string secret(32, 's');
  const Key key = MustParse(R"({"kty":"oct","alg":"HS256","kid":"we\"ird\\kid\u0001/é","k":")" +
                            EncodeBase64Url(secret) + "\"}");
  ASSERT_EQ(key.kid(), "we\"ird\\kid\x01/\xc3\xa9");
  auto token = SignCompact(key, R"({"exp":1})");
  ASSERT_TRUE(token.ok()) << token.failure().detail;
  auto parsed = ParseCompact(token.value(), 16384);
  ASSERT_TRUE(parsed.ok()) << parsed.failure().detail;
  EXPECT_EQ(parsed.value().header.kid, key.kid());
  TrustStore store;
  store.AddKey(MustParse(R"({"kty":"oct","alg":"HS256","kid":"we\"ird\\kid\u0001/é","k":")" +
                         EncodeBase64Url(secret) + "\"}"));
  VerifyOptions options;
  options.require_exp = false;
  EXPECT_EQ(store.Verify(token.value(), 0, options).ok(), true);
}

}  // namespace
}  // namespace rowguard::core

namespace rowguard::core {
namespace {

// VerifyInto reuses the caller's result between tokens: every field is the new token's,
// nothing of the previous one survives (a claim the new token lacks is absent), and a
// failure in between changes nothing of that.
TEST(VerifyInto, ReusedResultHoldsOnlyTheLatestToken) {
  const TestKey generated = MakeTestKey(Algorithm::kHS256);
  TrustStore store;
  store.AddKey(MustParse(generated.private_jwk));
  const Key& key = *store.FindKey(generated.kid);
  VerifyOptions options;
  VerifiedToken out;
  const std::string full = MustSign(
      key,
      R"({"iss":"https://issuer.example/long/enough/to/allocate","sub":"user-one-with-a-long-id",)"
      R"("jti":"jti-number-one-long-enough-to-allocate","aud":["a","b"],"exp":)" +
          std::to_string(kNow + 60) + "}");
  ASSERT_TRUE(store.VerifyInto(full, kNow, options, &out).ok());
  EXPECT_EQ(out.claims.sub, "user-one-with-a-long-id");
  EXPECT_EQ(out.claims.aud.size(), 2u);

  const std::string bare =
      MustSign(key, R"({"sub":"two","exp":)" + std::to_string(kNow + 60) + "}");
  EXPECT_FALSE(store.VerifyInto(bare + "x", kNow, options, &out).ok());
  ASSERT_TRUE(store.VerifyInto(bare, kNow, options, &out).ok());
  EXPECT_EQ(out.claims.sub, "two");
  EXPECT_FALSE(out.claims.iss.has_value());
  EXPECT_FALSE(out.claims.jti.has_value());
  EXPECT_FALSE(out.claims.has_aud);
  EXPECT_TRUE(out.claims.aud.empty());
  EXPECT_EQ(out.claims_json, R"({"sub":"two","exp":)" + std::to_string(kNow + 60) + "}");
  EXPECT_EQ(out.kid, generated.kid);

  // And the same as Verify gives.
  auto owned = store.Verify(bare, kNow, options);
  ASSERT_TRUE(owned.ok());
  EXPECT_EQ(owned.value().claims_json, out.claims_json);
  EXPECT_EQ(owned.value().claims.sub, out.claims.sub);
  EXPECT_EQ(owned.value().claims.exp, out.claims.exp);
}

}  // namespace
}  // namespace rowguard::core
