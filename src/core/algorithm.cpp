#include "rowguard/core/algorithm.hpp"

namespace rowguard::core {
namespace {

struct NamedAlgorithm {
  std::string_view name;
  Algorithm alg;
};

constexpr NamedAlgorithm kAlgorithms[] = {
    {"HS256", Algorithm::kHS256}, {"HS384", Algorithm::kHS384}, {"HS512", Algorithm::kHS512},
    {"RS256", Algorithm::kRS256}, {"RS384", Algorithm::kRS384}, {"RS512", Algorithm::kRS512},
    {"PS256", Algorithm::kPS256}, {"PS384", Algorithm::kPS384}, {"PS512", Algorithm::kPS512},
    {"ES256", Algorithm::kES256}, {"ES384", Algorithm::kES384}, {"ES512", Algorithm::kES512},
    {"EdDSA", Algorithm::kEdDSA},
};

}  // namespace

std::optional<Algorithm> AlgorithmFromName(std::string_view name) noexcept {
  // Exact match only: "hs256", "none", "NONE" and the like are never algorithms.
  for (const auto& entry : kAlgorithms) {
    if (entry.name == name) return entry.alg;
  }
  return std::nullopt;
}

std::string_view AlgorithmName(Algorithm alg) noexcept {
  for (const auto& entry : kAlgorithms) {
    if (entry.alg == alg) return entry.name;
  }
  return {};
}

const char* DigestName(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::kHS256:
    case Algorithm::kRS256:
    case Algorithm::kPS256:
    case Algorithm::kES256:
      return "SHA256";
    case Algorithm::kHS384:
    case Algorithm::kRS384:
    case Algorithm::kPS384:
    case Algorithm::kES384:
      return "SHA384";
    case Algorithm::kHS512:
    case Algorithm::kRS512:
    case Algorithm::kPS512:
    case Algorithm::kES512:
      return "SHA512";
    case Algorithm::kEdDSA:
      return nullptr;
  }
  return nullptr;
}

}  // namespace rowguard::core
