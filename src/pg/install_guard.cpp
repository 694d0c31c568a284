// The install guard (docs/security-model.md, "0.3.0 hardening: the database owner").
//
// CREATE EXTENSION creates schema rowguard unless it exists. A schema that existed before
// the install and that its owner (or anyone granted CREATE) could write lets a second
// session of that role create rowguard.add_key(text) while the install runs and commit
// after the install's own check of the schema's contents: the object stays in
// rowguard's schema, and a superuser's later rowguard.add_key('{...}') runs it. The
// check of contents cannot see objects other sessions have not committed, and not every
// CREATE in a schema waits for a lock the install could hold (functions do not, on 15),
// so the guard looks at who could create in the schema instead: the schema as it was
// committed before this transaction (a snapshot that sees none of this transaction's
// own changes). It is safe when there was no such schema (this transaction made it: no
// other session can see it before it commits, and by then it is the superuser's) or
// when only superusers could create in it. Otherwise the install or update fails with
// 42P15 before it runs anything else that could resolve to a planted object.
//
// The check runs at the first utility statement of rowguard's install or update script
// once the module is loaded (the frozen 0.1.0 script loads it with its first C function)
// and again, explicitly, at the end of the script (rowguard._check_install_schema()).
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/install_guard.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {
namespace {

constexpr const char* kSchemaName = "rowguard";

ProcessUtility_hook_type previous_process_utility = nullptr;
// The transaction and extension the hook last checked (one check per install).
LocalTransactionId checked_lxid = InvalidLocalTransactionId;
Oid checked_extension = InvalidOid;

// A role other than superusers that could create objects in schema rowguard as it was
// committed before this transaction: *writer is that role, or InvalidOid with *public
// set for PUBLIC. Returns false when there was no such schema or only superusers could.
bool OtherWriterBefore(Oid* writer, bool* is_public) {
  *writer = InvalidOid;
  *is_public = false;
  // The schema the script installs into, looked up by its OID: a schema of the same name
  // that this transaction dropped does not count.
  const Oid schema = get_namespace_oid(kSchemaName, true);
  if (!OidIsValid(schema)) return false;
  // The latest committed state, without any change of this transaction: a tuple this
  // transaction inserted is visible only from a later command than the snapshot's, and
  // one it updated stays visible to a snapshot of an earlier command.
  Snapshot before = RegisterSnapshot(GetLatestSnapshot());
  before->curcid = FirstCommandId;
  Relation catalog = table_open(NamespaceRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_namespace_oid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(schema));
  SysScanDesc scan = systable_beginscan(catalog, NamespaceOidIndexId, true, before, 1, &key);
  bool found = false;
  HeapTuple tuple = systable_getnext(scan);
  if (HeapTupleIsValid(tuple)) {
    const auto* form = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple));
    if (!superuser_arg(form->nspowner)) {
      *writer = form->nspowner;
      found = true;
    } else {
      bool isnull = true;
      Datum acl_datum =
          heap_getattr(tuple, Anum_pg_namespace_nspacl, RelationGetDescr(catalog), &isnull);
      if (!isnull) {
        Acl* acl = DatumGetAclP(acl_datum);
        const AclItem* items = ACL_DAT(acl);
        for (int i = 0; i < ACL_NUM(acl) && !found; ++i) {
          if ((ACLITEM_GET_PRIVS(items[i]) & ACL_CREATE) == 0) continue;
          if (items[i].ai_grantee == ACL_ID_PUBLIC) {
            *is_public = true;
            found = true;
          } else if (!superuser_arg(items[i].ai_grantee)) {
            *writer = items[i].ai_grantee;
            found = true;
          }
        }
      }
    }
  }
  systable_endscan(scan);
  table_close(catalog, AccessShareLock);
  UnregisterSnapshot(before);
  return found;
}

void CheckInstallSchema() {
  Oid writer = InvalidOid;
  bool is_public = false;
  if (!OtherWriterBefore(&writer, &is_public)) return;
  const char* name = is_public ? nullptr : GetUserNameFromId(writer, true);
  const char* who = is_public ? "every role (PUBLIC)"
                              : psprintf("role %s", quote_identifier(name != nullptr ? name : "?"));
  ereport(ERROR,
          (errcode(ERRCODE_INVALID_SCHEMA_DEFINITION),
           errmsg("schema rowguard existed before this transaction and %s can create objects "
                  "in it",
                  who),
           errdetail("Objects another session creates there while rowguard is installed or "
                     "updated would stay in rowguard's schema, out of sight of the install's "
                     "checks."),
           errhint("Drop the schema rowguard and run CREATE EXTENSION rowguard again (or create "
                   "the schema in the same transaction, as pg_restore --single-transaction "
                   "does), or have a superuser own it with CREATE granted to no one else.")));
}

void GuardProcessUtility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                         ProcessUtilityContext context, ParamListInfo params,
                         QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  if (creating_extension && (checked_lxid != CompatLocalTransactionId() ||
                             checked_extension != CurrentExtensionObject)) {
    checked_lxid = CompatLocalTransactionId();
    checked_extension = CurrentExtensionObject;
    if (CurrentExtensionObject == get_extension_oid(kSchemaName, true)) CheckInstallSchema();
  }
  CallProcessUtility(previous_process_utility, pstmt, query_string, read_only_tree, context,
                     params, query_env, dest, qc);
}

}  // namespace

void InstallInstallGuard() {
  ChainHook(ProcessUtility_hook, previous_process_utility, GuardProcessUtility);
}

}  // namespace rowguard::pg

// rowguard._check_install_schema(): the same check, called at the end of the install and
// update scripts (src/sql/update/0.2.0--0.3.0/11_install_guard.sql).
ROWGUARD_SQL_FUNCTION(rowguard_check_install_schema) {
  rowguard::pg::CheckInstallSchema();
  PG_RETURN_VOID();
}
