// A verification (and possibly signing) key parsed once from a JWK (RFC 7517) and
// bound to exactly one algorithm (docs/functions.md, "Key management").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rowguard/core/algorithm.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core {

class KeyMaterial;  // OpenSSL objects; defined in src/core/key_material.hpp

class Key {
 public:
  Key(std::string kid, Algorithm alg, bool has_private, std::string thumbprint,
      std::unique_ptr<KeyMaterial> material);
  ~Key();
  Key(Key&&) noexcept;
  Key& operator=(Key&&) noexcept;

  // The JWK's "kid", else its RFC 7638 thumbprint.
  const std::string& kid() const noexcept { return kid_; }
  Algorithm algorithm() const noexcept { return alg_; }
  // True when the JWK carried "d" (or is an oct secret): Sign works.
  bool can_sign() const noexcept { return has_private_; }
  // RFC 7638 SHA-256 thumbprint, base64url.
  const std::string& thumbprint() const noexcept { return thumbprint_; }

  // Checks `signature` (the decoded JWS signature) over `signing_input` with this
  // key's algorithm. kBadSignature when it does not match, including every malformed
  // signature (wrong length, ECDSA r or s out of range); kInternal when OpenSSL fails.
  // Not safe for concurrent calls on one Key (contexts are reused).
  Status Verify(std::string_view signing_input, std::string_view signature) const;

  // The raw JWS signature (ECDSA as r||s) over `signing_input`. kBadKey for a public key.
  Result<std::string> Sign(std::string_view signing_input) const;

 private:
  std::string kid_;
  Algorithm alg_;
  bool has_private_;
  std::string thumbprint_;
  std::unique_ptr<KeyMaterial> material_;
};

// How much of a JWK to check. kFull proves the private part matches the public one (for
// RSA that includes primality tests of p and q: tens of milliseconds) and runs
// OpenSSL's full EC public-key check; kSkip is for keys that passed kFull when they were
// stored and are only being reloaded (an EC point off the curve is refused either way).
enum class PrivateKeyCheck { kFull, kSkip };

// Parses one JWK object. The algorithm is the JWK's "alg", else `default_alg`, else
// by key type (EC by curve, OKP as EdDSA, RSA as RS256); an oct key with neither is
// kBadKey. A JWK "alg" that disagrees with `default_alg` is kBadKey. Rejected:
// unknown kty, RSA modulus under 2048 bits, RSA e even or 1, EC points off the curve,
// HMAC secrets shorter than the hash output, "use" other than "sig", "key_ops"
// without "verify", malformed base64url, non-string members.
Result<Key> ParseJwk(std::string_view json, std::optional<Algorithm> default_alg = std::nullopt,
                     PrivateKeyCheck private_check = PrivateKeyCheck::kFull);

// Parses {"keys":[...]}; fails as a whole on the first bad key (the detail names its
// index).
Result<std::vector<Key>> ParseJwkSet(std::string_view json);

}  // namespace rowguard::core
