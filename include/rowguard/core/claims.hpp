// Registered claims (RFC 7519 section 4.1) read strictly from a payload and checked
// against rules with an injected clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rowguard/core/defaults.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core {

struct RegisteredClaims {
  std::optional<std::int64_t> exp, nbf, iat;  // seconds since the epoch
  std::optional<std::string> iss, sub, jti;   // present only when a JSON string
  std::vector<std::string> aud;               // string or array of strings
  bool has_aud = false;
};

// Parses the payload as a strict JSON object (see ParseCompact) and extracts the
// registered claims. exp/nbf/iat must be JSON numbers within int64 seconds (a
// fraction is truncated toward negative infinity); iss/sub/jti must be strings when
// present; aud a string or an array of strings.
Result<RegisteredClaims> ParseRegisteredClaims(std::string_view payload_json);

struct ClaimRules {
  std::int64_t leeway_seconds = kDefaultLeewaySeconds;
  bool require_exp = true;
  // When set, the token's aud must contain at least one of these (and must exist).
  std::optional<std::vector<std::string>> audiences;
  // When set, iss must equal it exactly.
  std::optional<std::string> issuer;
  // When set, exp - iat must not exceed it (and both must exist).
  std::optional<std::int64_t> max_lifetime_seconds;
};

// exp: now < exp + leeway (exp == now fails with zero leeway); nbf: now >= nbf - leeway;
// iat: iat <= now + leeway.
Status CheckClaims(const RegisteredClaims& claims, const ClaimRules& rules, std::int64_t now);

// The time-dependent part alone (exp, nbf), for re-checking a cached identity.
Status CheckTimes(const RegisteredClaims& claims, std::int64_t leeway_seconds, std::int64_t now);

}  // namespace rowguard::core
