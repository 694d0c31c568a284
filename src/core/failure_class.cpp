#include "rowguard/core/failure_class.hpp"

namespace rowguard::core {

FailureClass ClassOf(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kBadSignature:
    case ErrorCode::kUnsupportedAlgorithm:
    case ErrorCode::kAlgorithmMismatch:
      return FailureClass::kSignature;
    case ErrorCode::kExpired:
      return FailureClass::kExpired;
    case ErrorCode::kNotYetValid:
    case ErrorCode::kIssuedInFuture:
      return FailureClass::kNotYetValid;
    case ErrorCode::kAudienceMismatch:
      return FailureClass::kAudience;
    case ErrorCode::kIssuerMismatch:
      return FailureClass::kIssuer;
    case ErrorCode::kUnknownKey:
      return FailureClass::kUnknownKey;
    case ErrorCode::kTokenTooLarge:
    case ErrorCode::kMalformedToken:
    case ErrorCode::kMalformedJson:
    case ErrorCode::kBadHeader:
    case ErrorCode::kBadTimeClaim:
      return FailureClass::kMalformed;
    case ErrorCode::kMissingExpiry:
    case ErrorCode::kLifetimeTooLong:
    case ErrorCode::kBadKey:
    case ErrorCode::kInternal:
      return FailureClass::kOther;
  }
  return FailureClass::kOther;
}

const char* FailureClassName(FailureClass cls) noexcept {
  switch (cls) {
    case FailureClass::kSignature:
      return "signature";
    case FailureClass::kExpired:
      return "expired";
    case FailureClass::kNotYetValid:
      return "not_yet_valid";
    case FailureClass::kAudience:
      return "audience";
    case FailureClass::kIssuer:
      return "issuer";
    case FailureClass::kUnknownKey:
      return "unknown_key";
    case FailureClass::kMalformed:
      return "malformed";
    case FailureClass::kRevoked:
      return "revoked";
    case FailureClass::kRole:
      return "role";
    case FailureClass::kOther:
      return "other";
  }
  return "other";
}

}  // namespace rowguard::core
