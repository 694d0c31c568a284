#pragma once

#include <optional>
#include <string_view>

namespace rowguard::core {

// The JWS algorithms rowguard verifies and signs (RFC 7518, RFC 8037). "none" is not
// one of them and never will be.
enum class Algorithm {
  kHS256,
  kHS384,
  kHS512,
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kES512,
  kEdDSA,
};

// Exact, case-sensitive match of the registered name ("HS256", ..., "EdDSA").
std::optional<Algorithm> AlgorithmFromName(std::string_view name) noexcept;
std::string_view AlgorithmName(Algorithm alg) noexcept;

// The OpenSSL digest name the algorithm hashes with ("SHA256", ...), or nullptr for
// EdDSA, which hashes internally.
const char* DigestName(Algorithm alg) noexcept;

}  // namespace rowguard::core
