#include "rowguard/core/result.hpp"

namespace rowguard::core {

const char* ErrorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kTokenTooLarge:
      return "token_too_large";
    case ErrorCode::kMalformedToken:
      return "malformed_token";
    case ErrorCode::kMalformedJson:
      return "malformed_json";
    case ErrorCode::kBadHeader:
      return "bad_header";
    case ErrorCode::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case ErrorCode::kUnknownKey:
      return "unknown_key";
    case ErrorCode::kAlgorithmMismatch:
      return "algorithm_mismatch";
    case ErrorCode::kBadSignature:
      return "bad_signature";
    case ErrorCode::kBadTimeClaim:
      return "bad_time_claim";
    case ErrorCode::kMissingExpiry:
      return "missing_expiry";
    case ErrorCode::kExpired:
      return "expired";
    case ErrorCode::kNotYetValid:
      return "not_yet_valid";
    case ErrorCode::kIssuedInFuture:
      return "issued_in_future";
    case ErrorCode::kLifetimeTooLong:
      return "lifetime_too_long";
    case ErrorCode::kAudienceMismatch:
      return "audience_mismatch";
    case ErrorCode::kIssuerMismatch:
      return "issuer_mismatch";
    case ErrorCode::kBadKey:
      return "bad_key";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace rowguard::core
