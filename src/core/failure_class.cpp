#include "rowguard/core/failure_class.hpp"

#include <iterator>

#include "rowguard/core/enum_table.hpp"

namespace rowguard::core {

namespace {

constexpr EnumRow<ErrorCode, FailureClass> kClassOfCode[] = {
    {ErrorCode::kTokenTooLarge, FailureClass::kMalformed},
    {ErrorCode::kMalformedToken, FailureClass::kMalformed},
    {ErrorCode::kMalformedJson, FailureClass::kMalformed},
    {ErrorCode::kBadHeader, FailureClass::kMalformed},
    {ErrorCode::kUnsupportedAlgorithm, FailureClass::kSignature},
    {ErrorCode::kUnknownKey, FailureClass::kUnknownKey},
    {ErrorCode::kAlgorithmMismatch, FailureClass::kSignature},
    {ErrorCode::kBadSignature, FailureClass::kSignature},
    {ErrorCode::kBadTimeClaim, FailureClass::kMalformed},
    {ErrorCode::kMissingExpiry, FailureClass::kOther},
    {ErrorCode::kExpired, FailureClass::kExpired},
    {ErrorCode::kNotYetValid, FailureClass::kNotYetValid},
    {ErrorCode::kIssuedInFuture, FailureClass::kNotYetValid},
    {ErrorCode::kLifetimeTooLong, FailureClass::kOther},
    {ErrorCode::kAudienceMismatch, FailureClass::kAudience},
    {ErrorCode::kIssuerMismatch, FailureClass::kIssuer},
    {ErrorCode::kBadKey, FailureClass::kOther},
    {ErrorCode::kInternal, FailureClass::kOther},
};
static_assert(CoversInOrder(kClassOfCode, kErrorCodeCount),
              "one class per ErrorCode, in declaration order");

// In the order of FailureClass; failure_class_test.cpp pins every name.
constexpr const char* kFailureClassNames[] = {
    "signature",   "expired",   "not_yet_valid", "audience", "issuer",
    "unknown_key", "malformed", "revoked",       "role",     "other"};
static_assert(static_cast<int>(std::size(kFailureClassNames)) == kFailureClassCount,
              "one name per FailureClass");

}  // namespace

FailureClass ClassOf(ErrorCode code) noexcept {
  return ValueOf(kClassOfCode, code, FailureClass::kOther);
}

const char* FailureClassName(FailureClass cls) noexcept {
  return ValueAt(kFailureClassNames, cls, "other");
}

}  // namespace rowguard::core
