// Wycheproof primitive vectors (ROWGUARD_VECTORS_DIR/wycheproof) through Key::Verify, with
// every key built by ParseJwk: the vector's JWK when it has one, else one made from its
// public key. Production code paths only.
//
// "acceptable" cases: the only ones in these files are RSA PKCS#1 v1.5 signatures whose
// DigestInfo omits the NULL parameters (flag MissingNull). rowguard rejects them: RFC 8017
// section 9.2 defines exactly one encoding, a JWS verifier has no legacy signer to be
// compatible with, and accepting a second encoding is signature malleability.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/key.hpp"
#include "vector_files.hpp"

namespace rowguard::core {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    ADD_FAILURE() << "bad hex digit";
    return 0;
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

// A big-endian integer from hex at exactly `size` bytes, or empty when it does not fit.
std::string FixedSize(std::string_view hex, std::size_t size) {
  std::string bytes = Hex(hex);
  while (bytes.size() > size && bytes[0] == '\0') bytes.erase(0, 1);
  if (bytes.size() > size) return {};
  return std::string(size - bytes.size(), '\0') + bytes;
}

enum class Family { kEcdsa, kRsa, kPss, kEdDsa, kHmac };

struct VectorFile {
  const char* file;
  Family family;
  Algorithm alg;
  const char* schema;
  std::size_t field_or_digest;  // ECDSA field bytes, PSS/HMAC digest bytes
  int min_executed;
};

const VectorFile kFiles[] = {
    {"ecdsa_secp256r1_sha256_p1363_test.json", Family::kEcdsa, Algorithm::kES256,
     "ecdsa_p1363_verify_schema_v1.json", 32, 262},
    {"ecdsa_secp384r1_sha384_p1363_test.json", Family::kEcdsa, Algorithm::kES384,
     "ecdsa_p1363_verify_schema_v1.json", 48, 280},
    {"ecdsa_secp521r1_sha512_p1363_test.json", Family::kEcdsa, Algorithm::kES512,
     "ecdsa_p1363_verify_schema_v1.json", 66, 318},
    {"rsa_signature_2048_sha256_test.json", Family::kRsa, Algorithm::kRS256,
     "rsassa_pkcs1_verify_schema_v1.json", 32, 259},
    {"rsa_signature_2048_sha384_test.json", Family::kRsa, Algorithm::kRS384,
     "rsassa_pkcs1_verify_schema_v1.json", 48, 258},
    {"rsa_signature_2048_sha512_test.json", Family::kRsa, Algorithm::kRS512,
     "rsassa_pkcs1_verify_schema_v1.json", 64, 258},
    {"rsa_pss_2048_sha256_mgf1_32_test.json", Family::kPss, Algorithm::kPS256,
     "rsassa_pss_verify_schema_v1.json", 32, 108},
    {"rsa_pss_2048_sha384_mgf1_48_test.json", Family::kPss, Algorithm::kPS384,
     "rsassa_pss_verify_schema_v1.json", 48, 141},
    {"rsa_pss_4096_sha512_mgf1_64_test.json", Family::kPss, Algorithm::kPS512,
     "rsassa_pss_verify_schema_v1.json", 64, 179},
    {"ed25519_test.json", Family::kEdDsa, Algorithm::kEdDSA, "eddsa_verify_schema_v1.json", 0, 151},
    // HMAC: only full-length tags (JWS never truncates) and keys of at least the digest
    // size (rowguard's minimum): 81 + 3 cases per file.
    {"hmac_sha256_test.json", Family::kHmac, Algorithm::kHS256, "mac_test_schema_v1.json", 32, 84},
    {"hmac_sha384_test.json", Family::kHmac, Algorithm::kHS384, "mac_test_schema_v1.json", 48, 84},
    {"hmac_sha512_test.json", Family::kHmac, Algorithm::kHS512, "mac_test_schema_v1.json", 64, 84},
};

std::string_view Str(simdjson::dom::element e, const char* key) {
  std::string_view out;
  EXPECT_EQ(e[key].get(out), simdjson::SUCCESS) << key;
  return out;
}

// The group's key, or a Failure; `skip` set when rowguard does not support the
// group's parameters.
Result<Key> GroupKey(const VectorFile& f, simdjson::dom::element group, bool* skip) {
  *skip = false;
  simdjson::dom::element jwk;
  switch (f.family) {
    case Family::kEcdsa: {
      if (group["publicKeyJwk"].get(jwk) == simdjson::SUCCESS) {
        return ParseJwk(simdjson::to_string(jwk), f.alg);
      }
      const char* crv = f.field_or_digest == 32   ? "P-256"
                        : f.field_or_digest == 48 ? "P-384"
                                                  : "P-521";
      std::string x = FixedSize(Str(group["publicKey"], "wx"), f.field_or_digest);
      std::string y = FixedSize(Str(group["publicKey"], "wy"), f.field_or_digest);
      EXPECT_FALSE(x.empty() || y.empty());
      return ParseJwk(std::string("{\"kty\":\"EC\",\"crv\":\"") + crv + "\",\"x\":\"" +
                          EncodeBase64Url(x) + "\",\"y\":\"" + EncodeBase64Url(y) + "\"}",
                      f.alg);
    }
    case Family::kRsa:
      EXPECT_EQ(group["keyJwk"].get(jwk), simdjson::SUCCESS);
      return ParseJwk(simdjson::to_string(jwk), f.alg);
    case Family::kPss: {
      // rowguard's PSS is the JWS one: MGF1 with the message digest, salt = digest size.
      std::int64_t salt = 0;
      EXPECT_EQ(group["sLen"].get(salt), simdjson::SUCCESS);
      if (salt != static_cast<std::int64_t>(f.field_or_digest) ||
          Str(group, "mgfSha") != Str(group, "sha") || Str(group, "mgf") != "MGF1") {
        *skip = true;
        return Fail(ErrorCode::kInternal, "skipped");
      }
      EXPECT_EQ(group["publicKeyJwk"].get(jwk), simdjson::SUCCESS);
      return ParseJwk(simdjson::to_string(jwk), f.alg);
    }
    case Family::kEdDsa:
      EXPECT_EQ(group["publicKeyJwk"].get(jwk), simdjson::SUCCESS);
      return ParseJwk(simdjson::to_string(jwk), f.alg);
    case Family::kHmac: {
      std::int64_t tag_bits = 0;
      EXPECT_EQ(group["tagSize"].get(tag_bits), simdjson::SUCCESS);
      if (tag_bits != static_cast<std::int64_t>(8 * f.field_or_digest)) {
        *skip = true;
        return Fail(ErrorCode::kInternal, "skipped");
      }
      return Fail(ErrorCode::kInternal, "HMAC keys are per test");
    }
  }
  return Fail(ErrorCode::kInternal, "unknown family");
}

class WycheproofPrimitives : public testing::TestWithParam<VectorFile> {};

TEST_P(WycheproofPrimitives, EveryCaseHasItsExpectedResult) {
  ROWGUARD_REQUIRE_VECTORS();
  const VectorFile& f = GetParam();
  simdjson::padded_string text;
  ASSERT_EQ(simdjson::padded_string::load(test::VectorPath(std::string("wycheproof/") + f.file))
                .get(text),
            simdjson::SUCCESS)
      << f.file;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS);
  ASSERT_EQ(Str(root, "schema"), f.schema);

  int executed = 0, skipped = 0, valid = 0, invalid = 0, acceptable = 0, short_keys = 0;
  simdjson::dom::array groups;
  ASSERT_EQ(root["testGroups"].get(groups), simdjson::SUCCESS);
  for (simdjson::dom::element group : groups) {
    bool skip = false;
    Result<Key> key = GroupKey(f, group, &skip);
    simdjson::dom::array tests;
    ASSERT_EQ(group["tests"].get(tests), simdjson::SUCCESS);
    if (skip) {
      skipped += static_cast<int>(tests.size());
      continue;
    }
    if (f.family != Family::kHmac) {
      ASSERT_TRUE(key.ok()) << f.file << ": " << key.failure().detail;
      ASSERT_EQ(key.value().algorithm(), f.alg);
    }
    for (simdjson::dom::element test : tests) {
      std::int64_t id = 0;
      ASSERT_EQ(test["tcId"].get(id), simdjson::SUCCESS);
      const std::string msg = Hex(Str(test, "msg"));
      const std::string result(Str(test, "result"));
      std::string sig;
      const Key* verifier = key.ok() ? &key.value() : nullptr;
      Result<Key> hmac_key = Fail(ErrorCode::kInternal, "unused");
      if (f.family == Family::kHmac) {
        sig = Hex(Str(test, "tag"));
        const std::string secret = Hex(Str(test, "key"));
        hmac_key = ParseJwk("{\"kty\":\"oct\",\"k\":\"" + EncodeBase64Url(secret) +
                            "\",\"alg\":\"" + std::string(AlgorithmName(f.alg)) + "\"}");
        if (secret.size() < f.field_or_digest) {
          // Below the hash size: ParseJwk must refuse the key itself.
          ASSERT_FALSE(hmac_key.ok()) << "tcId " << id;
          EXPECT_EQ(hmac_key.failure().code, ErrorCode::kBadKey);
          ++short_keys;
          ++skipped;
          continue;
        }
        ASSERT_TRUE(hmac_key.ok()) << hmac_key.failure().detail;
        verifier = &hmac_key.value();
      } else {
        sig = Hex(Str(test, "sig"));
      }
      Status status = verifier->Verify(msg, sig);
      ++executed;
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(status.ok()) << f.file << " tcId " << id << ": "
                                 << (status.ok() ? "" : status.failure().detail);
      } else {
        // invalid, and the acceptable MissingNull cases (see the top of the file).
        if (result == "acceptable") ++acceptable;
        if (result == "invalid") ++invalid;
        ASSERT_FALSE(status.ok()) << f.file << " tcId " << id << " (" << result << ") was accepted";
        EXPECT_EQ(status.failure().code, ErrorCode::kBadSignature) << "tcId " << id;
      }
    }
  }
  std::printf("%s: %d executed (%d valid, %d invalid, %d acceptable rejected), %d skipped%s\n",
              f.file, executed, valid, invalid, acceptable, skipped,
              short_keys ? " (short HMAC keys refused by ParseJwk)" : "");
  EXPECT_GE(executed, f.min_executed);
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

INSTANTIATE_TEST_SUITE_P(Files, WycheproofPrimitives, testing::ValuesIn(kFiles),
                         [](const testing::TestParamInfo<VectorFile>& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find("_test.json"));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace rowguard::core
