// A signing key made in memory for one use and never written anywhere: the key behind
// rowguard.test_authenticate's test identities (docs/testing-policies.md). Ed25519,
// because generating one is cheap and its private part is 32 bytes.
#pragma once

#include <string>

#include "rowguard/core/key.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core {

struct EphemeralKey {
  // Can sign; its kid is `kid_prefix` followed by 128 random bits (base64url).
  Key signing;
  // The public half as JWK text (kty, crv, x, kid, alg): what a trust store verifies with.
  std::string public_jwk;
};

// A new Ed25519 key from OpenSSL's CSPRNG. The private part exists only inside
// `signing`; the JWK text it was parsed from is wiped before returning.
Result<EphemeralKey> MakeEphemeralKey(const std::string& kid_prefix);

}  // namespace rowguard::core
