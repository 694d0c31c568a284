// Internal to the core: the pieces of the token layer that the verification hot path
// shares (no copies of rules, buffers reused) and the one-line detail helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rowguard/core/claims.hpp"
#include "rowguard/core/quote.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core::internal {

using core::QuoteForDetail;  // rowguard/core/quote.hpp

// "2000-01-01 00:00:00+00"; seconds outside what gmtime_r handles are printed raw.
std::string FormatUtc(std::int64_t seconds);

// Saturating, so exp near INT64_MAX plus a leeway cannot overflow.
std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) noexcept;
std::int64_t SaturatingSub(std::int64_t a, std::int64_t b) noexcept;

// ParseRegisteredClaims into *out (reusing its storage). `padded`: SIMDJSON_PADDING
// readable bytes follow the payload, so simdjson need not copy it.
Status ParseRegisteredClaimsInto(std::string_view payload_json, bool padded, RegisteredClaims* out);

// ClaimRules by reference, so the hot path copies no audience list.
struct ClaimRulesRef {
  std::int64_t leeway_seconds = 0;
  bool require_exp = true;
  const std::vector<std::string>* audiences = nullptr;
  const std::string* issuer = nullptr;
  std::optional<std::int64_t> max_lifetime_seconds;
};

Status CheckClaimsRef(const RegisteredClaims& claims, const ClaimRulesRef& rules, std::int64_t now);

}  // namespace rowguard::core::internal
