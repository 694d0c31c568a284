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

}  // namespace rowguard::core
