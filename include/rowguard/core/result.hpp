// Expected failures travel as values: a verifier that throws on a bad token would
// have to cross PostgreSQL's longjmp boundary (docs/design.md, "Two regimes").
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace rowguard::core {

// Why a token or key was refused. The glue maps every token code to SQLSTATE 28000
// and every key code to 22023; the detail is one line that never holds key material
// or the token itself.
enum class ErrorCode {
  kTokenTooLarge,
  kMalformedToken,  // segments, base64url alphabet, canonical encoding
  kMalformedJson,   // not UTF-8, not an object, duplicate names, too deep
  kBadHeader,       // crit, b64, typ, cty, kid type, ...
  kUnsupportedAlgorithm,
  kUnknownKey,
  kAlgorithmMismatch,  // the key is bound to another algorithm
  kBadSignature,
  kBadTimeClaim,  // exp/nbf/iat that are not int64 NumericDates
  kMissingExpiry,
  kExpired,
  kNotYetValid,
  kIssuedInFuture,
  kLifetimeTooLong,
  kAudienceMismatch,
  kIssuerMismatch,
  kBadKey,    // JWK input rejected
  kInternal,  // an OpenSSL call failed unexpectedly (stays last: kErrorCodeCount)
};

constexpr int kErrorCodeCount = static_cast<int>(ErrorCode::kInternal) + 1;

// A stable lower-case name of a code, for logs and tests.
const char* ErrorCodeName(ErrorCode code) noexcept;

struct Failure {
  ErrorCode code;
  std::string detail;
};

// Either a value or a Failure, never both.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Failure failure) : state_(std::move(failure)) {}  // NOLINT

  bool ok() const noexcept { return state_.index() == 0; }
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Failure& failure() const& { return std::get<1>(state_); }
  Failure&& failure() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Failure> state_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

inline Failure Fail(ErrorCode code, std::string detail) { return Failure{code, std::move(detail)}; }

}  // namespace rowguard::core
