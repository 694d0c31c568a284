// Internal to the core: the OpenSSL objects behind a Key, made once when the JWK is
// parsed so that a verification allocates as little as OpenSSL allows.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rowguard/core/algorithm.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};

template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

// The order n of a named NIST curve ("prime256v1", "secp384r1", "secp521r1"), big-endian,
// as many bytes as the field; nullopt for any other name. Constants (SEC 2 / FIPS 186),
// because building an EC_GROUP only to read its order costs about 15 us per key load, a
// quarter of reloading a stored P-256 key (docs/performance.md); a unit test compares
// them with OpenSSL's groups.
std::optional<std::string_view> EcGroupOrder(std::string_view group_name);

class KeyMaterial {
 public:
  // An HMAC key for HS256/384/512 (the secret is copied into OpenSSL's context).
  static Result<std::unique_ptr<KeyMaterial>> ForHmac(Algorithm alg, std::string_view secret);
  // An RSA, EC or EdDSA key, already validated for `alg` by the caller.
  static Result<std::unique_ptr<KeyMaterial>> ForPkey(Algorithm alg, OpenSslPtr<EVP_PKEY> pkey);

  Status Verify(std::string_view signing_input, std::string_view signature);
  Result<std::string> Sign(std::string_view signing_input);

  // The exact length of every signature this key accepts.
  std::size_t signature_size() const noexcept { return signature_size_; }

 private:
  using Kind = AlgorithmFamily;

  KeyMaterial() = default;
  Status VerifyHmac(std::string_view input, std::string_view signature);
  Status VerifyEcdsa(std::string_view input, std::string_view signature);
  Status VerifyDigested(std::string_view input, const unsigned char* sig, std::size_t sig_len);
  Status VerifyEdDsa(std::string_view input, std::string_view signature);
  bool Digest(std::string_view input, unsigned char* out, unsigned int* out_len);
  Result<std::string> SignHmac(std::string_view input);
  Result<std::string> SignAsymmetric(std::string_view input);

  Kind kind_ = Kind::kHmac;
  Algorithm alg_ = Algorithm::kHS256;
  std::size_t signature_size_ = 0;
  std::size_t field_size_ = 0;    // ECDSA: bytes of r and of s
  unsigned char order_[66] = {};  // ECDSA: group order, big-endian, field_size_ bytes
  OpenSslPtr<EVP_PKEY> pkey_;
  OpenSslPtr<EVP_MD> md_;                // fetched once; null for EdDSA and HMAC
  OpenSslPtr<EVP_MD_CTX> md_ctx_;        // reused: digests (RSA, ECDSA) or EdDSA verify
  OpenSslPtr<EVP_PKEY_CTX> verify_ctx_;  // RSA, ECDSA: initialised once for EVP_PKEY_verify
  OpenSslPtr<EVP_MAC_CTX> mac_ctx_;      // HMAC: keyed once, re-initialised per call
};

}  // namespace rowguard::core
