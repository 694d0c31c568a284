// ParseRegisteredClaims and CheckClaims with an injected clock.
#include "rowguard/core/claims.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace rowguard::core {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kNow = 1700000000;  // 2023-11-14 22:13:20 UTC

RegisteredClaims Parse(std::string_view json) {
  auto result = ParseRegisteredClaims(json);
  EXPECT_TRUE(result.ok()) << json << ": " << (result.ok() ? "" : result.failure().detail);
  return result.ok() ? result.value() : RegisteredClaims{};
}

ErrorCode ParseCode(std::string_view json) {
  auto result = ParseRegisteredClaims(json);
  EXPECT_FALSE(result.ok()) << json;
  return result.ok() ? ErrorCode::kInternal : result.failure().code;
}

ErrorCode CheckCode(const RegisteredClaims& claims, const ClaimRules& rules, std::int64_t now) {
  Status status = CheckClaims(claims, rules, now);
  EXPECT_FALSE(status.ok());
  return status.ok() ? ErrorCode::kInternal : status.failure().code;
}

ClaimRules Leeway(std::int64_t seconds, bool require_exp = false) {
  ClaimRules rules;
  rules.leeway_seconds = seconds;
  rules.require_exp = require_exp;
  return rules;
}

TEST(ParseRegisteredClaims, ReadsEveryRegisteredClaim) {
  const RegisteredClaims c = Parse(
      R"({"iss":"https://issuer","sub":"user-1","aud":"api","exp":1700000100,"nbf":1699999000,)"
      R"("iat":1699999999,"jti":"id-7","roles":["a"],"nested":{"exp":"not read"}})");
  EXPECT_EQ(c.iss, "https://issuer");
  EXPECT_EQ(c.sub, "user-1");
  EXPECT_EQ(c.jti, "id-7");
  EXPECT_EQ(c.exp, 1700000100);
  EXPECT_EQ(c.nbf, 1699999000);
  EXPECT_EQ(c.iat, 1699999999);
  EXPECT_TRUE(c.has_aud);
  EXPECT_EQ(c.aud, std::vector<std::string>{"api"});
}

TEST(ParseRegisteredClaims, EmptyObjectHasNothing) {
  const RegisteredClaims c = Parse("{}");
  EXPECT_FALSE(c.exp || c.nbf || c.iat || c.iss || c.sub || c.jti);
  EXPECT_FALSE(c.has_aud);
}

TEST(ParseRegisteredClaims, AudienceArray) {
  RegisteredClaims c = Parse(R"({"aud":["a","b"]})");
  EXPECT_EQ(c.aud, (std::vector<std::string>{"a", "b"}));
  c = Parse(R"({"aud":[]})");
  EXPECT_TRUE(c.has_aud);
  EXPECT_TRUE(c.aud.empty());
  EXPECT_EQ(ParseCode(R"({"aud":["a",1]})"), ErrorCode::kMalformedJson);
  EXPECT_EQ(ParseCode(R"({"aud":1})"), ErrorCode::kMalformedJson);
  EXPECT_EQ(ParseCode(R"({"aud":null})"), ErrorCode::kMalformedJson);
  EXPECT_EQ(ParseCode(R"({"aud":{"a":1}})"), ErrorCode::kMalformedJson);
  EXPECT_EQ(ParseCode(R"({"aud":[["a"]]})"), ErrorCode::kMalformedJson);
}

TEST(ParseRegisteredClaims, StringClaimsMustBeStrings) {
  for (const char* name : {"iss", "sub", "jti"}) {
    for (const char* value : {"1", "null", "true", "[\"a\"]", "{}"}) {
      const std::string json = std::string("{\"") + name + "\":" + value + "}";
      EXPECT_EQ(ParseCode(json), ErrorCode::kMalformedJson) << json;
    }
  }
  auto result = ParseRegisteredClaims(R"({"sub":5})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().detail, "\"sub\" claim is not a string");
}

TEST(ParseRegisteredClaims, TimesAcceptIntegersAndFloorFractions) {
  EXPECT_EQ(Parse(R"({"exp":0})").exp, 0);
  EXPECT_EQ(Parse(R"({"exp":-5})").exp, -5);
  EXPECT_EQ(Parse(R"({"exp":1.9})").exp, 1);
  EXPECT_EQ(Parse(R"({"exp":-1.5})").exp, -2);
  EXPECT_EQ(Parse(R"({"exp":1e3})").exp, 1000);
  EXPECT_EQ(Parse(R"({"exp":1700000000.0})").exp, 1700000000);
  EXPECT_EQ(Parse(R"({"exp":9223372036854775807})").exp, kMax);
  EXPECT_EQ(Parse(R"({"exp":-9223372036854775808})").exp, kMin);
  EXPECT_EQ(Parse(R"({"nbf":-9.2e18})").nbf, -9200000000000000000);
  EXPECT_EQ(Parse(R"({"iat":9.2e18})").iat, 9200000000000000000);
}

TEST(ParseRegisteredClaims, TimesThatAreNotInt64NumericDatesAreRejected) {
  for (const char* name : {"exp", "nbf", "iat"}) {
    for (const char* value : {"\"1700000000\"", "true", "false", "null", "[1]", "{}", "1e300",
                              "-1e300", "9223372036854775808", "18446744073709551615", "9.3e18",
                              "-9.3e18", "9223372036854775808.0"}) {
      const std::string json = std::string("{\"") + name + "\":" + value + "}";
      EXPECT_EQ(ParseCode(json), ErrorCode::kBadTimeClaim) << json;
    }
  }
  auto result = ParseRegisteredClaims(R"({"exp":"soon"})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().detail, "\"exp\" claim is not a number");
}

TEST(ParseRegisteredClaims, ByteOrderMarkIsNotJson) {
  // Whatever the linked simdjson does with a BOM (3.0 refuses it, later releases skip it).
  auto result = ParseRegisteredClaims("\xEF\xBB\xBF{\"exp\":1}");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.failure().code, ErrorCode::kMalformedJson);
  EXPECT_EQ(result.failure().detail, "payload is not valid JSON");
  EXPECT_TRUE(ParseRegisteredClaims("{\"exp\":1}").ok());
}

TEST(ParseRegisteredClaims, NumbersBeyondDoubleFailAsJson) {
  // simdjson refuses literals that overflow a double or uint64: still a rejection.
  EXPECT_FALSE(ParseRegisteredClaims(R"({"exp":1e400})").ok());
  EXPECT_FALSE(ParseRegisteredClaims(R"({"exp":123456789012345678901234567890})").ok());
}

TEST(ParseRegisteredClaims, PayloadMustBeAStrictObject) {
  for (const char* bad :
       {"", "It's a dangerous business", "[]", "\"x\"", "1", "null", "{", "{\"a\":1,}",
        R"({"exp":1,"exp":2})", R"({"sub":"a","sub":"a"})", R"({"x":{"y":1,"y":1}})",
        R"({"x":[{"y":1,"y":1}]})", "{\"sub\":\"\xff\"}", "{\"sub\":\"\xc0\xaf\"}",
        R"({"sub":"a\u0000"})", R"({"x\u0000":1})", R"({"sub":"\udc00"})"}) {
    EXPECT_EQ(ParseCode(bad), ErrorCode::kMalformedJson) << bad;
  }
  std::string deep = "{\"x\":";
  for (int i = 0; i < 100; ++i) deep += "{\"x\":";
  deep += "1";
  for (int i = 0; i < 101; ++i) deep += "}";
  EXPECT_EQ(ParseCode(deep), ErrorCode::kMalformedJson);
}

TEST(CheckClaims, ExpiryEdgeWithoutLeeway) {
  RegisteredClaims c;
  c.exp = kNow;
  EXPECT_EQ(CheckCode(c, Leeway(0), kNow), ErrorCode::kExpired);  // exp == now fails
  EXPECT_TRUE(CheckClaims(c, Leeway(0), kNow - 1).ok());
  EXPECT_EQ(CheckCode(c, Leeway(0), kNow + 1), ErrorCode::kExpired);
}

TEST(CheckClaims, ExpiryEdgeWithLeeway) {
  RegisteredClaims c;
  c.exp = kNow;
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kNow).ok());
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kNow + 29).ok());
  EXPECT_EQ(CheckCode(c, Leeway(30), kNow + 30), ErrorCode::kExpired);
}

TEST(CheckClaims, NotBeforeEdges) {
  RegisteredClaims c;
  c.nbf = kNow;
  EXPECT_TRUE(CheckClaims(c, Leeway(0), kNow).ok());  // nbf == now passes
  EXPECT_EQ(CheckCode(c, Leeway(0), kNow - 1), ErrorCode::kNotYetValid);
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kNow - 30).ok());
  EXPECT_EQ(CheckCode(c, Leeway(30), kNow - 31), ErrorCode::kNotYetValid);
}

TEST(CheckClaims, IssuedAtMayNotBeInTheFuture) {
  RegisteredClaims c;
  c.iat = kNow;
  EXPECT_TRUE(CheckClaims(c, Leeway(0), kNow).ok());
  c.iat = kNow + 1;
  EXPECT_EQ(CheckCode(c, Leeway(0), kNow), ErrorCode::kIssuedInFuture);
  c.iat = kNow + 30;
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kNow).ok());
  c.iat = kNow + 31;
  EXPECT_EQ(CheckCode(c, Leeway(30), kNow), ErrorCode::kIssuedInFuture);
}

TEST(CheckClaims, RequireExp) {
  RegisteredClaims c;
  EXPECT_EQ(CheckCode(c, Leeway(0, true), kNow), ErrorCode::kMissingExpiry);
  EXPECT_TRUE(CheckClaims(c, Leeway(0, false), kNow).ok());
  c.exp = kNow + 10;
  EXPECT_TRUE(CheckClaims(c, Leeway(0, true), kNow).ok());
  EXPECT_TRUE(CheckClaims(c, ClaimRules{}, kNow).ok());  // defaults: leeway 30, require_exp
}

TEST(CheckClaims, NoOverflowAtTheEdges) {
  RegisteredClaims c;
  c.exp = kMax;
  EXPECT_TRUE(CheckClaims(c, Leeway(kMax), kNow).ok());
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kMax - 1).ok());
  EXPECT_EQ(CheckCode(c, Leeway(30), kMax), ErrorCode::kExpired);
  c.exp = kMin;
  EXPECT_EQ(CheckCode(c, Leeway(30), kNow), ErrorCode::kExpired);
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kMin).ok());  // kMin + 30 is still ahead
  c = RegisteredClaims{};
  c.nbf = kMin;
  EXPECT_TRUE(CheckClaims(c, Leeway(kMax), kMin).ok());
  c.nbf = kMax;
  EXPECT_EQ(CheckCode(c, Leeway(30), kNow), ErrorCode::kNotYetValid);
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kMax).ok());
  c = RegisteredClaims{};
  c.iat = kMax;
  EXPECT_TRUE(CheckClaims(c, Leeway(30), kMax).ok());
  EXPECT_EQ(CheckCode(c, Leeway(30), kNow), ErrorCode::kIssuedInFuture);
  c.iat = kMin;
  EXPECT_TRUE(CheckClaims(c, Leeway(kMax), kMax).ok());
  // Negative leeway saturates the other way and never wraps.
  c = RegisteredClaims{};
  c.exp = kMin + 5;
  EXPECT_EQ(CheckCode(c, Leeway(kMin), kMin), ErrorCode::kExpired);
}

TEST(CheckClaims, Audience) {
  ClaimRules rules = Leeway(0);
  rules.audiences = std::vector<std::string>{"api", "admin"};
  RegisteredClaims c;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kAudienceMismatch);  // no aud at all
  c.has_aud = true;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kAudienceMismatch);  // aud: []
  c.aud = {"web"};
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kAudienceMismatch);
  c.aud = {"API"};  // exact, case-sensitive
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kAudienceMismatch);
  c.aud = {"web", "admin"};
  EXPECT_TRUE(CheckClaims(c, rules, kNow).ok());
  c.aud = {"api"};
  EXPECT_TRUE(CheckClaims(c, rules, kNow).ok());
  rules.audiences = std::vector<std::string>{};  // an empty list accepts nothing
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kAudienceMismatch);
  rules.audiences.reset();  // no list: aud is not looked at
  c = RegisteredClaims{};
  EXPECT_TRUE(CheckClaims(c, rules, kNow).ok());
}

TEST(CheckClaims, Issuer) {
  ClaimRules rules = Leeway(0);
  rules.issuer = "https://a";
  RegisteredClaims c;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kIssuerMismatch);
  c.iss = "https://a/";
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kIssuerMismatch);
  c.iss = "https://a";
  EXPECT_TRUE(CheckClaims(c, rules, kNow).ok());
}

TEST(CheckClaims, MaxLifetime) {
  ClaimRules rules = Leeway(0);
  rules.max_lifetime_seconds = 3600;
  RegisteredClaims c;
  c.iat = kNow;
  c.exp = kNow + 3600;
  EXPECT_TRUE(CheckClaims(c, rules, kNow).ok());
  c.exp = kNow + 3601;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kLifetimeTooLong);
  c.iat.reset();
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kLifetimeTooLong);  // missing iat
  c.iat = kNow;
  c.exp.reset();
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kLifetimeTooLong);  // missing exp
  // exp - iat overflows int64: still "too long", not wrapped into a small number.
  c.iat = kMin;
  c.exp = kMax;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kLifetimeTooLong);
  c.iat = kMin + kNow;  // a long-past iat
  rules.max_lifetime_seconds = kMax;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kLifetimeTooLong);
}

TEST(CheckClaims, DetailsAreOneReadableLine) {
  RegisteredClaims c;
  c.exp = 946684800;  // 2000-01-01 00:00:00 UTC
  Status status = CheckClaims(c, Leeway(0), kNow);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.failure().detail, "token expired at 2000-01-01 00:00:00+00");
  c = RegisteredClaims{};
  c.nbf = 4102444800;  // 2100-01-01
  status = CheckClaims(c, Leeway(0), kNow);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.failure().detail, "token is not valid before 2100-01-01 00:00:00+00");
  c = RegisteredClaims{};
  c.nbf = kMax;  // beyond gmtime_r: printed as seconds, still one line
  status = CheckClaims(c, Leeway(0), kNow);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.failure().detail.find('\n'), std::string::npos);
  EXPECT_NE(status.failure().detail.find("9223372036854775807"), std::string::npos);
  ClaimRules rules = Leeway(0);
  rules.audiences = std::vector<std::string>{"api"};
  c = RegisteredClaims{};
  c.has_aud = true;
  c.aud = {"we\"b\n"};
  status = CheckClaims(c, rules, kNow);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.failure().detail, "token audience \"we\\x22b\\x0a\" is not accepted");
}

TEST(CheckTimes, OnlyExpAndNbf) {
  RegisteredClaims c;
  c.iat = kNow + 1000;  // not looked at
  EXPECT_TRUE(CheckTimes(c, 0, kNow).ok());
  c.exp = kNow;
  EXPECT_EQ(CheckTimes(c, 0, kNow).failure().code, ErrorCode::kExpired);
  EXPECT_TRUE(CheckTimes(c, 1, kNow).ok());
  c.exp.reset();
  c.nbf = kNow + 1;
  EXPECT_EQ(CheckTimes(c, 0, kNow).failure().code, ErrorCode::kNotYetValid);
  EXPECT_TRUE(CheckTimes(c, 1, kNow).ok());
}

TEST(CheckClaims, OrderIsFixed) {
  // Missing exp is reported before an audience problem, expiry before iat.
  ClaimRules rules = Leeway(0, true);
  rules.audiences = std::vector<std::string>{"api"};
  RegisteredClaims c;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kMissingExpiry);
  c.exp = kNow - 1;
  c.iat = kNow + 100;
  EXPECT_EQ(CheckCode(c, rules, kNow), ErrorCode::kExpired);
}

}  // namespace
}  // namespace rowguard::core
