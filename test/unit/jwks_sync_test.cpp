// DiffKeySets / PlanJwksSync (rowguard.sync_jwks) and the pure parts of the HTTPS
// fetch: Cache-Control max-age and which URLs count as https.
#include "rowguard/core/jwks_sync.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rowguard/core/https_fetch.hpp"
#include "rowguard/core/https_url.hpp"

namespace rowguard::core {
namespace {

std::string Steps(const Result<std::vector<SyncStep>>& result) {
  if (!result.ok()) return "error: " + result.failure().detail;
  std::string out;
  for (const SyncStep& step : result.value()) {
    out += step.kid + "=" + SyncActionName(step.action) + " ";
  }
  return out;
}

TEST(DiffKeySets, AddsKeepsReplacesRemoves) {
  const std::vector<KeyFingerprint> stored = {
      {"a", "RS256", "ta"}, {"b", "RS256", "tb"}, {"c", "ES256", "tc"}};
  const std::vector<KeyFingerprint> incoming = {
      {"d", "RS256", "td"}, {"b", "RS256", "tb2"}, {"a", "RS256", "ta"}};
  EXPECT_EQ(Steps(DiffKeySets(stored, incoming)), "a=kept b=replaced c=removed d=added ");
}

TEST(DiffKeySets, SameThumbprintOtherAlgorithmIsReplaced) {
  EXPECT_EQ(Steps(DiffKeySets({{"a", "RS256", "t"}}, {{"a", "PS256", "t"}})), "a=replaced ");
}

TEST(DiffKeySets, UnparsableStoredRowIsReplaced) {
  // An empty thumbprint (the stored row no longer parses) never equals anything.
  EXPECT_EQ(Steps(DiffKeySets({{"a", "RS256", ""}}, {{"a", "RS256", ""}})), "a=replaced ");
}

TEST(DiffKeySets, EmptyStoreAddsEverything) {
  EXPECT_EQ(Steps(DiffKeySets({}, {{"x", "EdDSA", "1"}, {"w", "EdDSA", "2"}})), "w=added x=added ");
}

TEST(DiffKeySets, RefusesEmptySet) {
  auto result = DiffKeySets({{"a", "RS256", "t"}}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().code, ErrorCode::kBadKey);
  EXPECT_NE(result.failure().detail.find("without keys"), std::string::npos);
}

TEST(DiffKeySets, RefusesRepeatedKid) {
  auto result = DiffKeySets({}, {{"a", "RS256", "1"}, {"a", "RS256", "2"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().code, ErrorCode::kBadKey);
}

const std::string kP256 =
    R"({"kty":"EC","crv":"P-256","x":"GAGpLYzYp_90x2s3nIhCIm2dS89KxIwMWZA5HKaGaOk","y":"Vnd9it229Zb_2PMnekSYo_DEYXxsFNfESTdsGlQgoik")";
const std::string kEd25519 =
    R"({"kty":"OKP","crv":"Ed25519","x":"x7SMB7By-Y_8uL-GvQRonwhiT4fpZU9_psXl7ugmgmU")";
const std::string k32 =
    R"({"kty":"oct","alg":"HS256","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"})";

std::string PlanText(const Result<SyncPlan>& plan) {
  if (!plan.ok()) return "error: " + plan.failure().detail;
  std::string out;
  for (const SyncStep& step : plan.value().steps) {
    out += step.kid + "=" + SyncActionName(step.action) + " ";
  }
  return out;
}

TEST(PlanJwksSync, SameMaterialUnderNewMembersIsKept) {
  // x5t, use and key order do not change the material.
  const std::vector<StoredKeyRow> stored = {{"k1", "ES256", kP256 + R"(,"kid":"k1"})"}};
  const std::string set =
      R"({"keys":[{"use":"sig","kid":"k1","x5t":"abc",)" + kP256.substr(1) + "}]}";
  EXPECT_EQ(PlanText(PlanJwksSync(stored, set, true)), "k1=kept ");
}

TEST(PlanJwksSync, OtherMaterialUnderSameKidIsReplaced) {
  const std::vector<StoredKeyRow> stored = {{"k1", "ES256", kP256 + R"(,"kid":"k1"})"}};
  const std::string set = R"({"keys":[)" + kEd25519 + R"(,"kid":"k1"}]})";
  auto plan = PlanJwksSync(stored, set, true);
  EXPECT_EQ(PlanText(plan), "k1=replaced ");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.value().incoming.at(0).fingerprint.alg, "EdDSA");
}

TEST(PlanJwksSync, EncryptionKeysAreLeftOut) {
  const std::string set = R"({"keys":[{"use":"enc","kty":"RSA","n":"x","e":"AQAB","kid":"e"},)" +
                          kEd25519 + R"(,"kid":"s"}]})";
  auto plan = PlanJwksSync({}, set, true);
  EXPECT_EQ(PlanText(plan), "s=added ");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.value().skipped_encryption_keys, 1);
}

TEST(PlanJwksSync, OnlyEncryptionKeysLeavesNoKey) {
  EXPECT_EQ(PlanText(PlanJwksSync({{"a", "RS256", "{}"}},
                                  R"({"keys":[{"use":"enc","kty":"RSA","kid":"e"}]})", true)),
            "error: the JWK Set holds no signing key: the issuer would be left without keys");
}

TEST(PlanJwksSync, OneBadKeyFailsTheSet) {
  const std::string set =
      R"({"keys":[)" + kEd25519 + R"(,"kid":"s"},{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"}]})";
  auto plan = PlanJwksSync({}, set, true);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.failure().code, ErrorCode::kBadKey);
}

TEST(PlanJwksSync, PublishedSetMustNotHoldSecrets) {
  const std::string set = R"({"keys":[)" + k32 + "]}";
  auto published = PlanJwksSync({}, set, true);
  ASSERT_FALSE(published.ok());
  EXPECT_NE(published.failure().detail.find("secret or private key"), std::string::npos);
  // By hand (sync_jwks) a set of secrets is allowed, as add_jwks allows it.
  ASSERT_TRUE(PlanJwksSync({}, set, false).ok());
  EXPECT_EQ(PlanJwksSync({}, set, false).value().steps.at(0).action, SyncAction::kAdded);
}

TEST(PlanJwksSync, NotASet) {
  EXPECT_FALSE(PlanJwksSync({}, "[]", true).ok());
  EXPECT_FALSE(PlanJwksSync({}, "{\"keys\":{}}", true).ok());
  EXPECT_FALSE(PlanJwksSync({}, "<html>", true).ok());
}

TEST(CacheControlMaxAge, Parses) {
  EXPECT_EQ(CacheControlMaxAge(" public, max-age=3600, must-revalidate\r\n"), 3600);
  EXPECT_EQ(CacheControlMaxAge("max-age=\"60\""), 60);
  EXPECT_EQ(CacheControlMaxAge("no-store"), 0);
  EXPECT_EQ(CacheControlMaxAge("public, no-cache"), 0);
  EXPECT_EQ(CacheControlMaxAge("public"), std::nullopt);
  EXPECT_EQ(CacheControlMaxAge("max-age=-5"), std::nullopt);
  EXPECT_EQ(CacheControlMaxAge("max-age=99999999999999"), std::nullopt);
  EXPECT_EQ(CacheControlMaxAge(""), std::nullopt);
}

TEST(HttpsHost, OnlyHttpsWithAHost) {
  EXPECT_EQ(HttpsHost("https://Example.COM/.well-known/jwks.json"), "example.com");
  EXPECT_EQ(HttpsHost("https://127.0.0.1:8443/x"), "127.0.0.1:8443");
  EXPECT_EQ(HttpsHost("http://example.com/"), std::nullopt);
  EXPECT_EQ(HttpsHost("file:///etc/passwd"), std::nullopt);
  EXPECT_EQ(HttpsHost("https://user:pw@example.com/"), std::nullopt);
  EXPECT_EQ(HttpsHost("example.com/jwks"), std::nullopt);
  EXPECT_EQ(HttpsHost("https:///jwks"), std::nullopt);
  EXPECT_EQ(HttpsHost("HTTPS://Example.com"), "example.com");
  EXPECT_EQ(HttpsHost(""), std::nullopt);
}

TEST(HttpsGet, RefusesOtherSchemesWithoutConnecting) {
  FetchOptions options;
  EXPECT_EQ(HttpsGet("http://127.0.0.1:1/", options).failure, FetchFailure::kBadUrl);
  EXPECT_EQ(HttpsGet("ftp://127.0.0.1/", options).failure, FetchFailure::kBadUrl);
}

TEST(HttpsGet, ConnectionRefusedIsAConnectFailure) {
  FetchOptions options;
  options.timeout_ms = 2000;
  EXPECT_EQ(HttpsGet("https://127.0.0.1:1/", options).failure, FetchFailure::kConnect);
}

}  // namespace
}  // namespace rowguard::core
