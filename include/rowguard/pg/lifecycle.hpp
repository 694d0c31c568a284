// Token lifecycle: revocation (revocation.cpp) and role-bound tokens (role_binding.cpp),
// checked when a token is verified (MakeIdentity) and re-checked at the next statement
// of an identity in force (RequireCurrentIdentity and the executor/utility hooks). See
// docs/functions.md ("Revocation", "Role binding") and docs/roles.md.
#pragma once

#include <cstdint>

#include "rowguard/pg/identity.hpp"

namespace rowguard::pg {

// Bumped (in every backend) when rowguard.revocations, rowguard.role_bindings or any
// role changes; an identity remembers the value it was last checked against.
extern std::uint64_t lifecycle_generation;

// Registers the invalidation callbacks and the hooks that keep a bound role in place.
// Call once from _PG_init. (rowguard.role_binding_claim is defined in settings.cpp.)
void RegisterLifecycle();

enum class Admission { kAdmitted, kRevoked, kRoleNotAllowed };

// For a freshly verified (or cache-hit) identity in the leader: refuses a revoked token
// or a role claim that may not be bound, sets identity->bound_role and stamps
// identity->lifecycle_generation. When refused, *detail (static storage) says why.
// May ereport only on catalog trouble (like the key store).
Admission AdmitIdentity(Identity* identity, const char** detail);

// For a cache hit: true when `cached` was admitted (AdmitIdentity) under the current
// lifecycle_generation, so its verdict and bound_role still hold. Revocations, role
// bindings and roles bump the generation; a change of rowguard.role_binding_claim
// empties the verified-token cache. Blocks never admitted carry generation 0.
inline bool AdmissionStillHolds(const Identity* cached) {
  return cached->lifecycle_generation == lifecycle_generation;
}

// Per statement, in the leader: when revocations, bindings or roles changed since the
// identity was admitted, checks it again and ereports 28000 when it no longer stands.
void RecheckIdentity(Identity* identity);

// ---- revocation.cpp ----

// True when the identity's token is revoked now (*detail says why). Leader only.
bool IdentityRevoked(const Identity* identity, const char** detail);
// Forgets every remembered revocation lookup.
void ForgetRevocationLookups();

// ---- role_binding.cpp ----

// Resolves the role claim (rowguard.role_binding_claim) into identity->bound_role;
// false with *detail when the claim names a role that may not be bound now.
bool BindIdentityRole(Identity* identity, const char** detail);
// For the token GUC's check hook: why this identity may not take effect here (a change
// of the bound role inside a security-definer function or a security-restricted
// operation), or nullptr.
const char* RoleBindingRefusal(const Identity* identity);
// For the token GUC's assign hook: current_user follows the identity's bound role.
// Never fails; does nothing in a parallel worker.
void ApplyRoleBinding(const Identity* identity);
// Forgets the loaded role bindings.
void ForgetRoleBindings();
void RegisterRoleBindingHooks();
// The deferred admission of a token from the startup packet (docs/roles.md, "Tokens
// given at connection"): verifies it with the settings now in force, once the
// session's settings are all applied. Leader only; FATAL when it is refused.
void AdmitStartupToken();
// True when the check hook must not verify yet: a value from the startup packet while
// the session's settings (ALTER ROLE/DATABASE SET) are still being applied.
bool DeferStartupToken(int guc_source);

// ---- role_hazard.cpp ----

// Why `role` may never be bound to tokens (a phrase, static storage, e.g. "has
// CREATEROLE"), or nullptr. `allow_bypassrls` skips the BYPASSRLS parts (the role's
// own attribute and membership in BYPASSRLS roles), for a binding that opted in.
// Reads pg_authid and pg_class; leader only.
const char* RoleBindingHazard(std::uint32_t role, bool allow_bypassrls);  // role: an Oid
// The same checks for a role an OAuth token signs in as, except LOGIN (and REPLICATION is
// refused); uncached (role_hazard.cpp).
const char* OAuthLoginHazard(std::uint32_t role);
void RegisterRoleHazardCallbacks();

// ---- privileged_binding.cpp ----

// True when rowguard.allow_privileged_role opted `role` in for tokens of `issuer` (or of
// any issuer): a role with BYPASSRLS (never a superuser) may then be bound.
bool PrivilegedBindingAllowed(Oid role, const char* issuer);
// Forgets the loaded opt-ins.
void ForgetPrivilegedBindings();
// rowguard.privileged_role_bindings, or InvalidOid (not installed, or before 0.3.0).
Oid PrivilegedBindingsRelid();

}  // namespace rowguard::pg
