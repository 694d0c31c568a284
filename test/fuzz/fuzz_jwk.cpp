// libFuzzer target: JWK and JWK Set parsing (ParseJwk, ParseJwkSet). The fuzz input is
// the JSON text. A key that parses and can sign must verify its own signature: a failed
// round trip aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "rowguard/core/algorithm.hpp"
#include "rowguard/core/key.hpp"

namespace {

using namespace rowguard::core;

constexpr Algorithm kAlgorithms[] = {
    Algorithm::kHS256, Algorithm::kHS384, Algorithm::kHS512, Algorithm::kRS256, Algorithm::kRS384,
    Algorithm::kRS512, Algorithm::kPS256, Algorithm::kPS384, Algorithm::kPS512, Algorithm::kES256,
    Algorithm::kES384, Algorithm::kES512, Algorithm::kEdDSA,
};

void RoundTrip(const Key& key) {
  if (key.kid().empty() || key.thumbprint().empty()) {
    std::fprintf(stderr, "fuzz_jwk: parsed key without kid or thumbprint\n");
    std::abort();
  }
  if (!key.can_sign()) return;
  static constexpr std::string_view kInput = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0";
  auto signature = key.Sign(kInput);
  if (!signature.ok()) {
    // A private key OpenSSL cannot sign with (inconsistent RSA CRT values, say) may be
    // refused, but only as a failure value.
    return;
  }
  auto verified = key.Verify(kInput, signature.value());
  if (!verified.ok()) {
    std::fprintf(stderr, "fuzz_jwk: key %s (%s) does not verify its own signature: %s\n",
                 key.kid().c_str(), std::string(AlgorithmName(key.algorithm())).c_str(),
                 verified.failure().detail.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  auto key = ParseJwk(json);
  if (key.ok()) RoundTrip(key.value());
  // With a default algorithm too (chosen by the input, so a run is reproducible).
  const Algorithm alg = kAlgorithms[size % (sizeof kAlgorithms / sizeof kAlgorithms[0])];
  auto with_default = ParseJwk(json, alg);
  if (with_default.ok()) {
    if (with_default.value().algorithm() != alg) {
      std::fprintf(stderr, "fuzz_jwk: default algorithm not honoured\n");
      std::abort();
    }
    RoundTrip(with_default.value());
  }

  auto set = ParseJwkSet(json);
  if (set.ok()) {
    for (const Key& k : set.value()) RoundTrip(k);
  }
  return 0;
}
