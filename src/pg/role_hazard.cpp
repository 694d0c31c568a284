// Which roles may never be bound to tokens (docs/roles.md, "Roles that cannot be
// bound"): a bound role must stay under every policy, so a role that is a superuser,
// has BYPASSRLS or CREATEROLE, can log in, reaches the privileges of a superuser or
// BYPASSRLS role or of the predefined roles that read or write files, programs or all
// data, or owns (itself or through a membership) a table with row level security, is
// refused. One check (RoleBindingHazard) serves allow_role (through
// rowguard._role_binding_hazard), lint and every admission of a bound token; its
// `allow_bypassrls` lets a binding that opted into BYPASSRLS skip exactly the BYPASSRLS
// parts.
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_shdepend.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

#include <cstdint>
#include <cstring>

#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {
namespace {

constexpr std::size_t kReasonSize = 256;

// Verdicts are remembered per (role, allow_bypassrls) until any role, membership or
// relation changes.
struct Verdict {
  Oid role;
  bool allow_bypassrls;
  bool hazardous;
  std::uint64_t generation;
  char reason[kReasonSize];
};
constexpr int kVerdicts = 8;
Verdict verdicts[kVerdicts];
int next_verdict = 0;
std::uint64_t catalog_generation = 1;

char reason[kReasonSize];

// Any relation may have changed owner or row level security: identities admitted before
// are admitted again (cached tokens) or re-checked (bound identities, at their next
// statement). The check is a few index probes, so this costs little.
void OnRelcache(Datum, Oid) {
  ++catalog_generation;
  ++lifecycle_generation;
}
void OnRole(Datum, CompatSysCacheId, uint32) { ++catalog_generation; }
// A membership granted or revoked re-checks bound identities too (the roles they reach).
void OnMembership(Datum, CompatSysCacheId, uint32) {
  ++catalog_generation;
  ++lifecycle_generation;
}

const char* RoleName(Oid role) {
  const char* name = GetUserNameFromId(role, true);
  return name != nullptr ? quote_identifier(name) : "(dropped role)";
}

// The roles whose privileges `role` can reach (itself included), from one pass over
// pg_authid; true with `reason` set when one of them is a superuser or (unless allowed)
// has BYPASSRLS. The reached roles are left in *reached (palloc'd).
bool ReachesPrivilegedRole(Oid role, bool allow_bypassrls, Oid** reached, int* reached_count) {
  int capacity = 8;
  *reached = static_cast<Oid*>(palloc(sizeof(Oid) * capacity));
  *reached_count = 0;
  Relation rel = table_open(AuthIdRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tuple;
  bool found = false;
  while (!found && (tuple = systable_getnext(scan)) != nullptr) {
    const auto* form = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple));
    if (form->oid != role && !is_member_of_role(role, form->oid)) continue;
    if (*reached_count == capacity) {
      capacity *= 2;
      *reached = static_cast<Oid*>(repalloc(*reached, sizeof(Oid) * capacity));
    }
    (*reached)[(*reached_count)++] = form->oid;
    if (form->oid == role) continue;
    const bool super = form->rolsuper;
    if (!super && !(form->rolbypassrls && !allow_bypassrls)) continue;
    snprintf(reason, sizeof(reason), "is a member of %s role %s",
             super ? "superuser" : "BYPASSRLS", quote_identifier(NameStr(form->rolname)));
    found = true;
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return found;
}

// A table of this database with row level security enabled that `owner` owns (an index
// probe of pg_shdepend's owner entries): owners are exempt from its policies (unless
// FORCE, which they may drop).
bool OwnsTableWithPolicies(Oid role, Oid owner) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_shdepend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(AuthIdRelationId));
  ScanKeyInit(&keys[1], Anum_pg_shdepend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(owner));
  Relation rel = table_open(SharedDependRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(rel, SharedDependReferenceIndexId, true, nullptr, 2, keys);
  HeapTuple tuple;
  bool found = false;
  while (!found && (tuple = systable_getnext(scan)) != nullptr) {
    const auto* dep = reinterpret_cast<Form_pg_shdepend>(GETSTRUCT(tuple));
    if (dep->dbid != MyDatabaseId || dep->classid != RelationRelationId ||
        dep->deptype != SHARED_DEPENDENCY_OWNER) {
      continue;
    }
    HeapTuple relation = SearchSysCache1(RELOID, ObjectIdGetDatum(dep->objid));
    if (!HeapTupleIsValid(relation)) continue;
    const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(relation));
    if (form->relrowsecurity) {
      const char* schema = get_namespace_name(form->relnamespace);
      const char* table =
          quote_qualified_identifier(schema != nullptr ? schema : "?", NameStr(form->relname));
      if (owner == role) {
        snprintf(reason, sizeof(reason), "owns table %s, which has row level security", table);
      } else {
        snprintf(reason, sizeof(reason),
                 "is a member of role %s, which owns table %s with row level security",
                 RoleName(owner), table);
      }
      found = true;
    }
    ReleaseSysCache(relation);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return found;
}

// The uncached check: true with `reason` set when `role` may not be bound (allow_login:
// or sign in with an OAuth token, for which LOGIN is needed and allowed).
bool Hazardous(Oid role, bool allow_bypassrls, bool allow_login = false) {
  HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
  if (!HeapTupleIsValid(tuple)) {
    strlcpy(reason, "does not exist", sizeof(reason));
    return true;
  }
  const auto* form = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple));
  const char* own = nullptr;
  if (form->rolsuper) {
    own = "is a superuser";
  } else if (form->rolbypassrls && !allow_bypassrls) {
    own = "has BYPASSRLS";
  } else if (form->rolcreaterole) {
    own = "has CREATEROLE";
  } else if (form->rolreplication && allow_login) {
    own = "has REPLICATION";
  } else if (form->rolcanlogin && !allow_login) {
    own = "can log in (LOGIN), so a token holder could give it a password";
  }
  ReleaseSysCache(tuple);
  if (own != nullptr) {
    strlcpy(reason, own, sizeof(reason));
    return true;
  }
  Oid* reached = nullptr;
  int reached_count = 0;
  bool hazardous = ReachesPrivilegedRole(role, allow_bypassrls, &reached, &reached_count);
  static const char* const kPredefined[] = {"pg_execute_server_program", "pg_read_server_files",
                                            "pg_write_server_files", "pg_read_all_data",
                                            "pg_write_all_data"};
  for (const char* name : kPredefined) {
    if (hazardous) break;
    const Oid predefined = get_role_oid(name, true);
    if (OidIsValid(predefined) && is_member_of_role(role, predefined)) {
      snprintf(reason, sizeof(reason), "is a member of %s", name);
      hazardous = true;
    }
  }
  for (int i = 0; i < reached_count && !hazardous; ++i) {
    hazardous = OwnsTableWithPolicies(role, reached[i]);
  }
  pfree(reached);
  return hazardous;
}

}  // namespace

void RegisterRoleHazardCallbacks() {
  CacheRegisterRelcacheCallback(OnRelcache, 0);
  CacheRegisterSyscacheCallback(AUTHOID, OnRole, 0);
  CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, OnMembership, 0);
}

const char* RoleBindingHazard(std::uint32_t role, bool allow_bypassrls) {
  for (const Verdict& v : verdicts) {
    if (v.generation == catalog_generation && v.role == role &&
        v.allow_bypassrls == allow_bypassrls) {
      return v.hazardous ? v.reason : nullptr;
    }
  }
  const std::uint64_t generation = catalog_generation;
  const bool hazardous = Hazardous(role, allow_bypassrls);
  // Scanning the catalogs may have read invalidations: remember only a verdict reached
  // under one unchanged generation.
  if (generation == catalog_generation) {
    Verdict& v = verdicts[next_verdict];
    next_verdict = (next_verdict + 1) % kVerdicts;
    v.role = role;
    v.allow_bypassrls = allow_bypassrls;
    v.hazardous = hazardous;
    v.generation = generation;
    strlcpy(v.reason, hazardous ? reason : "", sizeof(v.reason));
  }
  return hazardous ? reason : nullptr;
}

const char* OAuthLoginHazard(std::uint32_t role) {
  return Hazardous(role, false, true) ? reason : nullptr;
}

}  // namespace rowguard::pg

// rowguard._oauth_login_hazard(role regrole) -> text: why the role can never sign in with
// an OAuth token, or NULL (docs/oauth.md).
ROWGUARD_SQL_FUNCTION(rowguard_oauth_login_hazard) {
  const char* hazard = rowguard::pg::OAuthLoginHazard(PG_GETARG_OID(0));
  if (hazard == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(hazard));
}

// rowguard._role_binding_hazard(role regrole, allow_bypassrls boolean) -> text: why the
// role cannot be bound to tokens (a phrase such as "has CREATEROLE"), or NULL.
ROWGUARD_SQL_FUNCTION(rowguard_role_binding_hazard) {
  const Oid role = PG_GETARG_OID(0);
  const bool allow_bypassrls = PG_GETARG_BOOL(1);
  const char* hazard = rowguard::pg::RoleBindingHazard(role, allow_bypassrls);
  if (hazard == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(hazard));
}
