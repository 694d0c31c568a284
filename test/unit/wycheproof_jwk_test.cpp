// Wycheproof json_web_key_test.json (schema json_web_key_schema_v1.json): each group
// holds a private and/or public JWK Set, each test a compact JWS and whether the pair is
// acceptable. rowguard's answer: every set of the group must pass ParseJwkSet, and the
// JWS must verify with the key its "kid" names (from the public set when there is one),
// bound to the header's "alg". Apart from the tampered signature, every invalid case is
// expected to be refused already at ParseJwkSet: bad keys never get stored.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/key.hpp"
#include "vector_files.hpp"

namespace rowguard::core {
namespace {

// A minimal compact-JWS check kept apart from ParseCompact, so this file tests keys only.
bool VerifiesWith(const std::vector<Key>& keys, const std::string& jws) {
  const std::size_t dot1 = jws.find('.');
  const std::size_t dot2 = jws.find('.', dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos ||
      jws.find('.', dot2 + 1) != std::string::npos) {
    return false;
  }
  auto header = DecodeBase64Url(std::string_view(jws).substr(0, dot1));
  auto sig = DecodeBase64Url(std::string_view(jws).substr(dot2 + 1));
  if (!header || !sig) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view alg_name, kid;
  if (parser.parse(*header).get(root) != simdjson::SUCCESS ||
      root["alg"].get(alg_name) != simdjson::SUCCESS || root["kid"].get(kid) != simdjson::SUCCESS) {
    return false;
  }
  auto alg = AlgorithmFromName(alg_name);
  for (const Key& key : keys) {
    if (key.kid() != kid) continue;
    if (!alg || key.algorithm() != *alg) return false;
    return key.Verify(std::string_view(jws).substr(0, dot2), *sig).ok();
  }
  return false;
}

TEST(WycheproofJwk, EveryCaseHasItsExpectedResult) {
  ROWGUARD_REQUIRE_VECTORS();
  simdjson::padded_string text;
  ASSERT_EQ(simdjson::padded_string::load(test::VectorPath("wycheproof/json_web_key_test.json"))
                .get(text),
            simdjson::SUCCESS);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS);
  std::string_view schema;
  ASSERT_EQ(root["schema"].get(schema), simdjson::SUCCESS);
  ASSERT_EQ(schema, "json_web_key_schema_v1.json");

  int cases = 0, valid = 0, refused_at_parse = 0, refused_at_verify = 0;
  simdjson::dom::array groups;
  ASSERT_EQ(root["testGroups"].get(groups), simdjson::SUCCESS);
  for (simdjson::dom::element group : groups) {
    std::string_view comment;
    ASSERT_EQ(group["comment"].get(comment), simdjson::SUCCESS);
    bool sets_ok = true;
    std::string why;
    std::vector<Key> verify_keys;
    for (const char* which : {"private", "public"}) {
      simdjson::dom::element set;
      if (group[which].get(set) != simdjson::SUCCESS) continue;
      auto keys = ParseJwkSet(simdjson::to_string(set));
      if (!keys.ok()) {
        sets_ok = false;
        EXPECT_EQ(keys.failure().code, ErrorCode::kBadKey);
        why += std::string(which) + ": " + keys.failure().detail + "; ";
        continue;
      }
      verify_keys = std::move(keys).value();  // the public set wins when present
    }
    simdjson::dom::array tests;
    ASSERT_EQ(group["tests"].get(tests), simdjson::SUCCESS);
    for (simdjson::dom::element test : tests) {
      std::int64_t id = 0;
      std::string_view jws, result, test_comment;
      ASSERT_EQ(test["tcId"].get(id), simdjson::SUCCESS);
      ASSERT_EQ(test["jws"].get(jws), simdjson::SUCCESS);
      ASSERT_EQ(test["result"].get(result), simdjson::SUCCESS);
      ASSERT_EQ(test["comment"].get(test_comment), simdjson::SUCCESS);
      ++cases;
      const bool accepted = sets_ok && VerifiesWith(verify_keys, std::string(jws));
      SCOPED_TRACE("tcId " + std::to_string(id) + " (" + std::string(comment) + ", " +
                   std::string(test_comment) + ") " + why);
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(accepted);
      } else {
        ASSERT_EQ(result, "invalid");  // the file has no "acceptable" case
        EXPECT_FALSE(accepted);
        if (test_comment == "rejectsModifiedSignature") {
          EXPECT_TRUE(sets_ok);
          ++refused_at_verify;
        } else {
          EXPECT_FALSE(sets_ok) << "an invalid key set was stored";
          ++refused_at_parse;
        }
      }
    }
  }
  std::printf(
      "wycheproof JWK: %d cases, %d valid accepted, %d refused at ParseJwkSet, "
      "%d refused at Verify\n",
      cases, valid, refused_at_parse, refused_at_verify);
  EXPECT_EQ(cases, 26);
  EXPECT_EQ(valid, 5);
  EXPECT_EQ(refused_at_parse + refused_at_verify, 21);
}

}  // namespace
}  // namespace rowguard::core
