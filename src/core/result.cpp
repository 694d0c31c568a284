#include "rowguard/core/result.hpp"

#include "rowguard/core/enum_table.hpp"

namespace rowguard::core {

namespace {

constexpr EnumRow<ErrorCode, const char*> kErrorCodeNames[] = {
    {ErrorCode::kTokenTooLarge, "token_too_large"},
    {ErrorCode::kMalformedToken, "malformed_token"},
    {ErrorCode::kMalformedJson, "malformed_json"},
    {ErrorCode::kBadHeader, "bad_header"},
    {ErrorCode::kUnsupportedAlgorithm, "unsupported_algorithm"},
    {ErrorCode::kUnknownKey, "unknown_key"},
    {ErrorCode::kAlgorithmMismatch, "algorithm_mismatch"},
    {ErrorCode::kBadSignature, "bad_signature"},
    {ErrorCode::kBadTimeClaim, "bad_time_claim"},
    {ErrorCode::kMissingExpiry, "missing_expiry"},
    {ErrorCode::kExpired, "expired"},
    {ErrorCode::kNotYetValid, "not_yet_valid"},
    {ErrorCode::kIssuedInFuture, "issued_in_future"},
    {ErrorCode::kLifetimeTooLong, "lifetime_too_long"},
    {ErrorCode::kAudienceMismatch, "audience_mismatch"},
    {ErrorCode::kIssuerMismatch, "issuer_mismatch"},
    {ErrorCode::kBadKey, "bad_key"},
    {ErrorCode::kInternal, "internal"},
};
static_assert(CoversInOrder(kErrorCodeNames, kErrorCodeCount),
              "one name per ErrorCode, in declaration order");

}  // namespace

const char* ErrorCodeName(ErrorCode code) noexcept {
  return ValueOf(kErrorCodeNames, code, "unknown");
}

}  // namespace rowguard::core
