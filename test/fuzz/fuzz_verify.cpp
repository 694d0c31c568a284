// libFuzzer target: the whole token path of the core (Bearer, ParseCompact, key choice,
// signature, claims) against a TrustStore holding one key of every type from
// test/fixtures/keys. The fuzz input is the token.
//
// A mutated token almost never carries a valid signature, so on its own the fuzzer would
// stop at the signature check. For tokens whose header parses and names an HMAC or EdDSA
// key (cheap to sign with), the input's "header.payload" is also re-signed with that key
// and verified again: that drives arbitrary payloads through claim parsing and the claim
// rules. A re-signed token that ParseCompact accepted must not fail with a signature
// error: such a failure aborts (it would mean the verifier disagrees with the signer).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "rowguard/core/base64url.hpp"
#include "rowguard/core/claims.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/trust_store.hpp"

#ifndef ROWGUARD_FIXTURES_DIR
#error "ROWGUARD_FIXTURES_DIR must name test/fixtures"
#endif

namespace {

using namespace rowguard::core;

constexpr std::int64_t kNow = 1700000000;  // the fixtures' iat

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz_verify: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Key LoadKey(const char* name) {
  auto key = ParseJwk(ReadFile(std::string(ROWGUARD_FIXTURES_DIR) + "/keys/" + name + ".jwk.json"));
  if (!key.ok()) {
    std::fprintf(stderr, "fuzz_verify: key %s: %s\n", name, key.failure().detail.c_str());
    std::abort();
  }
  return std::move(key).value();
}

struct World {
  TrustStore store;  // keys without issuer binding; default options
  TrustStore bound;  // the same keys bound to an issuer with a strict rule
  VerifyOptions options;
  VerifyOptions strict;
};

World* MakeWorld() {
  auto* world = new World;
  static const char* const kNames[] = {"hs256", "hs384", "hs512", "rs256", "rs384",
                                       "rs512", "ps256", "ps384", "ps512", "es256",
                                       "es384", "es512", "eddsa"};
  for (const char* name : kNames) {
    world->store.AddKey(LoadKey(name));
    world->bound.AddKey(LoadKey(name), "https://issuer.example");
  }
  IssuerRule rule;
  rule.audiences = std::vector<std::string>{"rowguard-tests", "other"};
  rule.leeway_seconds = 0;
  rule.max_lifetime_seconds = 3110400000;  // 100 years
  world->bound.SetIssuer("https://issuer.example", rule);
  world->strict.leeway_seconds = 0;
  world->strict.require_exp = false;
  world->strict.default_audiences = std::vector<std::string>{"rowguard-tests"};
  return world;
}

World& TheWorld() {
  static World* world = MakeWorld();  // never freed: lives as long as the process
  return *world;
}

void Exercise(const World& world, std::string_view token) {
  TokenFacts facts;
  auto verified = world.store.Verify(token, kNow, world.options, &facts);
  if (verified.ok()) {
    // Whatever was accepted must re-check consistently.
    (void)CheckTimes(verified.value().claims, verified.value().leeway_seconds, kNow);
  }
  (void)world.bound.Verify(token, kNow, world.strict, nullptr);
  (void)world.store.VerifySignature(token, world.options.max_token_bytes, nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)TheWorld();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const World& world = TheWorld();
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  Exercise(world, token);

  // Parser and claim reader on their own (no key needed).
  auto parsed = ParseCompact(StripBearer(token), world.options.max_token_bytes);
  if (!parsed.ok()) return 0;
  const CompactJws& jws = parsed.value();
  auto claims = ParseRegisteredClaims(jws.payload_json);
  if (claims.ok()) {
    ClaimRules rules;
    rules.audiences = std::vector<std::string>{"rowguard-tests"};
    rules.issuer = "https://issuer.example";
    rules.max_lifetime_seconds = 86400;
    (void)CheckClaims(claims.value(), rules, kNow);
    (void)CheckClaims(claims.value(), ClaimRules{}, kNow);
  }

  // Re-sign with the named key when signing is cheap, and verify the result.
  if (!jws.header.has_kid) return 0;
  const Key* key = world.store.FindKey(jws.header.kid);
  if (key == nullptr || key->algorithm() != jws.header.alg) return 0;
  const Algorithm alg = key->algorithm();
  if (alg != Algorithm::kHS256 && alg != Algorithm::kHS384 && alg != Algorithm::kHS512 &&
      alg != Algorithm::kEdDSA) {
    return 0;
  }
  auto signature = key->Sign(jws.signing_input);
  if (!signature.ok()) std::abort();
  const std::string resigned =
      std::string(jws.signing_input) + "." + EncodeBase64Url(signature.value());
  auto again = world.store.Verify(resigned, kNow, world.options, nullptr);
  if (!again.ok() && resigned.size() <= world.options.max_token_bytes &&
      (again.failure().code == ErrorCode::kBadSignature ||
       again.failure().code == ErrorCode::kMalformedToken)) {
    std::fprintf(stderr, "fuzz_verify: re-signed token refused: %s\n",
                 again.failure().detail.c_str());
    std::abort();
  }
  Exercise(world, resigned);
  return 0;
}
