// libFuzzer target: the OAuth sign-in checks (core::CheckOAuthLogin), the code that reads
// what an unauthenticated client sends at login. The input is
//   FLAGS-BYTE HBA-SCOPE \n REQUESTED-ROLE \n AUTHN-CLAIM \n ROLE-CLAIM \n REST
// REST is checked twice: as the token itself (mostly refused at parsing or signature),
// and as a claims set signed with a fixture key bound to the pg_hba issuer, so that
// arbitrary claims reach the issuer, scope, authn-claim and role-claim checks.
// Invariants (abort on violation): an authorized sign-in has iss equal to the pg_hba
// issuer, a non-empty authn_id unless mapping is delegated, and with delegation a role
// claim equal to the requested role; a refusal always has a reason, which never holds
// the token's signing input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/oauth_login.hpp"
#include "rowguard/core/trust_store.hpp"

#ifndef ROWGUARD_FIXTURES_DIR
#error "ROWGUARD_FIXTURES_DIR must name test/fixtures"
#endif

namespace {

using namespace rowguard::core;

constexpr std::int64_t kNow = 1700000000;
constexpr const char* kIss = "https://issuer.example";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz_oauth_login: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Key LoadKey(const char* name) {
  auto key = ParseJwk(ReadFile(std::string(ROWGUARD_FIXTURES_DIR) + "/keys/" + name + ".jwk.json"));
  if (!key.ok()) std::abort();
  return std::move(key).value();
}

struct World {
  TrustStore store;
  Key signer = LoadKey("hs256");
  IssuerRule rule;
  VerifyOptions options;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    w->store.AddKey(LoadKey("hs256"), kIss);
    w->store.AddKey(LoadKey("eddsa"), kIss);
    w->store.AddKey(LoadKey("es256"));  // bound to no issuer: must never open a sign-in
    w->rule.audiences = std::vector<std::string>{"rowguard-tests"};
    w->rule.max_lifetime_seconds = 3110400000;
    w->store.SetIssuer(kIss, w->rule);
    return w;
  }();
  return *world;
}

std::string_view NextLine(std::string_view* rest) {
  const std::size_t end = rest->find('\n');
  const std::string_view line = rest->substr(0, end);
  *rest = end == std::string_view::npos ? std::string_view() : rest->substr(end + 1);
  return line;
}

void Check(const World& world, OAuthLoginRequest request, std::string_view token) {
  request.token = token;
  const OAuthLoginOutcome out = CheckOAuthLogin(world.store, request, kNow, world.options);
  if (!out.authorized) {
    if (out.reason.empty()) std::abort();
    // The reason never holds the token's signing input (header.payload). Checked when it
    // is base64url with one dot and at least 32 bytes long: no fixed text of a reason has
    // such a run, and a claim value quoted in a reason cannot contain the encoding of the
    // header or payload that contains it.
    const std::size_t first = token.find('.');
    const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second != std::string_view::npos && second >= 32) {
      const std::string_view input = token.substr(0, second);
      bool b64 = true;
      for (std::size_t i = 0; i < input.size(); ++i) {
        const char c = input[i];
        b64 = b64 && (i == first || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_');
      }
      if (b64 && out.reason.find(input) != std::string::npos) std::abort();
    }
    return;
  }
  // Authorized: the token verified, so its payload is readable JSON.
  auto parsed = ParseCompact(token, world.options.max_token_bytes);
  if (!parsed.ok()) std::abort();
  const std::string payload(parsed.value().payload_json);
  if (FindStringClaim(payload, "/iss").value_or("") != kIss) std::abort();
  if (!request.delegate_ident_mapping && out.authn_id.empty()) std::abort();
  if (request.delegate_ident_mapping &&
      FindStringClaim(payload, request.role_claim).value_or("\n") != request.requested_role) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)TheWorld();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const World& world = TheWorld();
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  OAuthLoginRequest request;
  request.hba_issuer = kIss;
  request.delegate_ident_mapping = (data[0] & 1) != 0;
  if ((data[0] & 2) == 0) request.issuer_rule = world.rule;
  request.hba_scope = NextLine(&rest);
  request.requested_role = NextLine(&rest);
  request.authn_claim = NextLine(&rest);
  request.role_claim = NextLine(&rest);
  Check(world, request, rest);
  auto token = SignCompact(world.signer, rest);
  if (token.ok()) Check(world, request, token.value());
  return 0;
}
