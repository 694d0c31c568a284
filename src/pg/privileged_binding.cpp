// Privileged role bindings (docs/roles.md, "Privileged bindings"): the explicit opt-in,
// rowguard.allow_privileged_role, that lets a token's role claim name a role with
// BYPASSRLS (Supabase's service_role). Superusers are never bindable; every other rule
// of role binding (role_bindings, the issuer) still applies. The opt-ins live in their
// own table, rowguard.privileged_role_bindings, loaded whole like role_bindings and
// dropped on its relcache invalidation (lifecycle.cpp), which also makes every bound
// identity be checked again at its next statement.
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include <cstring>

#include "rowguard/pg/lifecycle.hpp"

namespace rowguard::pg {

namespace {

struct PrivilegedBinding {
  Oid role;
  char* issuer;  // nullptr: tokens of any issuer
};

constexpr int kRole = 1, kIssuer = 2;

MemoryContext privileged_context = nullptr;
PrivilegedBinding* privileged = nullptr;
int privileged_count = 0;
bool privileged_valid = false;

void LoadPrivilegedBindings() {
  if (privileged_valid) return;
  if (privileged_context == nullptr) {
    privileged_context = AllocSetContextCreate(TopMemoryContext, "rowguard privileged bindings",
                                               ALLOCSET_SMALL_SIZES);
  }
  MemoryContextReset(privileged_context);
  privileged = nullptr;
  privileged_count = 0;
  const Oid table = PrivilegedBindingsRelid();
  if (OidIsValid(table)) {
    Relation rel = table_open(table, AccessShareLock);
    TupleDesc desc = RelationGetDescr(rel);
    if (desc->natts < kIssuer)
      elog(ERROR, "rowguard.privileged_role_bindings has an unexpected shape");
    int capacity = 4;
    privileged = static_cast<PrivilegedBinding*>(
        MemoryContextAlloc(privileged_context, sizeof(PrivilegedBinding) * capacity));
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr) {
      bool is_null;
      const Datum role = heap_getattr(tuple, kRole, desc, &is_null);
      if (is_null) continue;
      if (privileged_count == capacity) {
        capacity *= 2;
        privileged = static_cast<PrivilegedBinding*>(
            repalloc(privileged, sizeof(PrivilegedBinding) * capacity));
      }
      const Datum issuer = heap_getattr(tuple, kIssuer, desc, &is_null);
      privileged[privileged_count].role = DatumGetObjectId(role);
      privileged[privileged_count].issuer =
          is_null ? nullptr : MemoryContextStrdup(privileged_context, TextDatumGetCString(issuer));
      ++privileged_count;
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
  }
  privileged_valid = true;
}

}  // namespace

Oid PrivilegedBindingsRelid() {
  const Oid schema = get_namespace_oid("rowguard", true);
  return OidIsValid(schema) ? get_relname_relid("privileged_role_bindings", schema) : InvalidOid;
}

bool PrivilegedBindingAllowed(Oid role, const char* issuer) {
  LoadPrivilegedBindings();
  for (int i = 0; i < privileged_count; ++i) {
    if (privileged[i].role == role &&
        (privileged[i].issuer == nullptr || strcmp(privileged[i].issuer, issuer) == 0)) {
      return true;
    }
  }
  return false;
}

void ForgetPrivilegedBindings() { privileged_valid = false; }

}  // namespace rowguard::pg
