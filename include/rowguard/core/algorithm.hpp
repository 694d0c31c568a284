// The JWS algorithms and everything rowguard knows about each of them.
#pragma once

#include <cstddef>
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

// How an algorithm signs; a key's material is made per family (key.cpp).
enum class AlgorithmFamily { kHmac, kRsaPkcs1, kRsaPss, kEcdsa, kEdDSA };

// Every fact about an algorithm is in the one table in algorithm.cpp.

// Exact, case-sensitive match of the registered name ("HS256", ..., "EdDSA").
std::optional<Algorithm> AlgorithmFromName(std::string_view name) noexcept;
std::string_view AlgorithmName(Algorithm alg) noexcept;

// The OpenSSL digest name the algorithm hashes with ("SHA256", ...), or nullptr for
// EdDSA, which hashes internally.
const char* DigestName(Algorithm alg) noexcept;

AlgorithmFamily FamilyOf(Algorithm alg) noexcept;
inline bool IsHmac(Algorithm alg) noexcept { return FamilyOf(alg) == AlgorithmFamily::kHmac; }
inline bool IsRsa(Algorithm alg) noexcept {
  return FamilyOf(alg) == AlgorithmFamily::kRsaPkcs1 || FamilyOf(alg) == AlgorithmFamily::kRsaPss;
}

// The shortest HMAC secret accepted, in bytes: the hash's output size (RFC 7518 section
// 3.2); 0 for the other families.
std::size_t MinHmacSecretBytes(Algorithm alg) noexcept;

}  // namespace rowguard::core
