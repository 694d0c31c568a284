// ParseCompact and StripBearer: every header and segment rule, without keys (the
// signature is not checked here).
#include "rowguard/core/jws.hpp"

#include <gtest/gtest.h>

#include <string>

#include "rowguard/core/base64url.hpp"

namespace rowguard::core {
namespace {

constexpr std::size_t kMax = 16384;

std::string Token(std::string_view header, std::string_view payload = R"({"sub":"a"})",
                  std::string_view signature = "signature") {
  return EncodeBase64Url(header) + "." + EncodeBase64Url(payload) + "." +
         EncodeBase64Url(signature);
}

ErrorCode CodeOf(std::string_view token, std::size_t max = kMax) {
  auto result = ParseCompact(token, max);
  EXPECT_FALSE(result.ok()) << token;
  return result.ok() ? ErrorCode::kInternal : result.failure().code;
}

std::string DetailOf(std::string_view token) {
  auto result = ParseCompact(token, kMax);
  return result.ok() ? std::string("<accepted>") : result.failure().detail;
}

TEST(StripBearer, StripsExactlyOneLeadingBearerAndSpace) {
  EXPECT_EQ(StripBearer("Bearer abc"), "abc");
  EXPECT_EQ(StripBearer("abc"), "abc");
  EXPECT_EQ(StripBearer("Bearer Bearer abc"), "Bearer abc");
  EXPECT_EQ(StripBearer("bearer abc"), "bearer abc");
  EXPECT_EQ(StripBearer("Bearer  abc"), " abc");
  EXPECT_EQ(StripBearer("Bearerabc"), "Bearerabc");
  EXPECT_EQ(StripBearer(" Bearer abc"), " Bearer abc");
  EXPECT_EQ(StripBearer("Bearer "), "");
  EXPECT_EQ(StripBearer(""), "");
}

TEST(ParseCompact, AcceptsAMinimalToken) {
  const std::string token = Token(R"({"alg":"HS256","kid":"k1"})");
  auto result = ParseCompact(token, kMax);
  ASSERT_TRUE(result.ok()) << result.failure().detail;
  const CompactJws& jws = result.value();
  EXPECT_EQ(jws.header.alg, Algorithm::kHS256);
  EXPECT_TRUE(jws.header.has_kid);
  EXPECT_EQ(jws.header.kid, "k1");
  EXPECT_EQ(jws.payload_json, R"({"sub":"a"})");
  EXPECT_EQ(jws.signature, "signature");
  EXPECT_EQ(jws.signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(jws.signing_input.data(), token.data());  // a view, not a copy
}

TEST(ParseCompact, EveryAlgorithmName) {
  for (const char* name : {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                           "PS512", "ES256", "ES384", "ES512", "EdDSA"}) {
    auto result = ParseCompact(Token(std::string(R"({"alg":")") + name + "\"}"), kMax);
    ASSERT_TRUE(result.ok()) << name;
    EXPECT_EQ(AlgorithmName(result.value().header.alg), name);
    EXPECT_FALSE(result.value().header.has_kid);
  }
}

TEST(ParseCompact, SizeCapComesFirst) {
  const std::string token = Token(R"({"alg":"HS256"})");
  EXPECT_TRUE(ParseCompact(token, token.size()).ok());
  EXPECT_EQ(CodeOf(token, token.size() - 1), ErrorCode::kTokenTooLarge);
  // Even garbage is refused by size before anything looks at it.
  EXPECT_EQ(CodeOf(std::string(100, '!'), 99), ErrorCode::kTokenTooLarge);
  EXPECT_EQ(CodeOf(std::string(100, '!'), 100), ErrorCode::kMalformedToken);
}

TEST(ParseCompact, RejectsWrongSegmentCounts) {
  const std::string good = Token(R"({"alg":"HS256"})");
  const std::string header = good.substr(0, good.find('.'));
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."),
                                 std::string("..."), header, header + ".e30", header + ".e30.c2ln.",
                                 header + ".e30.c2ln.c2ln", good + ".", "." + good}) {
    EXPECT_EQ(CodeOf(bad), ErrorCode::kMalformedToken) << bad;
  }
}

TEST(ParseCompact, RejectsEmptyHeaderAndSignature) {
  const std::string good = Token(R"({"alg":"HS256"})");
  const std::size_t last_dot = good.rfind('.');
  EXPECT_EQ(CodeOf(good.substr(0, last_dot + 1)), ErrorCode::kMalformedToken);
  EXPECT_EQ(DetailOf(good.substr(0, last_dot + 1)), "signature segment is empty");
  EXPECT_EQ(CodeOf(good.substr(good.find('.'))), ErrorCode::kMalformedToken);
}

TEST(ParseCompact, AcceptsAnEmptyPayload) {
  // RFC 7515 allows it; JWT rules later refuse a payload that is not an object.
  auto result = ParseCompact(Token(R"({"alg":"HS256"})", ""), kMax);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value().payload_json, "");
}

TEST(ParseCompact, RejectsEveryCharacterOutsideTheAlphabet) {
  const std::string good = Token(R"({"alg":"HS256"})");
  ASSERT_TRUE(ParseCompact(good, kMax).ok());
  const std::size_t dot1 = good.find('.'), dot2 = good.rfind('.');
  // Insert a stray character at the start, middle and end of each segment.
  for (const char* stray : {"=", "==", " ", "\n", "\t", "+", "/", "?", "\\", "%", "\x80", "\0"}) {
    const std::string s(stray, std::char_traits<char>::length(stray) == 0
                                   ? 1
                                   : std::char_traits<char>::length(stray));
    for (std::size_t at : {std::size_t{0}, dot1 / 2, dot1, dot1 + 1, dot2, dot2 + 1, good.size()}) {
      std::string bad = good;
      bad.insert(at, s);
      EXPECT_EQ(CodeOf(bad), ErrorCode::kMalformedToken) << "at " << at << " char " << int(s[0]);
    }
  }
}

TEST(ParseCompact, RejectsPaddingAndNonCanonicalEncodings) {
  // "e30" is {} ; "e30=" is padded; the header "eyJ...fQ" with '=' appended.
  const std::string header = EncodeBase64Url(R"({"alg":"HS256"})");
  EXPECT_EQ(CodeOf(header + "=.e30.c2ln"), ErrorCode::kMalformedToken);
  EXPECT_EQ(CodeOf(header + ".e30=.c2ln"), ErrorCode::kMalformedToken);
  EXPECT_EQ(CodeOf(header + ".e30.c2ln="), ErrorCode::kMalformedToken);
  // Standard base64 for bytes fb ff is "+/8"; base64url is "-_8".
  EXPECT_TRUE(ParseCompact(header + ".e30.-_8", kMax).ok());
  EXPECT_EQ(CodeOf(header + ".e30.+/8"), ErrorCode::kMalformedToken);
  // Stray low bits in the last character: "-_9" decodes to fb ff too.
  EXPECT_EQ(CodeOf(header + ".e30.-_9"), ErrorCode::kMalformedToken);
  // A length of 1 mod 4 is never valid.
  EXPECT_EQ(CodeOf(header + ".e30.abcde"), ErrorCode::kMalformedToken);
}

TEST(ParseCompact, HeaderMustBeAStrictJsonObject) {
  for (const char* header : {"", "[]", "\"alg\"", "null", "{", "{\"alg\":\"HS256\",}",
                             "{'alg':'HS256'}", "{\"alg\":\"HS256\"} x"}) {
    const std::string token = Token(header);
    const ErrorCode code = CodeOf(token);
    if (std::string_view(header).empty()) {
      EXPECT_EQ(code, ErrorCode::kMalformedToken);
    } else {
      EXPECT_EQ(code, ErrorCode::kMalformedJson) << header;
    }
  }
}

TEST(ParseCompact, HeaderMustBeginWithTheBrace) {
  // Valid JSON, but the first segment would not begin with "ey"/"ew" (" {" encodes to
  // "IHsi"), so the masking of statements and log lines would not recognise the token.
  for (const char* space : {" ", "\t", "\n", "\r", "  ", "\r\n"}) {
    const std::string token = Token(std::string(space) + R"({"alg":"HS256","kid":"k1"})");
    EXPECT_EQ(CodeOf(token), ErrorCode::kMalformedJson) << token;
    EXPECT_EQ(DetailOf(token), "header does not begin with \"{\"") << token;
  }
  // Whitespace inside the object stays allowed.
  EXPECT_EQ(DetailOf(Token("{ \"alg\" : \"HS256\" }\n")), "<accepted>");
}

TEST(ParseCompact, HeaderWithByteOrderMarkIsNotJson) {
  EXPECT_EQ(CodeOf(Token("\xEF\xBB\xBF{\"alg\":\"HS256\"}")), ErrorCode::kMalformedJson);
}

TEST(ParseCompact, RejectsDuplicateNamesAtEveryLevel) {
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","alg":"HS256"})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"none","alg":"HS256"})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","kid":"a","kid":"b"})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","x":{"y":1,"y":2}})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","x":[{"y":1},{"z":1,"z":1}]})")),
            ErrorCode::kMalformedJson);
  // Escapes are decoded before comparing: "\u0061lg" is "alg".
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","\u0061lg":"none"})")), ErrorCode::kMalformedJson);
  EXPECT_NE(DetailOf(Token(R"({"alg":"HS256","alg":"HS256"})")).find("duplicate"),
            std::string::npos);
  // Names with the same length, first and last byte are compared byte by byte: "axc"
  // and "abc" differ, two empty names and a late duplicate among look-alikes do not.
  EXPECT_EQ(DetailOf(Token(R"({"alg":"HS256","abc":1,"axc":2,"a":3,"c":4,"ac":5})")),
            "<accepted>");
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","":1,"":2})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","abc":1,"axc":2,"ayc":3,"axc":4})")),
            ErrorCode::kMalformedJson);
  // Objects of more than 16 members are checked by sorting their names.
  std::string large = R"({"alg":"HS256")";
  for (int i = 0; i < 20; ++i) large += ",\"m" + std::to_string(i) + "\":" + std::to_string(i);
  EXPECT_EQ(DetailOf(Token(large + "}")), "<accepted>");
  EXPECT_EQ(CodeOf(Token(large + R"(,"m7":0})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","x":)" + large.substr(1) + R"(,"alg":1}})")),
            ErrorCode::kMalformedJson);
}

TEST(ParseCompact, RejectsInvalidUtf8NulAndDepth) {
  EXPECT_EQ(CodeOf(Token("{\"alg\":\"HS256\",\"x\":\"\xc3\x28\"}")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token("{\"alg\":\"HS256\",\"x\":\"\xed\xa0\x80\"}")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","x":"\ud800"})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","kid":"a\u0000b"})")), ErrorCode::kMalformedJson);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","a\u0000":1})")), ErrorCode::kMalformedJson);
  std::string deep = R"({"alg":"HS256","x":)";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  EXPECT_EQ(CodeOf(Token(deep)), ErrorCode::kMalformedJson);
  std::string shallow = R"({"alg":"HS256","x":)";
  for (int i = 0; i < 10; ++i) shallow += "[";
  for (int i = 0; i < 10; ++i) shallow += "]";
  shallow += "}";
  EXPECT_TRUE(ParseCompact(Token(shallow), kMax).ok());
}

TEST(ParseCompact, AlgRules) {
  EXPECT_EQ(CodeOf(Token(R"({})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"kid":"a"})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":256})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":null})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":["HS256"]})")), ErrorCode::kBadHeader);
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    const std::string token = Token(std::string(R"({"alg":")") + none + "\"}");
    EXPECT_EQ(CodeOf(token), ErrorCode::kUnsupportedAlgorithm) << none;
    EXPECT_EQ(DetailOf(token), "algorithm \"none\" is not accepted");
  }
  // Regression: the classic unsigned form (empty signature) is refused for its
  // algorithm, not for the empty segment, so logs name the attack.
  for (const char* none : {"none", "NONE"}) {
    const std::string unsigned_token = EncodeBase64Url(std::string(R"({"alg":")") + none + "\"}") +
                                       "." + EncodeBase64Url(R"({"sub":"a"})") + ".";
    EXPECT_EQ(CodeOf(unsigned_token), ErrorCode::kUnsupportedAlgorithm) << none;
  }
  EXPECT_EQ(DetailOf(Token(R"({"alg":"HS256"})", R"({"sub":"a"})", "")),
            "signature segment is empty");
  for (const char* unsupported :
       {"hs256", "HS1", "RS1", "ES256K", "Ed25519", "A128KW", "", "HS256 ", "dir"}) {
    EXPECT_EQ(CodeOf(Token(std::string(R"({"alg":")") + unsupported + "\"}")),
              ErrorCode::kUnsupportedAlgorithm)
        << unsupported;
  }
  EXPECT_EQ(DetailOf(Token(R"({"alg":"HS1"})")), "unsupported algorithm \"HS1\"");
  // The detail escapes what the token put there.
  EXPECT_EQ(DetailOf(Token(R"({"alg":"a\"b\nc"})")), "unsupported algorithm \"a\\x22b\\x0ac\"");
}

TEST(ParseCompact, CritAndB64AreRejected) {
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","crit":["exp"],"exp":1})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","crit":[]})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","b64":true})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","b64":false,"crit":["b64"]})")), ErrorCode::kBadHeader);
}

TEST(ParseCompact, TypRules) {
  // RFC 7515 4.1.9: media types compare case-insensitively, "application/" optional.
  for (const char* ok : {"JWT", "jwt", "Jwt", "at+jwt", "AT+JWT", "application/jwt",
                         "application/JWT", "Application/at+jwt"}) {
    EXPECT_TRUE(
        ParseCompact(Token(std::string(R"({"alg":"HS256","typ":")") + ok + "\"}"), kMax).ok())
        << ok;
  }
  for (const char* bad : {"JWS", "", "jwt ", "application/", "application/jose", "JOSE+JSON",
                          "secevent+jwt", "dpop+jwt", "text/jwt"}) {
    EXPECT_EQ(CodeOf(Token(std::string(R"({"alg":"HS256","typ":")") + bad + "\"}")),
              ErrorCode::kBadHeader)
        << bad;
  }
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","typ":1})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","typ":null})")), ErrorCode::kBadHeader);
}

TEST(ParseCompact, CtyJwtIsRejected) {
  for (const char* nested : {"JWT", "jwt", "application/jwt"}) {
    EXPECT_EQ(CodeOf(Token(std::string(R"({"alg":"HS256","cty":")") + nested + "\"}")),
              ErrorCode::kBadHeader)
        << nested;
  }
  EXPECT_TRUE(ParseCompact(Token(R"({"alg":"HS256","cty":"json"})"), kMax).ok());
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","cty":{}})")), ErrorCode::kBadHeader);
}

TEST(ParseCompact, KidMustBeAString) {
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","kid":1})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","kid":null})")), ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(Token(R"({"alg":"HS256","kid":["a"]})")), ErrorCode::kBadHeader);
  auto result = ParseCompact(Token(R"({"alg":"HS256","kid":""})"), kMax);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.value().header.has_kid);
  EXPECT_EQ(result.value().header.kid, "");
}

TEST(ParseCompact, TokensOfferingKeysAreRefused) {
  for (const char* member : {"jwk", "jku", "x5u", "x5c"}) {
    const std::string header =
        std::string(R"({"alg":"HS256",")") + member + R"(":{"kty":"oct","k":"AAAA"}})";
    EXPECT_EQ(CodeOf(Token(header)), ErrorCode::kBadHeader) << member;
    EXPECT_EQ(DetailOf(Token(header)), std::string("header offers a key (\"") + member +
                                           "\"); keys are never taken from tokens");
  }
}

TEST(ParseCompact, RuleOrderIsFixed) {
  // "none" wins over crit, crit over typ: the same header always gets the same code.
  EXPECT_EQ(CodeOf(Token(R"({"crit":["x"],"alg":"none"})")), ErrorCode::kUnsupportedAlgorithm);
  EXPECT_EQ(CodeOf(Token(R"({"typ":"x","crit":["x"],"alg":"HS256"})")), ErrorCode::kBadHeader);
  EXPECT_EQ(DetailOf(Token(R"({"typ":"x","crit":["x"],"alg":"HS256"})")),
            "header has \"crit\", and no extension is understood");
}

TEST(ParseCompactInto, KeepsTheKidOfARejectedHeaderAndReusesBuffers) {
  CompactJws jws;
  const std::string bad = Token(R"({"kid":"k9","alg":"HS256","crit":["x"]})");
  EXPECT_FALSE(ParseCompactInto(bad, kMax, &jws).ok());
  EXPECT_TRUE(jws.header.has_kid);
  EXPECT_EQ(jws.header.kid, "k9");
  const std::string good = Token(R"({"alg":"ES256"})", R"({"a":1})", "xy");
  ASSERT_TRUE(ParseCompactInto(good, kMax, &jws).ok());
  EXPECT_FALSE(jws.header.has_kid);
  EXPECT_EQ(jws.header.kid, "");
  EXPECT_EQ(jws.payload_json, R"({"a":1})");
  EXPECT_EQ(jws.signature, "xy");
  EXPECT_FALSE(ParseCompactInto("a.b", kMax, &jws).ok());
  EXPECT_FALSE(jws.header.has_kid);
}

TEST(ParseCompact, RememberedHeaderGivesTheSameVerdict) {
  // The per-thread header memo must be invisible: same text, same result; other text,
  // its own result; failures are never remembered.
  const std::string a = Token(R"({"alg":"HS256","kid":"a"})");
  const std::string b = Token(R"({"alg":"ES256"})");
  const std::string bad = Token(R"({"alg":"HS256","kid":"a","crit":[]})");
  for (int round = 0; round < 3; ++round) {
    auto first = ParseCompact(a, kMax);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first.value().header.alg, Algorithm::kHS256);
    EXPECT_EQ(first.value().header.kid, "a");
    EXPECT_EQ(CodeOf(bad), ErrorCode::kBadHeader);
    EXPECT_EQ(CodeOf(bad), ErrorCode::kBadHeader);
    auto second = ParseCompact(b, kMax);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second.value().header.alg, Algorithm::kES256);
    EXPECT_FALSE(second.value().header.has_kid);
    // A remembered header with a broken payload or signature still fails.
    EXPECT_EQ(CodeOf(b.substr(0, b.find('.')) + ".e30=.c2ln"), ErrorCode::kMalformedToken);
    EXPECT_EQ(CodeOf(b.substr(0, b.find('.')) + ".e30."), ErrorCode::kMalformedToken);
    EXPECT_EQ(CodeOf(b, b.size() - 1), ErrorCode::kTokenTooLarge);
  }
}

TEST(ParseCompact, Rfc7797UnencodedPayloadIsRejected) {
  // RFC 7797 section 4.2: {"alg":"HS256","b64":false,"crit":["b64"]} with a detached,
  // unencoded payload. Compact form puts "$.02" raw in the middle.
  const std::string header = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19";
  EXPECT_EQ(CodeOf(header + "..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY"),
            ErrorCode::kBadHeader);
  EXPECT_EQ(CodeOf(header + ".$.02.A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY"),
            ErrorCode::kMalformedToken);
}

}  // namespace
}  // namespace rowguard::core

namespace rowguard::core {
namespace {

// PeekHeader reads only what the key store needs (the kid) and agrees with ParseCompact
// on every header it accepts; it never accepts a header ParseCompact refuses.
TEST(PeekHeader, ReadsTheKidOfTheHeaderOnly) {
  JwsHeader header;
  ASSERT_TRUE(PeekHeader(Token(R"({"alg":"ES256","kid":"k-7"})"), kMax, &header).ok());
  EXPECT_EQ(header.alg, Algorithm::kES256);
  EXPECT_TRUE(header.has_kid);
  EXPECT_EQ(header.kid, "k-7");
  // The payload and signature are not looked at.
  ASSERT_TRUE(PeekHeader(EncodeBase64Url(R"({"alg":"HS256"})") + ".%%%.", kMax, &header).ok());
  EXPECT_FALSE(header.has_kid);
  EXPECT_TRUE(header.kid.empty());
}

TEST(PeekHeader, RefusesWhatParseCompactRefusesInTheHeader) {
  JwsHeader header;
  for (const char* bad : {R"({"alg":"none","kid":"k"})", R"({"alg":"HS256","kid":7})",
                          R"({"alg":"HS256","crit":["x"]})", R"({"alg":"HS256","kid":"a","kid":"b"})",
                          R"([1])"}) {
    const std::string token = Token(bad);
    EXPECT_FALSE(PeekHeader(token, kMax, &header).ok()) << bad;
    EXPECT_FALSE(ParseCompact(token, kMax).ok()) << bad;
  }
  EXPECT_FALSE(PeekHeader("no-dots-at-all", kMax, &header).ok());
  EXPECT_FALSE(PeekHeader(".abc.def", kMax, &header).ok());
  EXPECT_FALSE(PeekHeader("a*b.c.d", kMax, &header).ok());
  EXPECT_EQ(PeekHeader(Token(R"({"alg":"HS256"})"), 10, &header).failure().code,
            ErrorCode::kTokenTooLarge);
}

TEST(PeekHeader, AgreesWithTheRememberedHeader) {
  // ParseCompact remembers the last good header per thread; PeekHeader reads the memo.
  const std::string a = Token(R"({"alg":"RS256","kid":"a"})");
  const std::string b = Token(R"({"alg":"ES384","kid":"b"})");
  ASSERT_TRUE(ParseCompact(a, kMax).ok());
  JwsHeader header;
  ASSERT_TRUE(PeekHeader(b, kMax, &header).ok());
  EXPECT_EQ(header.kid, "b");
  EXPECT_EQ(header.alg, Algorithm::kES384);
  ASSERT_TRUE(PeekHeader(a, kMax, &header).ok());
  EXPECT_EQ(header.kid, "a");
  EXPECT_EQ(header.alg, Algorithm::kRS256);
}

}  // namespace
}  // namespace rowguard::core
