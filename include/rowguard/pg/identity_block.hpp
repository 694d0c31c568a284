// The verified identity as one block of plain data: the GUC machinery keeps it as
// rowguard.token's `extra` and releases it itself (see pg_compat.hpp for who allocates
// it), so it holds no pointer and nothing with a destructor. Claim accessors read it
// without parsing or allocating. Plain C++: the bridge and the identity cache use it too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rowguard::pg {

enum IdentityFlags : std::uint32_t {
  kIdentityHasExp = 1u << 0,
  kIdentityHasNbf = 1u << 1,
  kIdentityHasIat = 1u << 2,
  kIdentityHasSub = 1u << 3,
  // The key that verified it is registered for an issuer (so iss was checked against
  // it); only such identities get roles bound for an issuer (docs/roles.md).
  kIdentityKeyHasIssuer = 1u << 4,
};

struct Identity {
  std::uint32_t size;            // bytes in the whole block
  std::uint32_t flags;           // IdentityFlags
  std::int64_t exp, nbf, iat;    // seconds since the Unix epoch, per flags
  std::int64_t leeway;           // the leeway that applied when it was verified
  std::uint64_t key_generation;  // the key set it was verified against (see key_store)
  std::uint32_t kid_offset;      // NUL-terminated strings inside the block
  std::uint32_t sub_offset;
  std::uint32_t sub_length;
  std::uint32_t iss_offset;  // for log lines of cached identities
  std::uint32_t jti_offset;
  std::uint32_t jsonb_offset;  // a Jsonb varlena (the claims), MAXALIGNed
  std::uint32_t jsonb_length;
  // RFC 7638 thumbprint (base64url, NUL-terminated) of the key material that verified
  // it: the identity stands while that material is stored under its kid. Empty in
  // parallel workers, which verify nothing.
  char key_thumbprint[48];
  // Token lifecycle (lifecycle.hpp): the lifecycle_generation it was last checked
  // against, and the role its claim bound (an Oid; 0: none; always 0 in workers).
  std::uint64_t lifecycle_generation;
  std::uint32_t bound_role;
};

inline const char* IdentityKid(const Identity* id) {
  return reinterpret_cast<const char*>(id) + id->kid_offset;
}
inline const char* IdentitySub(const Identity* id) {
  return reinterpret_cast<const char*>(id) + id->sub_offset;
}
inline const char* IdentityIss(const Identity* id) {
  return reinterpret_cast<const char*>(id) + id->iss_offset;
}
inline const char* IdentityJti(const Identity* id) {
  return reinterpret_cast<const char*>(id) + id->jti_offset;
}
inline const void* IdentityJsonb(const Identity* id) {
  return reinterpret_cast<const char*>(id) + id->jsonb_offset;
}

}  // namespace rowguard::pg
