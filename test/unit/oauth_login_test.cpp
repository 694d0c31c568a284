// core::CheckOAuthLogin: the decisions of an OAuth sign-in, without a server.
#include <gtest/gtest.h>

#include <string>

#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/oauth_login.hpp"
#include "rowguard/core/trust_store.hpp"
#include "test_keys.hpp"

namespace rowguard::core {
namespace {

constexpr std::int64_t kNow = 1700000000;
constexpr const char* kIss = "https://idp.example/realms/acme";

struct OAuthLoginTest : ::testing::Test {
  test::TestKey test_key = test::MakeTestKey(Algorithm::kES256, "k1");
  Key signer = ParseJwk(test_key.private_jwk).value();
  TrustStore store;
  VerifyOptions options;
  OAuthLoginRequest request;
  std::string token;

  void SetUp() override {
    store.AddKey(ParseJwk(test_key.public_jwk).value(), kIss);
    IssuerRule rule;
    rule.audiences = std::vector<std::string>{"db"};
    store.SetIssuer(kIss, rule);
    request.hba_issuer = kIss;
    request.hba_scope = "openid rowguard";
    request.requested_role = "analyst";
    request.issuer_rule = rule;
  }

  OAuthLoginOutcome Run(const std::string& extra, std::int64_t exp = kNow + 600,
                        const std::string& iss = kIss) {
    const std::string claims = R"({"iss":")" + iss + R"(","sub":"alice","aud":"db","iat":)" +
                               std::to_string(kNow - 10) + R"(,"exp":)" + std::to_string(exp) +
                               extra + "}";
    token = SignCompact(signer, claims).value();
    request.token = token;
    return CheckOAuthLogin(store, request, kNow, options);
  }
};

TEST_F(OAuthLoginTest, AuthorizesAndNamesTheUserWithTheIssuer) {
  const auto out = Run(R"(,"scope":"openid rowguard profile")");
  EXPECT_TRUE(out.authorized) << out.reason;
  EXPECT_EQ(out.authn_id, std::string("alice@") + kIss);
}

TEST_F(OAuthLoginTest, ScpArrayGrantsScopes) {
  EXPECT_TRUE(Run(R"(,"scp":["rowguard"])").authorized);
  EXPECT_TRUE(Run(R"(,"scp":"x rowguard")").authorized);
}

TEST_F(OAuthLoginTest, MissingScopeIsRefused) {
  const auto out = Run(R"(,"scope":"openid other")");
  EXPECT_FALSE(out.authorized);
  EXPECT_EQ(out.reason, "scope \"rowguard\" is missing");
  // The user is known (the token verified), for the log.
  EXPECT_EQ(out.authn_id, std::string("alice@") + kIss);
  EXPECT_FALSE(Run("").authorized);
}

TEST_F(OAuthLoginTest, OidcAndDefaultScopesAreNotRequired) {
  request.hba_scope = "openid offline_access api://db/.default";
  EXPECT_TRUE(Run("").authorized);
  EXPECT_FALSE(OAuthScopeNotRequired("/.default"));
  EXPECT_FALSE(OAuthScopeNotRequired("rowguard"));
}

TEST_F(OAuthLoginTest, OtherIssuerIsRefusedEvenWithAValidKey) {
  TrustStore any;
  any.AddKey(ParseJwk(test_key.public_jwk).value(), "https://other.example");
  IssuerRule rule;
  rule.audiences = std::vector<std::string>{"db"};
  any.SetIssuer("https://other.example", rule);
  request.hba_scope = "";
  store = std::move(any);
  const auto out = Run("", kNow + 600, "https://other.example");
  EXPECT_FALSE(out.authorized);
  EXPECT_EQ(out.failure_class, FailureClass::kIssuer);
  EXPECT_NE(out.reason.find("is not the issuer of the pg_hba line"), std::string::npos);
}

TEST_F(OAuthLoginTest, KeyWithoutIssuerDoesNotOpenASignIn) {
  TrustStore unbound;
  unbound.AddKey(ParseJwk(test_key.public_jwk).value());
  store = std::move(unbound);
  request.hba_scope = "";
  const auto out = Run("");
  EXPECT_FALSE(out.authorized);
  EXPECT_NE(out.reason.find("not bound to issuer"), std::string::npos);
}

TEST_F(OAuthLoginTest, UnregisteredIssuerOrNoAudienceIsRefusedBeforeParsing) {
  request.issuer_rule.reset();
  EXPECT_EQ(Run(",\"scope\":\"rowguard\"").failure_class, FailureClass::kIssuer);
  request.issuer_rule = IssuerRule{};
  const auto out = Run(",\"scope\":\"rowguard\"");
  EXPECT_FALSE(out.authorized);
  EXPECT_EQ(out.reason, std::string("no audience is configured for issuer \"") + kIss + "\"");
  options.default_audiences = std::vector<std::string>{"db"};
  EXPECT_TRUE(Run(",\"scope\":\"rowguard\"").authorized);
}

TEST_F(OAuthLoginTest, ExpiredWrongAudienceAndBadSignatureAreRefused) {
  EXPECT_EQ(Run(",\"scope\":\"rowguard\"", kNow - 100).failure_class, FailureClass::kExpired);
  auto out = Run(R"(,"scope":"rowguard")");
  ASSERT_TRUE(out.authorized);
  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  request.token = tampered;
  EXPECT_EQ(CheckOAuthLogin(store, request, kNow, options).failure_class, FailureClass::kSignature);
  IssuerRule rule;
  rule.audiences = std::vector<std::string>{"other"};
  store.SetIssuer(kIss, rule);
  EXPECT_EQ(Run(R"(,"scope":"rowguard")").failure_class, FailureClass::kAudience);
}

TEST_F(OAuthLoginTest, ATokenWithoutExpIsRefusedEvenIfTheSettingAllowsIt) {
  options.require_exp = false;
  const std::string claims = R"({"iss":")" + std::string(kIss) +
                             R"(","sub":"alice","aud":"db","scope":"rowguard"})";
  token = SignCompact(signer, claims).value();
  request.token = token;
  const auto out = CheckOAuthLogin(store, request, kNow, options);
  EXPECT_FALSE(out.authorized);
}

TEST_F(OAuthLoginTest, SizeIsBoundedBeforeParsing) {
  options.max_token_bytes = 64;
  const auto out = Run(R"(,"scope":"rowguard")");
  EXPECT_FALSE(out.authorized);
  EXPECT_EQ(out.failure_class, FailureClass::kMalformed);
  EXPECT_NE(out.reason.find("max_token_bytes"), std::string::npos);
}

TEST_F(OAuthLoginTest, AuthnClaimMustBeAString) {
  request.authn_claim = "/email";
  EXPECT_FALSE(Run(R"(,"scope":"rowguard")").authorized);
  const auto out = Run(R"(,"scope":"rowguard","email":"a@b.example")");
  EXPECT_TRUE(out.authorized);
  EXPECT_EQ(out.authn_id, std::string("a@b.example@") + kIss);
  request.authn_claim = "org.id";
  EXPECT_FALSE(Run(R"(,"scope":"rowguard","org":{"id":7})").authorized);
  EXPECT_TRUE(Run(R"(,"scope":"rowguard","org":{"id":"7"})").authorized);
}

TEST_F(OAuthLoginTest, DelegatedMappingNeedsTheRoleClaimToNameTheRequestedRole) {
  request.delegate_ident_mapping = true;
  EXPECT_TRUE(Run(R"(,"scope":"rowguard","role":"analyst")").authorized);
  auto out = Run(R"(,"scope":"rowguard","role":"admin")");
  EXPECT_FALSE(out.authorized);
  EXPECT_EQ(out.failure_class, FailureClass::kRole);
  EXPECT_FALSE(Run(R"(,"scope":"rowguard")").authorized);
  EXPECT_FALSE(Run(R"(,"scope":"rowguard","role":["analyst"])").authorized);
  request.role_claim = "/db/roles/0";
  EXPECT_TRUE(Run(R"(,"scope":"rowguard","db":{"roles":["analyst","x"]})").authorized);
  EXPECT_FALSE(Run(R"(,"scope":"rowguard","db":{"roles":["x","analyst"]})").authorized);
}

TEST_F(OAuthLoginTest, ReasonsNeverQuoteTheToken) {
  request.token = "eyJhbGciOiJFUzI1NiJ9.garbage.sig";
  const auto out = CheckOAuthLogin(store, request, kNow, options);
  EXPECT_FALSE(out.authorized);
  EXPECT_EQ(out.reason.find("garbage"), std::string::npos);
}

TEST(FindStringClaim, Paths) {
  const char* json = R"({"a":{"b":"x"},"l":["p","q"],"s~/t":"y","n":1})";
  EXPECT_EQ(FindStringClaim(json, "a.b").value_or("-"), "x");
  EXPECT_EQ(FindStringClaim(json, "/l/1").value_or("-"), "q");
  EXPECT_EQ(FindStringClaim(json, "/s~0~1t").value_or("-"), "y");
  EXPECT_FALSE(FindStringClaim(json, "l.1").has_value());
  EXPECT_FALSE(FindStringClaim(json, "/l/01").has_value());
  EXPECT_FALSE(FindStringClaim(json, "n").has_value());
  EXPECT_FALSE(FindStringClaim(json, "/x~2").has_value());
  EXPECT_FALSE(FindStringClaim("[1]", "a").has_value());
}

}  // namespace
}  // namespace rowguard::core
