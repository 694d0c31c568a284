#include "rowguard/core/claims.hpp"

#include <cmath>
#include <iterator>
#include <limits>

#include "strict_json.hpp"
#include "token_internal.hpp"

namespace rowguard::core {
namespace internal {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A NumericDate (RFC 7519 section 2) as int64 seconds. Anything else is an error, never
// "absent": a verifier that skipped an unreadable exp would accept an expired token.
Status ReadTime(element value, const char* name, std::optional<std::int64_t>* out) {
  switch (value.type()) {
    case element_type::INT64: {
      std::int64_t seconds = 0;
      if (value.get_int64().get(seconds) == simdjson::SUCCESS) {
        *out = seconds;
        return Ok{};
      }
      break;
    }
    case element_type::UINT64: {
      // simdjson only types a number UINT64 when it exceeds INT64_MAX; check anyway.
      std::uint64_t seconds = 0;
      if (value.get_uint64().get(seconds) == simdjson::SUCCESS &&
          seconds <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        *out = static_cast<std::int64_t>(seconds);
        return Ok{};
      }
      return Fail(ErrorCode::kBadTimeClaim,
                  std::string("\"") + name + "\" claim is out of the int64 range");
    }
    case element_type::DOUBLE: {
      double seconds = 0;
      if (value.get_double().get(seconds) != simdjson::SUCCESS) break;
      const double floored = std::floor(seconds);
      // [-2^63, 2^63): both bounds are exact doubles, so the cast below is defined.
      if (std::isfinite(floored) && floored >= -9223372036854775808.0 &&
          floored < 9223372036854775808.0) {
        *out = static_cast<std::int64_t>(floored);
        return Ok{};
      }
      return Fail(ErrorCode::kBadTimeClaim,
                  std::string("\"") + name + "\" claim is out of the int64 range");
    }
    default:
      break;
  }
  return Fail(ErrorCode::kBadTimeClaim, std::string("\"") + name + "\" claim is not a number");
}

// `spare`: a buffer to reuse (the previous token's value of this claim), so that a
// caller keeping its RegisteredClaims between tokens allocates nothing here.
Status ReadString(element value, const char* name, std::optional<std::string>* out,
                  std::string* spare) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kMalformedJson, std::string("\"") + name + "\" claim is not a string");
  }
  spare->assign(text);
  out->emplace(std::move(*spare));
  return Ok{};
}

Status ReadAudience(element value, RegisteredClaims* out) {
  out->has_aud = true;
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    out->aud.emplace_back(text);
    return Ok{};
  }
  simdjson::dom::array array;
  if (value.get_array().get(array) == simdjson::SUCCESS) {
    for (element item : array) {
      if (item.get_string().get(text) != simdjson::SUCCESS) {
        return Fail(ErrorCode::kMalformedJson, "\"aud\" claim has a member that is not a string");
      }
      out->aud.emplace_back(text);
    }
    return Ok{};
  }
  return Fail(ErrorCode::kMalformedJson, "\"aud\" claim is neither a string nor an array");
}

constexpr std::uint32_t Pack3(const char* name) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(name[0])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(name[1])) << 8 |
         static_cast<unsigned char>(name[2]);
}

// The registered claims read into an optional member of RegisteredClaims.
template <typename T>
struct NamedMember {
  const char* name;
  std::optional<T> RegisteredClaims::*member;
};
constexpr NamedMember<std::int64_t> kTimeClaims[] = {{"exp", &RegisteredClaims::exp},
                                                     {"nbf", &RegisteredClaims::nbf},
                                                     {"iat", &RegisteredClaims::iat}};
constexpr NamedMember<std::string> kStringClaims[] = {{"iss", &RegisteredClaims::iss},
                                                      {"sub", &RegisteredClaims::sub},
                                                      {"jti", &RegisteredClaims::jti}};

template <typename T, std::size_t N>
const NamedMember<T>* Find(const NamedMember<T> (&claims)[N], std::uint32_t packed) {
  for (const auto& claim : claims) {
    if (Pack3(claim.name) == packed) return &claim;
  }
  return nullptr;
}

}  // namespace

Status ParseRegisteredClaimsInto(std::string_view payload_json, bool padded,
                                 RegisteredClaims* out) {
  // The previous token's strings are moved aside (no copy) and reused by ReadString;
  // *out itself starts empty, so nothing of an earlier token survives on any path.
  std::string spare[std::size(kStringClaims)];
  for (std::size_t i = 0; i < std::size(kStringClaims); ++i) {
    std::optional<std::string>& value = out->*kStringClaims[i].member;
    if (value) spare[i] = std::move(*value);
  }
  out->exp.reset();
  out->nbf.reset();
  out->iat.reset();
  out->iss.reset();
  out->sub.reset();
  out->jti.reset();
  out->aud.clear();
  out->has_aud = false;

  auto parsed = json::ParseObject(json::ThreadParser(), payload_json, padded, "payload");
  if (!parsed.ok()) return std::move(parsed).failure();
  for (auto field : parsed.value()) {
    // Every registered name has three letters: compare them as one integer, which
    // skips every other member without a string comparison.
    const std::string_view name = field.key;
    if (name.size() != 3) continue;
    const std::uint32_t packed = Pack3(name.data());
    if (const NamedMember<std::int64_t>* time = Find(kTimeClaims, packed)) {
      if (Status s = ReadTime(field.value, time->name, &(out->*time->member)); !s.ok()) return s;
    } else if (const NamedMember<std::string>* text = Find(kStringClaims, packed)) {
      if (Status s = ReadString(field.value, text->name, &(out->*text->member),
                                  &spare[text - kStringClaims]); !s.ok()) return s;
    } else if (packed == Pack3("aud")) {
      if (Status s = ReadAudience(field.value, out); !s.ok()) return s;
    }
  }
  return Ok{};
}

Status CheckClaimsRef(const RegisteredClaims& claims, const ClaimRulesRef& rules,
                      std::int64_t now) {
  if (rules.require_exp && !claims.exp) {
    return Fail(ErrorCode::kMissingExpiry, "token has no \"exp\" claim");
  }
  if (Status times = CheckTimes(claims, rules.leeway_seconds, now); !times.ok()) return times;
  if (claims.iat && *claims.iat > SaturatingAdd(now, rules.leeway_seconds)) {
    return Fail(ErrorCode::kIssuedInFuture,
                "token is issued in the future, at " + FormatUtc(*claims.iat));
  }
  if (rules.issuer != nullptr && (!claims.iss || *claims.iss != *rules.issuer)) {
    if (!claims.iss) {
      return Fail(ErrorCode::kIssuerMismatch, "token has no \"iss\" claim; issuer " +
                                                  QuoteForDetail(*rules.issuer) + " is required");
    }
    return Fail(ErrorCode::kIssuerMismatch, "token issuer " + QuoteForDetail(*claims.iss) +
                                                " is not " + QuoteForDetail(*rules.issuer));
  }
  if (rules.audiences != nullptr) {
    if (!claims.has_aud) {
      return Fail(ErrorCode::kAudienceMismatch, "token has no \"aud\" claim");
    }
    bool found = false;
    for (const std::string& aud : claims.aud) {
      for (const std::string& accepted : *rules.audiences) {
        if (aud == accepted) {
          found = true;
          break;
        }
      }
      if (found) break;
    }
    if (!found) {
      if (claims.aud.size() == 1) {
        return Fail(ErrorCode::kAudienceMismatch,
                    "token audience " + QuoteForDetail(claims.aud[0]) + " is not accepted");
      }
      return Fail(ErrorCode::kAudienceMismatch, "no audience of the token is accepted");
    }
  }
  if (rules.max_lifetime_seconds) {
    if (!claims.exp) {
      return Fail(ErrorCode::kLifetimeTooLong,
                  "token has no \"exp\" claim but its lifetime is capped");
    }
    if (!claims.iat) {
      return Fail(ErrorCode::kLifetimeTooLong,
                  "token has no \"iat\" claim but its lifetime is capped");
    }
    // exp - iat in unsigned arithmetic: exact for every exp >= iat, no overflow.
    const std::int64_t max = *rules.max_lifetime_seconds;
    if (*claims.exp > *claims.iat) {
      const std::uint64_t lifetime =
          static_cast<std::uint64_t>(*claims.exp) - static_cast<std::uint64_t>(*claims.iat);
      if (max < 0 || lifetime > static_cast<std::uint64_t>(max)) {
        return Fail(ErrorCode::kLifetimeTooLong, "token lifetime of " + std::to_string(lifetime) +
                                                     " seconds exceeds the maximum of " +
                                                     std::to_string(max) + " seconds");
      }
    }
  }
  return Ok{};
}

}  // namespace internal

Result<RegisteredClaims> ParseRegisteredClaims(std::string_view payload_json) {
  RegisteredClaims claims;
  Status status = internal::ParseRegisteredClaimsInto(payload_json, false, &claims);
  if (!status.ok()) return std::move(status).failure();
  return claims;
}

Status CheckTimes(const RegisteredClaims& claims, std::int64_t leeway_seconds, std::int64_t now) {
  // exp is the first instant the token is no longer valid (RFC 7519 section 4.1.4).
  if (claims.exp && now >= internal::SaturatingAdd(*claims.exp, leeway_seconds)) {
    return Fail(ErrorCode::kExpired, "token expired at " + internal::FormatUtc(*claims.exp));
  }
  if (claims.nbf && now < internal::SaturatingSub(*claims.nbf, leeway_seconds)) {
    return Fail(ErrorCode::kNotYetValid,
                "token is not valid before " + internal::FormatUtc(*claims.nbf));
  }
  return Ok{};
}

Status CheckClaims(const RegisteredClaims& claims, const ClaimRules& rules, std::int64_t now) {
  internal::ClaimRulesRef ref;
  ref.leeway_seconds = rules.leeway_seconds;
  ref.require_exp = rules.require_exp;
  ref.audiences = rules.audiences ? &*rules.audiences : nullptr;
  ref.issuer = rules.issuer ? &*rules.issuer : nullptr;
  ref.max_lifetime_seconds = rules.max_lifetime_seconds;
  return internal::CheckClaimsRef(claims, ref, now);
}

}  // namespace rowguard::core
