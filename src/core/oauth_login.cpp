// The checks of an OAuth sign-in (include/rowguard/core/oauth_login.hpp).
#include "rowguard/core/oauth_login.hpp"

#include <simdjson.h>

#include <new>
#include <string>
#include <vector>

#include "strict_json.hpp"

namespace rowguard::core {
namespace {

// Claim values quoted in a reason are cut here: the reason goes to the server log.
constexpr std::size_t kQuotedMax = 120;

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, kQuotedMax)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f || c == '"' || c == '\\') ? '?' : c;
  }
  if (text.size() > kQuotedMax) out += "...";
  return out + "\"";
}

// One step of a path: a member name, or (JSON Pointer only) an array index. The first
// step starts from the claims object itself (`root`, then cleared).
bool Step(simdjson::dom::object* root, simdjson::dom::element* at, std::string_view name,
          bool pointer) {
  if (root != nullptr) {
    simdjson::dom::element next;
    if (root->at_key(name).get(next) != simdjson::SUCCESS) return false;
    *at = next;
    return true;
  }
  simdjson::dom::object object;
  if (at->get_object().get(object) == simdjson::SUCCESS) {
    simdjson::dom::element next;
    if (object.at_key(name).get(next) != simdjson::SUCCESS) return false;
    *at = next;
    return true;
  }
  simdjson::dom::array array;
  if (!pointer || at->get_array().get(array) != simdjson::SUCCESS || name.empty()) return false;
  if (name.size() > 1 && name[0] == '0') return false;
  std::size_t index = 0;
  for (char c : name) {
    if (c < '0' || c > '9' || index > 1000000) return false;
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  simdjson::dom::element next;
  if (array.at(index).get(next) != simdjson::SUCCESS) return false;
  *at = next;
  return true;
}

bool Walk(simdjson::dom::object claims, std::string_view path, simdjson::dom::element* at) {
  simdjson::dom::object* root = &claims;
  if (!path.empty() && path[0] == '/') {
    std::string_view rest = path.substr(1);
    while (true) {
      const std::size_t end = rest.find('/');
      const std::string_view raw = rest.substr(0, end);
      std::string name;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '~') {
          name += raw[i];
        } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
          name += raw[++i] == '0' ? '~' : '/';
        } else {
          return false;
        }
      }
      if (!Step(root, at, name, true)) return false;
      root = nullptr;
      if (end == std::string_view::npos) return true;
      rest = rest.substr(end + 1);
    }
  }
  while (true) {
    const std::size_t end = path.find('.');
    if (!Step(root, at, path.substr(0, end), false)) return false;
    root = nullptr;
    if (end == std::string_view::npos) return true;
    path = path.substr(end + 1);
  }
}

// The scopes the token grants: "scope" (a space-separated string, RFC 8693 / RFC 9068)
// and "scp" (a string or an array of strings: Entra ID, Okta).
std::vector<std::string> GrantedScopes(simdjson::dom::object claims) {
  std::vector<std::string> out;
  auto split = [&out](std::string_view text) {
    while (!text.empty()) {
      const std::size_t start = text.find_first_not_of(' ');
      if (start == std::string_view::npos) break;
      text = text.substr(start);
      const std::size_t end = text.find(' ');
      out.emplace_back(text.substr(0, end));
      if (end == std::string_view::npos) break;
      text = text.substr(end);
    }
  };
  for (const char* name : {"scope", "scp"}) {
    simdjson::dom::element value;
    if (claims.at_key(name).get(value) != simdjson::SUCCESS) continue;
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      split(text);
      continue;
    }
    simdjson::dom::array items;
    if (name[1] == 'c' && value.get_array().get(items) == simdjson::SUCCESS) {
      for (simdjson::dom::element item : items) {
        if (item.get_string().get(text) == simdjson::SUCCESS) out.emplace_back(text);
      }
    }
  }
  return out;
}

OAuthLoginOutcome Refuse(FailureClass cls, std::string reason, std::string authn_id = {}) {
  OAuthLoginOutcome out;
  out.failure_class = cls;
  out.reason = std::move(reason);
  out.authn_id = std::move(authn_id);
  return out;
}

OAuthLoginOutcome Check(const TrustStore& store, const OAuthLoginRequest& request,
                        std::int64_t now, const VerifyOptions& options) {
  // Configuration first: nothing of the token is read for these.
  if (!request.issuer_rule.has_value()) {
    return Refuse(FailureClass::kIssuer,
                  "issuer " + Quoted(request.hba_issuer) + " is not registered in this database");
  }
  VerifyOptions rules = options;
  const bool has_audience =
      (request.issuer_rule->audiences.has_value() && !request.issuer_rule->audiences->empty()) ||
      (options.default_audiences.has_value() && !options.default_audiences->empty());
  if (!has_audience) {
    return Refuse(FailureClass::kAudience,
                  "no audience is configured for issuer " + Quoted(request.hba_issuer));
  }
  rules.require_exp = true;  // a sign-in is never open-ended
  // The size before any parsing (the bound also holds inside Verify).
  if (request.token.size() > options.max_token_bytes) {
    return Refuse(FailureClass::kMalformed, "the token is larger than rowguard.max_token_bytes (" +
                                                std::to_string(options.max_token_bytes) + " bytes)");
  }
  VerifiedToken verified;
  const Status status = store.VerifyInto(request.token, now, rules, &verified);
  if (!status.ok()) {
    return Refuse(ClassOf(status.failure().code), status.failure().detail);
  }
  if (!verified.claims.iss.has_value() || *verified.claims.iss != request.hba_issuer) {
    return Refuse(FailureClass::kIssuer,
                  "iss " + Quoted(verified.claims.iss.value_or("")) +
                      " is not the issuer of the pg_hba line, " + Quoted(request.hba_issuer));
  }
  if (!verified.key_has_issuer) {
    // A key stored without issuer accepts any iss: it must not open a sign-in.
    return Refuse(FailureClass::kIssuer, "the key " + Quoted(verified.kid) +
                                             " that verified the token is not bound to issuer " +
                                             Quoted(request.hba_issuer));
  }

  simdjson::dom::parser parser;
  std::string padded(verified.claims_json);
  json::ReservePadding(&padded, padded.size());
  auto object = json::ParseObject(parser, padded, true, "payload");
  if (!object.ok()) return Refuse(FailureClass::kMalformed, object.failure().detail);
  const simdjson::dom::object claims = object.value();

  std::string authn_id;
  {
    simdjson::dom::element at;
    std::string_view value;
    if (!request.authn_claim.empty() && Walk(claims, request.authn_claim, &at) &&
        at.get_string().get(value) == simdjson::SUCCESS && !value.empty()) {
      authn_id = std::string(value) + "@" + std::string(request.hba_issuer);
    } else if (!request.delegate_ident_mapping) {
      return Refuse(FailureClass::kOther,
                    "the token has no string claim " + Quoted(request.authn_claim) +
                        " to identify the user");
    }
  }

  const std::vector<std::string> granted = GrantedScopes(claims);
  std::string_view wanted = request.hba_scope;
  while (!wanted.empty()) {
    const std::size_t start = wanted.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    wanted = wanted.substr(start);
    const std::size_t end = wanted.find(' ');
    const std::string_view scope = wanted.substr(0, end);
    bool found = OAuthScopeNotRequired(scope);
    for (const std::string& g : granted) found = found || g == scope;
    if (!found) return Refuse(FailureClass::kOther, "scope " + Quoted(scope) + " is missing", authn_id);
    if (end == std::string_view::npos) break;
    wanted = wanted.substr(end);
  }

  if (request.delegate_ident_mapping) {
    simdjson::dom::element at;
    std::string_view role;
    if (request.role_claim.empty() || !Walk(claims, request.role_claim, &at) ||
        at.get_string().get(role) != simdjson::SUCCESS) {
      return Refuse(FailureClass::kRole,
                    "the token has no string claim " + Quoted(request.role_claim) +
                        " naming the role",
                    authn_id);
    }
    if (role != request.requested_role) {
      return Refuse(FailureClass::kRole,
                    "the role claim " + Quoted(request.role_claim) +
                        " does not name the requested role " + Quoted(request.requested_role),
                    authn_id);
    }
  }
  OAuthLoginOutcome out;
  out.authorized = true;
  out.authn_id = std::move(authn_id);
  return out;
}

}  // namespace

bool OAuthScopeNotRequired(std::string_view scope) noexcept {
  static constexpr std::string_view kOidc[] = {"openid", "profile", "email",
                                               "phone",  "address", "offline_access"};
  for (std::string_view s : kOidc) {
    if (scope == s) return true;
  }
  constexpr std::string_view kDefault = "/.default";
  return scope.size() > kDefault.size() &&
         scope.substr(scope.size() - kDefault.size()) == kDefault;
}

std::optional<std::string> FindStringClaim(std::string_view claims_json, std::string_view path) {
  simdjson::dom::parser parser;
  auto object = json::ParseObject(parser, claims_json, false, "payload");
  if (!object.ok()) return std::nullopt;
  simdjson::dom::element at;
  std::string_view value;
  if (!Walk(object.value(), path, &at) || at.get_string().get(value) != simdjson::SUCCESS) return std::nullopt;
  return std::string(value);
}

OAuthLoginOutcome CheckOAuthLogin(const TrustStore& store, const OAuthLoginRequest& request,
                                  std::int64_t now, const VerifyOptions& options) noexcept {
  try {
    return Check(store, request, now, options);
  } catch (const std::bad_alloc&) {
    return Refuse(FailureClass::kOther, "out of memory");
  } catch (...) {
    return Refuse(FailureClass::kOther, "internal error");
  }
}

}  // namespace rowguard::core
