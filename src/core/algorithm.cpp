#include "rowguard/core/algorithm.hpp"

#include "rowguard/core/enum_table.hpp"

namespace rowguard::core {
namespace {

struct AlgorithmFacts {
  std::string_view name;
  Algorithm alg;
  AlgorithmFamily family;
  const char* digest;            // OpenSSL digest name; nullptr: hashes internally
  std::size_t min_secret_bytes;  // HMAC only
};

using A = Algorithm;
constexpr auto kHmac = AlgorithmFamily::kHmac, kPkcs1 = AlgorithmFamily::kRsaPkcs1,
               kPss = AlgorithmFamily::kRsaPss, kEc = AlgorithmFamily::kEcdsa,
               kEd = AlgorithmFamily::kEdDSA;
constexpr AlgorithmFacts kAlgorithms[] = {
    {"HS256", A::kHS256, kHmac, "SHA256", 32}, {"HS384", A::kHS384, kHmac, "SHA384", 48},
    {"HS512", A::kHS512, kHmac, "SHA512", 64}, {"RS256", A::kRS256, kPkcs1, "SHA256", 0},
    {"RS384", A::kRS384, kPkcs1, "SHA384", 0}, {"RS512", A::kRS512, kPkcs1, "SHA512", 0},
    {"PS256", A::kPS256, kPss, "SHA256", 0},   {"PS384", A::kPS384, kPss, "SHA384", 0},
    {"PS512", A::kPS512, kPss, "SHA512", 0},   {"ES256", A::kES256, kEc, "SHA256", 0},
    {"ES384", A::kES384, kEc, "SHA384", 0},    {"ES512", A::kES512, kEc, "SHA512", 0},
    {"EdDSA", A::kEdDSA, kEd, nullptr, 0}};

// The enum's values are the table's indexes.
static_assert(InEnumOrder(kAlgorithms, &AlgorithmFacts::alg),
              "kAlgorithms must list Algorithm in declaration order");

const AlgorithmFacts& FactsOf(Algorithm alg) noexcept {
  return kAlgorithms[static_cast<std::size_t>(alg)];
}

}  // namespace

std::optional<Algorithm> AlgorithmFromName(std::string_view name) noexcept {
  // Exact match only: "hs256", "none", "NONE" and the like are never algorithms.
  for (const auto& entry : kAlgorithms) {
    if (entry.name == name) return entry.alg;
  }
  return std::nullopt;
}

std::string_view AlgorithmName(Algorithm alg) noexcept { return FactsOf(alg).name; }

const char* DigestName(Algorithm alg) noexcept { return FactsOf(alg).digest; }

AlgorithmFamily FamilyOf(Algorithm alg) noexcept { return FactsOf(alg).family; }

std::size_t MinHmacSecretBytes(Algorithm alg) noexcept { return FactsOf(alg).min_secret_bytes; }

}  // namespace rowguard::core
