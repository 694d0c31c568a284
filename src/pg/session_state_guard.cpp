// Pooled connections: a transaction-scoped identity does not start on top of session
// state an earlier transaction left behind. Through a transaction pooler one server
// connection serves many clients in turn; a temporary view named like a real table
// (the temporary schema is searched first), a pg_temp function behind it, or a cursor
// would run or keep rows under the next client's identity and hand them to whoever
// uses the connection after it. See docs/security-model.md, "Pooled connections".
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_namespace.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/portal.h"
#include "utils/rel.h"
}

#include "rowguard/pg/session_state_guard.hpp"

namespace rowguard::pg {

TokenScopeHint pending_token_scope = TokenScopeHint::kUnknown;

namespace {

// Every object in a schema depends on it, so one probe of pg_depend's reference index
// answers "does the temporary schema hold anything" for relations, views, sequences,
// functions, types and operators alike.
bool NamespaceHoldsObjects(Oid namespace_oid) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(NamespaceRelationId));
  ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(namespace_oid));
  Relation depend = table_open(DependRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 2, keys);
  const bool found = HeapTupleIsValid(systable_getnext(scan));
  systable_endscan(scan);
  table_close(depend, AccessShareLock);
  return found;
}

}  // namespace

bool SessionStateAllowsTransactionIdentity(const char** detail) {
  // A portal in the ready state is a cursor that is open and not running: one declared
  // WITH HOLD in an earlier transaction, or one declared earlier in this transaction,
  // which would be materialized under this identity at COMMIT if it is held.
  if (!ThereAreNoReadyPortals()) {
    *detail =
        "An open cursor in this session would read rows under this identity, and a cursor "
        "WITH HOLD keeps them after it ends.";
    return false;
  }
  Oid temp_namespace = InvalidOid, temp_toast_namespace = InvalidOid;
  GetTempNamespaceState(&temp_namespace, &temp_toast_namespace);
  if (OidIsValid(temp_namespace) && NamespaceHoldsObjects(temp_namespace)) {
    *detail =
        "This session's temporary schema holds objects, which unqualified names reach before "
        "the real tables and which outlive this identity.";
    return false;
  }
  return true;
}

bool TokenMayStartHere(int guc_source, const char** detail) {
  // Values restored at the session's start (startup packet, ALTER ROLE/DATABASE SET)
  // come before any transaction of the session; a parallel worker only copies its
  // leader's identity.
  if (guc_source != PGC_S_SESSION || InitializingParallelWorker || IsParallelWorker()) return true;
  if (pending_token_scope == TokenScopeHint::kSession ||
      pending_token_scope == TokenScopeHint::kTestIdentity) {
    return true;
  }
  return SessionStateAllowsTransactionIdentity(detail);
}

void SetSessionStateCheckError(const char* detail) {
  GUC_check_errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
  GUC_check_errmsg("cannot start a transaction identity on top of this session's state");
  GUC_check_errdetail("%s", detail);
  GUC_check_errhint(
      "Run DISCARD ALL before the connection is handed on (a pooler's reset query), or drop "
      "the temporary objects and close the cursors first.");
}

}  // namespace rowguard::pg
