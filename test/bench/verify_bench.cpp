// Core verification against the bare OpenSSL primitive, side by side in one binary, so
// the ratio (bare time / full verify time) is independent of the machine.
//
//   BM_Bare<alg>    the primitive alone: HMAC via EVP_MAC with the key already set, or
//                   EVP_DigestVerifyInit_ex + EVP_DigestVerify on a pre-parsed EVP_PKEY,
//                   over the same signing input and signature as the token
//   BM_Verify<alg>  TrustStore::VerifyInto of the whole token (result buffers reused, as
//                   the server does): Bearer, segments, base64url, strict header and
//                   payload JSON, key lookup, signature, claim rules
//   BM_OwnedResultHS256  the same through TrustStore::Verify (a new result per token)
//   BM_SharedCacheProxy  a hit in a shared verified-token cache (hash, shared lock, copy)
//   BM_LoadKey<alg> ParseJwk of a stored public key (a backend's first token of a kid)
//
// scripts/bench-core.sh runs this and prints the ratio table.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <pthread.h>

#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "../unit/test_keys.hpp"
#include "rowguard/core/base64url.hpp"
#include "rowguard/core/claims.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/trust_store.hpp"

namespace {

using rowguard::core::Algorithm;
using rowguard::core::AlgorithmName;

constexpr std::int64_t kNow = 1700000000;

// A realistic access token: the signing input is about 300 bytes.
const std::string kClaims =
    R"({"iss":"https://auth.example.com/","sub":"6a1f4c2e-8d3b-4f7a-9c1e-2b5d7e9f0a13",)"
    R"("aud":"api","exp":1700003600,"iat":1700000000,"jti":"b1e2c3d4","tenant_id":42,)"
    R"("roles":["reader","writer"]})";

struct Fixture {
  rowguard::test::TestKey generated;
  rowguard::core::TrustStore store;
  rowguard::core::VerifyOptions options;
  std::string token;
  std::string signing_input;
  std::string signature;       // as in the token (ECDSA: r||s)
  std::string bare_signature;  // as the primitive takes it (ECDSA: DER)
};

std::string EcdsaRawToDer(const std::string& raw) {
  const std::size_t half = raw.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(
      sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), half, nullptr),
      BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + half, half, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

const Fixture& FixtureFor(Algorithm alg) {
  static std::map<Algorithm, std::unique_ptr<Fixture>> fixtures;
  auto& slot = fixtures[alg];
  if (slot) return *slot;
  slot = std::make_unique<Fixture>();
  Fixture& f = *slot;
  f.generated = rowguard::test::MakeTestKey(alg);
  auto signer = rowguard::core::ParseJwk(f.generated.private_jwk);
  auto verifier = rowguard::core::ParseJwk(f.generated.public_jwk);
  if (!signer.ok() || !verifier.ok()) throw std::runtime_error("ParseJwk");
  auto token = rowguard::core::SignCompact(signer.value(), kClaims);
  if (!token.ok()) throw std::runtime_error(token.failure().detail);
  f.token = token.value();
  f.signing_input = f.token.substr(0, f.token.rfind('.'));
  f.signature = *rowguard::core::DecodeBase64Url(f.token.substr(f.token.rfind('.') + 1));
  f.bare_signature =
      alg == Algorithm::kES256 || alg == Algorithm::kES384 || alg == Algorithm::kES512
          ? EcdsaRawToDer(f.signature)
          : f.signature;
  f.store.AddKey(std::move(verifier).value());
  f.options.default_audiences = std::vector<std::string>{"api"};
  if (!f.store.Verify(f.token, kNow, f.options).ok()) throw std::runtime_error("verify");
  return f;
}

bool IsPss(Algorithm alg) {
  return alg == Algorithm::kPS256 || alg == Algorithm::kPS384 || alg == Algorithm::kPS512;
}

void BareHmac(benchmark::State& state, Algorithm alg) {
  const Fixture& f = FixtureFor(alg);
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                          const_cast<char*>(DigestName(alg)), 0),
                         OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(f.generated.secret.data()),
               f.generated.secret.size(), params);
  const auto* input = reinterpret_cast<const unsigned char*>(f.signing_input.data());
  for (auto _ : state) {
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t out_len = 0;
    // Key already set: a null key re-initialises with the stored pads.
    bool ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
              EVP_MAC_update(ctx, input, f.signing_input.size()) == 1 &&
              EVP_MAC_final(ctx, out, &out_len, sizeof out) == 1 && out_len == f.signature.size() &&
              CRYPTO_memcmp(out, f.signature.data(), out_len) == 0;
    if (!ok) state.SkipWithError("HMAC mismatch");
    benchmark::DoNotOptimize(ok);
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
}

void BareAsymmetric(benchmark::State& state, Algorithm alg) {
  const Fixture& f = FixtureFor(alg);
  EVP_PKEY* pkey = f.generated.pkey.get();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const auto* input = reinterpret_cast<const unsigned char*>(f.signing_input.data());
  const auto* sig = reinterpret_cast<const unsigned char*>(f.bare_signature.data());
  for (auto _ : state) {
    EVP_PKEY_CTX* pctx = nullptr;
    bool ok =
        EVP_DigestVerifyInit_ex(ctx, &pctx, DigestName(alg), nullptr, nullptr, pkey, nullptr) == 1;
    if (ok && IsPss(alg)) {
      ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
    ok = ok &&
         EVP_DigestVerify(ctx, sig, f.bare_signature.size(), input, f.signing_input.size()) == 1;
    if (!ok) state.SkipWithError("signature mismatch");
    benchmark::DoNotOptimize(ok);
  }
  EVP_MD_CTX_free(ctx);
}

void Bare(benchmark::State& state, Algorithm alg) {
  if (IsHmac(alg)) {
    BareHmac(state, alg);
  } else {
    BareAsymmetric(state, alg);
  }
}

// VerifyInto with one result kept between tokens, as the server's bridge calls it.
void Verify(benchmark::State& state, Algorithm alg) {
  const Fixture& f = FixtureFor(alg);
  rowguard::core::VerifiedToken out;
  for (auto _ : state) {
    auto status = f.store.VerifyInto(f.token, kNow, f.options, &out);
    if (!status.ok()) state.SkipWithError(status.failure().detail.c_str());
    benchmark::DoNotOptimize(out);
  }
  state.counters["token_bytes"] = static_cast<double>(f.token.size());
  state.counters["input_bytes"] = static_cast<double>(f.signing_input.size());
}

// Verify returning an owned result (a new VerifiedToken per token): what VerifyInto
// saves.
void OwnedResult(benchmark::State& state, Algorithm alg) {
  const Fixture& f = FixtureFor(alg);
  for (auto _ : state) {
    auto result = f.store.Verify(f.token, kNow, f.options);
    if (!result.ok()) state.SkipWithError(result.failure().detail.c_str());
    benchmark::DoNotOptimize(result);
  }
  state.counters["token_bytes"] = static_cast<double>(f.token.size());
  state.counters["input_bytes"] = static_cast<double>(f.signing_input.size());
}

// The non-cryptographic parts alone, to see where the overhead goes.
void ParseOnly(benchmark::State& state) {
  const Fixture& f = FixtureFor(Algorithm::kHS256);
  rowguard::core::CompactJws jws;
  for (auto _ : state) {
    auto status = rowguard::core::ParseCompactInto(f.token, 16384, &jws);
    benchmark::DoNotOptimize(status);
  }
}

void ClaimsOnly(benchmark::State& state) {
  for (auto _ : state) {
    auto claims = rowguard::core::ParseRegisteredClaims(kClaims);
    benchmark::DoNotOptimize(claims);
  }
}

// What a backend does once per stored key it meets (the lazy key store): parse the
// stored public JWK, which passed every check when it was added.
void LoadKey(benchmark::State& state, Algorithm alg) {
  const Fixture& f = FixtureFor(alg);
  for (auto _ : state) {
    auto key = rowguard::core::ParseJwk(f.generated.public_jwk, alg,
                                        rowguard::core::PrivateKeyCheck::kSkip);
    if (!key.ok()) state.SkipWithError("ParseJwk");
    benchmark::DoNotOptimize(key);
  }
}

// What a verified-token cache in shared memory would cost per hit, for the question
// whether one pays for itself (docs/performance.md): hash the token, take a shared
// lock (a process-shared pthread rwlock, as close to an LWLock in shared mode as a
// server-free binary gets), find the entry, copy the identity block (1 KB) out, release.
void SharedCacheProxy(benchmark::State& state) {
  const Fixture& f = FixtureFor(Algorithm::kES256);
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_rwlock_t lock;
  pthread_rwlock_init(&lock, &attr);
  std::unordered_map<std::string, std::string> table;
  for (int i = 0; i < 1000; ++i) table.emplace(f.token + std::to_string(i), std::string(1024, 'x'));
  const std::string key = f.token + "500";
  char block[1024];
  for (auto _ : state) {
    pthread_rwlock_rdlock(&lock);
    auto found = table.find(key);
    if (found != table.end()) std::memcpy(block, found->second.data(), sizeof(block));
    pthread_rwlock_unlock(&lock);
    benchmark::DoNotOptimize(block);
  }
  pthread_rwlock_destroy(&lock);
}

}  // namespace

int main(int argc, char** argv) {
  for (Algorithm alg : rowguard::test::kAllAlgorithms) {
    const std::string name(AlgorithmName(alg));
    benchmark::RegisterBenchmark(("BM_Bare" + name).c_str(), Bare, alg);
    benchmark::RegisterBenchmark(("BM_Verify" + name).c_str(), Verify, alg);
  }
  for (Algorithm alg : {Algorithm::kHS256, Algorithm::kRS256, Algorithm::kES256, Algorithm::kEdDSA}) {
    benchmark::RegisterBenchmark(("BM_LoadKey" + std::string(AlgorithmName(alg))).c_str(), LoadKey,
                                 alg);
  }
  benchmark::RegisterBenchmark("BM_OwnedResultHS256", OwnedResult, Algorithm::kHS256);
  benchmark::RegisterBenchmark("BM_SharedCacheProxy", SharedCacheProxy);
  benchmark::RegisterBenchmark("BM_ParseCompactHS256", ParseOnly);
  benchmark::RegisterBenchmark("BM_ParseRegisteredClaims", ClaimsOnly);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
