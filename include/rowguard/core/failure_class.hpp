// The classes in which rowguard.stats() counts rejected tokens (docs/functions.md,
// "Seeing what happens"). A class is derived from the verifier's ErrorCode, never from
// the wording of a detail, so rewording a message cannot move a count.
#pragma once

#include "rowguard/core/result.hpp"

namespace rowguard::core {

enum class FailureClass {
  kSignature,    // bad signature, alg none or an algorithm the key is not bound to
  kExpired,      // exp (plus leeway) has passed
  kNotYetValid,  // nbf or iat in the future
  kAudience,     // aud does not meet the accepted audiences
  kIssuer,       // iss does not match the key's issuer
  kUnknownKey,   // no stored key has the token's kid
  kMalformed,    // not a well-formed compact JWS, bad JSON, bad header or time claim
  kRevoked,      // revoked by jti or subject
  kRole,         // names a database role the issuer may not bind
  kOther,        // anything else (missing exp, lifetime too long, internal errors); last
};

constexpr int kFailureClassCount = static_cast<int>(FailureClass::kOther) + 1;

// The class of a token failure. Every ErrorCode has a row in failure_class.cpp's table,
// which a static_assert checks, so a new code makes the compiler point there.
FailureClass ClassOf(ErrorCode code) noexcept;

// The name rowguard.stats() shows for a class ("signature", "expired", ...).
const char* FailureClassName(FailureClass cls) noexcept;

}  // namespace rowguard::core
