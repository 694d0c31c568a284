// Making an issuer's stored keys equal a JWK Set (rowguard.sync_jwks, docs/keys.md):
// which kids are added, kept, replaced (same kid, other key material) or removed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rowguard/core/result.hpp"

namespace rowguard::core {

// One key as far as the sync cares: its kid and what identifies its material. Two keys
// hold the same material when their RFC 7638 thumbprints and algorithms are equal.
struct KeyFingerprint {
  std::string kid;
  std::string alg;
  std::string thumbprint;
};

enum class SyncAction { kAdded, kKept, kReplaced, kRemoved };  // kRemoved stays last
constexpr int kSyncActionCount = static_cast<int>(SyncAction::kRemoved) + 1;
const char* SyncActionName(SyncAction action) noexcept;

struct SyncStep {
  std::string kid;
  SyncAction action;
  int incoming_index;  // index into the incoming keys; -1 for kRemoved
};

// The steps that turn `stored` into `incoming`, sorted by kid. kBadKey (nothing may
// change) when `incoming` is empty (the issuer would be left without keys) or repeats a
// kid.
Result<std::vector<SyncStep>> DiffKeySets(const std::vector<KeyFingerprint>& stored,
                                          const std::vector<KeyFingerprint>& incoming);

// A stored key row: its kid, its bound algorithm and its JWK text.
struct StoredKeyRow {
  std::string kid;
  std::string alg;
  std::string jwk;
};

// One incoming key of a published set, ready to store.
struct IncomingKey {
  KeyFingerprint fingerprint;
  std::string jwk;  // the member of "keys" as compact JSON
};

struct SyncPlan {
  std::vector<IncomingKey> incoming;  // the keys that will be stored, in set order
  std::vector<SyncStep> steps;        // sorted by kid
  int skipped_encryption_keys = 0;    // "use":"enc" members left out
};

// Parses `jwks` with every rule of ParseJwkSet (a bad key fails the whole set), after
// leaving out members marked "use":"enc" (providers such as Keycloak publish their
// encryption keys in the same set; rowguard only verifies signatures). With
// `public_only`, a set holding a secret or private key is refused (a published set must
// not hold one). Stored rows are re-parsed to fingerprint their material; a stored row
// that no longer parses counts as different material (it is replaced or removed).
Result<SyncPlan> PlanJwksSync(const std::vector<StoredKeyRow>& stored, std::string_view jwks,
                              bool public_only);

}  // namespace rowguard::core
