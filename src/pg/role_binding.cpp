// Role-bound tokens (docs/roles.md): a verified token whose claim
// (rowguard.role_binding_claim) names an allowed role makes that role current_user for
// exactly the identity's scope.
//
// The switch happens in the token GUC's assign hook (ApplyRoleBinding), which
// PostgreSQL runs on every change of the identity - SET, SET LOCAL, set_config,
// COMMIT/ROLLBACK restore, ROLLBACK TO SAVEPOINT, RESET, DISCARD ALL - so the role
// follows the identity exactly. It uses SetCurrentRoleId, the same call as SET ROLE,
// but without the membership check: the bound role need not be granted to anyone.
//
// While a bound role is in force, the session's own ways to change role are refused
// (SET/RESET ROLE, SET SESSION AUTHORIZATION) and every statement start and end, every
// utility statement and every commit checks that the outer role is still the bound
// one; a change (set_config('role'), a function's SET role clause) raises an error,
// which rolls the change back. When PostgreSQL itself restores the `role` setting at
// the end of a transaction or subtransaction while the identity stays, the bound role
// is put back at the next statement (reassert_pending).
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

#include <cstring>

#include "rowguard/pg/claim_path.hpp"
#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/shared_key_snapshot.hpp"
#include "rowguard/pg/identity.hpp"

namespace rowguard::pg {

namespace {

// ---- the allowed roles: rowguard.role_bindings, loaded whole (administrators add one
// row per API role, so the table is small) and dropped on its invalidation ----

struct Binding {
  Oid role;
  char* issuer;  // nullptr: tokens of any issuer
};

constexpr int kBindingsRole = 1, kBindingsIssuer = 2, kBindingsColumns = 3;

MemoryContext bindings_context = nullptr;
Binding* bindings = nullptr;
int binding_count = 0;
bool bindings_valid = false;

// Every row of the table, as a build of the shared snapshot reads it too.
int ReadBindingRows(Oid table, BindingRow** rows_out) {
  Relation rel = table_open(table, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts != kBindingsColumns) elog(ERROR, "rowguard.role_bindings has an unexpected shape");
  int capacity = 8, count = 0;
  auto* rows = static_cast<BindingRow*>(palloc(sizeof(BindingRow) * capacity));
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tuple;
  while ((tuple = systable_getnext(scan)) != nullptr) {
    bool is_null;
    const Datum role = heap_getattr(tuple, kBindingsRole, desc, &is_null);
    if (is_null) continue;
    if (count == capacity) {
      capacity *= 2;
      rows = static_cast<BindingRow*>(repalloc(rows, sizeof(BindingRow) * capacity));
    }
    const Datum issuer = heap_getattr(tuple, kBindingsIssuer, desc, &is_null);
    rows[count].role = DatumGetObjectId(role);
    rows[count].issuer = is_null ? nullptr : TextDatumGetCString(issuer);
    ++count;
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  *rows_out = rows;
  return count;
}

void LoadBindings() {
  if (bindings_valid) return;
  if (bindings_context == nullptr) {
    bindings_context =
        AllocSetContextCreate(TopMemoryContext, "rowguard role bindings", ALLOCSET_SMALL_SIZES);
  }
  MemoryContextReset(bindings_context);
  bindings = nullptr;
  binding_count = 0;
  const Oid schema = get_namespace_oid("rowguard", true);
  const Oid table = OidIsValid(schema) ? get_relname_relid("role_bindings", schema) : InvalidOid;
  if (OidIsValid(table)) {
    // Preloaded, from the shared key snapshot when it can serve them.
    MemoryContext old_context = MemoryContextSwitchTo(bindings_context);
    BindingRow* rows;
    int count = 0;
    if (!SnapshotBindingRows(table, &rows, &count)) count = ReadBindingRows(table, &rows);
    MemoryContextSwitchTo(old_context);
    bindings = static_cast<Binding*>(
        MemoryContextAlloc(bindings_context, sizeof(Binding) * (count + 1)));
    for (int i = 0; i < count; ++i) {
      bindings[i].role = rows[i].role;
      bindings[i].issuer = const_cast<char*>(rows[i].issuer);
    }
    binding_count = count;
  }
  // Opening the table may have processed invalidations that arrived meanwhile; the rows
  // just read are at least that new.
  bindings_valid = true;
}

bool RoleAllowed(Oid role, const char* issuer) {
  LoadBindings();
  for (int i = 0; i < binding_count; ++i) {
    if (bindings[i].role == role &&
        (bindings[i].issuer == nullptr || strcmp(bindings[i].issuer, issuer) == 0)) {
      return true;
    }
  }
  return false;
}

char role_detail[kDetailSize];

// ---- the role in force ----

bool bound_applied = false;           // current_user is a token's bound role
Oid applied_role = InvalidOid;        // that role
Oid base_role = InvalidOid;           // GetCurrentRoleId() before: InvalidOid = no SET ROLE
bool base_is_superuser = false;       // is_superuser of base_role
bool reassert_pending = false;        // a (sub)transaction ended since the last check

bool InWorker() { return InitializingParallelWorker || IsParallelWorker(); }

bool InRestrictedContext() { return InLocalUserIdChange() || InSecurityRestrictedOperation(); }

// SetCurrentRoleId changes the outer and the current user. Inside a security-definer
// function (which the check hook refuses, so only a defensive path) the current user
// stays the definer's.
void SwitchOuterRole(Oid role, bool is_superuser) {
  if (!InRestrictedContext()) {
    SetCurrentRoleId(role, is_superuser);
    return;
  }
  Oid user;
  int context;
  GetUserIdAndSecContext(&user, &context);
  SetUserIdAndSecContext(user, 0);
  SetCurrentRoleId(role, is_superuser);
  SetUserIdAndSecContext(user, context);
}

[[noreturn]] void ReportRoleChangeRefused() {
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("cannot change role while a role-bound token is in force"),
                  errdetail("The current role comes from the token and stays until its "
                            "identity ends."),
                  errhint("End the identity first (RESET rowguard.token, or COMMIT for a "
                          "transaction-scoped one).")));
  pg_unreachable();
}

// Raises an error when the outer role is no longer the bound one, unless PostgreSQL's
// own restore of the `role` setting at a (sub)transaction end explains it: then the
// bound role is put back.
void EnforceBoundRole() {
  if (!bound_applied || InWorker()) return;
  if (GetOuterUserId() == applied_role) {
    reassert_pending = false;
    return;
  }
  if (reassert_pending && !InRestrictedContext()) {
    SetCurrentRoleId(applied_role, false);
    reassert_pending = false;
    return;
  }
  ReportRoleChangeRefused();
}

// At a statement start: the identity still stands (revocations, bindings, roles may
// have changed elsewhere) and its role is still the current one.
void CheckBoundIdentity() {
  if (!bound_applied || InWorker() || current_identity == nullptr) return;
  AcceptInvalidationMessages();
  RecheckIdentity(current_identity);
  EnforceBoundRole();
}

// ---- hooks ----

ExecutorStart_hook_type previous_executor_start = nullptr;
ExecutorEnd_hook_type previous_executor_end = nullptr;
ProcessUtility_hook_type previous_process_utility = nullptr;

void BoundExecutorStart(QueryDesc* query, int eflags) {
  CheckBoundIdentity();
  CallExecutorStart(previous_executor_start, query, eflags);
}

void BoundExecutorEnd(QueryDesc* query) {
  CallExecutorEnd(previous_executor_end, query);
  EnforceBoundRole();
}

bool ChangesRole(const Node* statement) {
  if (!IsA(statement, VariableSetStmt)) return false;
  const auto* set = reinterpret_cast<const VariableSetStmt*>(statement);
  return set->name != nullptr &&
         (pg_strcasecmp(set->name, "role") == 0 ||
          pg_strcasecmp(set->name, "session_authorization") == 0);
}

// Statements that must work while the identity no longer stands, so the session can
// leave it: transaction control, SET/RESET/SHOW, DISCARD.
bool EndsOrInspects(const Node* statement) {
  return IsA(statement, TransactionStmt) || IsA(statement, VariableSetStmt) ||
         IsA(statement, VariableShowStmt) || IsA(statement, DiscardStmt);
}

void BoundProcessUtility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                         ProcessUtilityContext context, ParamListInfo params,
                         QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  const Node* statement = pstmt->utilityStmt;
  const bool checked = bound_applied && !InWorker() && !EndsOrInspects(statement);
  if (bound_applied && !InWorker() && ChangesRole(statement)) ReportRoleChangeRefused();
  if (checked) CheckBoundIdentity();
  CallProcessUtility(previous_process_utility, pstmt, query_string, read_only_tree, context,
                     params, query_env, dest, qc);
  if (!IsA(statement, TransactionStmt)) EnforceBoundRole();
}

void OnXactEvent(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
      // Nothing commits while the outer role is one the token did not give.
      EnforceBoundRole();
      break;
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PREPARE:
      reassert_pending = true;
      break;
    default:
      break;
  }
}

void OnSubXactEvent(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (event == SUBXACT_EVENT_ABORT_SUB) reassert_pending = true;
}

}  // namespace

void ForgetRoleBindings() { bindings_valid = false; }

int ReadAllBindingRows(unsigned int bindings_relid, BindingRow** rows) {
  return ReadBindingRows(bindings_relid, rows);
}

void RegisterRoleBindingHooks() {
  ChainHook(ExecutorStart_hook, previous_executor_start, BoundExecutorStart);
  ChainHook(ExecutorEnd_hook, previous_executor_end, BoundExecutorEnd);
  ChainHook(ProcessUtility_hook, previous_process_utility, BoundProcessUtility);
  RegisterXactCallback(OnXactEvent, nullptr);
  RegisterSubXactCallback(OnSubXactEvent, nullptr);
}

bool BindIdentityRole(Identity* identity, const char** detail) {
  *detail = role_detail;
  identity->bound_role = InvalidOid;
  const char* claim = setting_role_binding_claim;
  if (claim == nullptr || claim[0] == '\0') return true;
  JsonbValue value;
  if (!FindClaim(static_cast<const Jsonb*>(IdentityJsonb(identity)), claim,
                 static_cast<int>(strlen(claim)), &value)) {
    return true;  // no claim: the token changes no role
  }
  if (value.type != jbvString) {
    char safe[kFactSize];
    BridgeQuote(safe, sizeof(safe), claim, strlen(claim));
    snprintf(role_detail, sizeof(role_detail), "claim %s must be a string naming a role", safe);
    return false;
  }
  char name[NAMEDATALEN];
  char safe[kFactSize];
  BridgeQuote(safe, sizeof(safe), value.val.string.val, value.val.string.len);
  const int length = value.val.string.len;
  Oid role = InvalidOid;
  if (length > 0 && length < NAMEDATALEN && memchr(value.val.string.val, '\0', length) == nullptr) {
    memcpy(name, value.val.string.val, length);
    name[length] = '\0';
    role = get_role_oid(name, true);
  }
  if (!OidIsValid(role) || !RoleAllowed(role, IdentityIss(identity))) {
    snprintf(role_detail, sizeof(role_detail),
             "role %s named by the token is not allowed for tokens of this issuer", safe);
    return false;
  }
  HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
  if (!HeapTupleIsValid(tuple)) {
    snprintf(role_detail, sizeof(role_detail), "role %s named by the token does not exist", safe);
    return false;
  }
  const auto* form = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple));
  const bool privileged = form->rolsuper || form->rolbypassrls;
  ReleaseSysCache(tuple);
  if (privileged) {
    snprintf(role_detail, sizeof(role_detail),
             "role %s named by the token is a superuser or has BYPASSRLS", safe);
    return false;
  }
  identity->bound_role = role;
  return true;
}

const char* RoleBindingRefusal(const Identity* identity) {
  if (InWorker()) return nullptr;
  const Oid target = identity != nullptr ? identity->bound_role : InvalidOid;
  const Oid current = bound_applied ? applied_role : InvalidOid;
  if (target != current && InRestrictedContext()) {
    return "a token cannot change the current role inside a security-definer function or a "
           "security-restricted operation";
  }
  return nullptr;
}

void ApplyRoleBinding(const Identity* identity) {
  if (InWorker() || !OidIsValid(GetSessionUserId())) return;
  const Oid target = identity != nullptr ? identity->bound_role : InvalidOid;
  if (!bound_applied || GetOuterUserId() != applied_role) {
    // No bound role is in force (or PostgreSQL's restore of the `role` setting just
    // replaced it): the role in force now is the one to return to.
    bound_applied = false;
    base_role = GetCurrentRoleId();
    const char* superuser = GetConfigOption("is_superuser", true, false);
    base_is_superuser = superuser != nullptr && strcmp(superuser, "on") == 0;
  }
  if (OidIsValid(target)) {
    if (bound_applied && applied_role == target) return;
    SwitchOuterRole(target, false);
    bound_applied = true;
    applied_role = target;
  } else if (bound_applied) {
    SwitchOuterRole(base_role, base_is_superuser);
    bound_applied = false;
    applied_role = InvalidOid;
  }
}

}  // namespace rowguard::pg
