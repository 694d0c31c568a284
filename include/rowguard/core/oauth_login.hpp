// The checks of an OAuth sign-in (docs/oauth.md, "What is verified when"): everything
// PostgreSQL's validator callback decides about a bearer token a client that nobody has
// authenticated yet sent, as one function of plain inputs, so that it is unit-tested and
// fuzzed without a server (test/unit/oauth_login_test.cpp, test/fuzz/fuzz_oauth_login.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rowguard/core/failure_class.hpp"
#include "rowguard/core/trust_store.hpp"

namespace rowguard::core {

struct OAuthLoginRequest {
  std::string_view token;           // as the client sent it (PostgreSQL checked its alphabet)
  std::string_view hba_issuer;      // the pg_hba line's issuer
  std::string_view hba_scope;       // the pg_hba line's scope, space separated ("" = none)
  std::string_view requested_role;  // the role the client asks to log in as
  bool delegate_ident_mapping = false;
  std::string_view authn_claim = "sub";  // a name, dotted path or JSON Pointer
  std::string_view role_claim = "role";  // the same; used with delegate_ident_mapping
  // The database's rule for hba_issuer, when the issuer is registered there.
  std::optional<IssuerRule> issuer_rule;
};

struct OAuthLoginOutcome {
  bool authorized = false;
  // "CLAIM@ISSUER" once the token is verified and carries the claim; may be set on a
  // refusal too (for the log), never from an unverified token.
  std::string authn_id;
  FailureClass failure_class = FailureClass::kOther;
  std::string reason;  // why it was refused: one line, never the token
};

// Verifies `request.token` with `store` (the keys and issuer rules of the database being
// connected to) and `options`, then: the issuer is registered and has an audience rule
// (its own or options.default_audiences); the token's size is bounded before anything is
// parsed; iss equals the pg_hba issuer and the verifying key is bound to it; every
// required scope is granted (scope: space-separated string; scp: string or array);
// with delegate_ident_mapping, the role claim is a string equal to requested_role.
// Never throws.
OAuthLoginOutcome CheckOAuthLogin(const TrustStore& store, const OAuthLoginRequest& request,
                                  std::int64_t now, const VerifyOptions& options) noexcept;

// The scopes of a pg_hba scope string a token need not carry: the OpenID Connect ones
// (openid, profile, email, phone, address, offline_access) and Entra ID's resource
// scopes ("api://x/.default").
bool OAuthScopeNotRequired(std::string_view scope) noexcept;

// The string value of a claim of a JSON object text by name, dotted path or JSON
// Pointer (the syntax of rowguard.claim). nullopt: absent, or not a string.
std::optional<std::string> FindStringClaim(std::string_view claims_json, std::string_view path);

}  // namespace rowguard::core
