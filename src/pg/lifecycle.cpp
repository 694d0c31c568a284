// Token lifecycle: when revocations and role bindings are checked, and how every backend
// learns that they changed (a relcache invalidation of either table, sent by their
// statement triggers and replayed on hot standbys, or a change to any role).
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include "rowguard/pg/lifecycle.hpp"

#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {

std::uint64_t lifecycle_generation = 1;

namespace {

// The tables' relation ids, looked up again before every use (two syscache lookups), so
// that a dropped and re-created extension is followed: whatever this backend remembers
// was read through the ids current at that time, whose invalidations it then receives.
Oid revocations_relid = InvalidOid;
Oid role_bindings_relid = InvalidOid;
Oid privileged_bindings_relid = InvalidOid;

void RememberRelids() {
  const Oid schema = get_namespace_oid("rowguard", true);
  if (!OidIsValid(schema)) return;
  revocations_relid = get_relname_relid("revocations", schema);
  role_bindings_relid = get_relname_relid("role_bindings", schema);
  privileged_bindings_relid = PrivilegedBindingsRelid();
}

void OnRelcacheInvalidation(Datum, Oid relid) {
  if (relid == InvalidOid || relid == revocations_relid) {
    ForgetRevocationLookups();
    ++lifecycle_generation;
  }
  if (relid == InvalidOid || relid == role_bindings_relid) {
    ForgetRoleBindings();
    ++lifecycle_generation;
  }
  if (relid == InvalidOid || relid == privileged_bindings_relid) {
    ForgetPrivilegedBindings();
    ++lifecycle_generation;
  }
}

// Any change to pg_authid (ALTER ROLE ... SUPERUSER/BYPASSRLS, DROP ROLE) re-checks
// bound identities at their next statement.
void OnRoleInvalidation(Datum, CompatSysCacheId, uint32) { ++lifecycle_generation; }

}  // namespace

void RegisterLifecycle() {
  CacheRegisterRelcacheCallback(OnRelcacheInvalidation, 0);
  CacheRegisterSyscacheCallback(AUTHOID, OnRoleInvalidation, 0);
  RegisterRoleBindingHooks();
  RegisterRoleHazardCallbacks();
}

Admission AdmitIdentity(Identity* identity, const char** detail) {
  RememberRelids();
  if (IdentityRevoked(identity, detail)) return Admission::kRevoked;
  if (!BindIdentityRole(identity, detail)) return Admission::kRoleNotAllowed;
  identity->lifecycle_generation = lifecycle_generation;
  return Admission::kAdmitted;
}

void RecheckIdentity(Identity* identity) {
  if (identity->lifecycle_generation == lifecycle_generation || IsParallelWorker()) return;
  RememberRelids();
  const char* detail = nullptr;
  if (IdentityRevoked(identity, &detail)) {
    ReportInvalidToken(detail, "Authenticate again with a fresh token.");
  }
  if (OidIsValid(identity->bound_role)) {
    const Oid bound = identity->bound_role;
    detail = nullptr;
    if (!BindIdentityRole(identity, &detail) || identity->bound_role != bound) {
      identity->bound_role = bound;  // the role in force stays what the token got
      ReportInvalidToken(detail != nullptr ? detail : "the token's role is no longer allowed",
                         "Authenticate again with a token whose role is allowed.");
    }
  }
  identity->lifecycle_generation = lifecycle_generation;
}

}  // namespace rowguard::pg
