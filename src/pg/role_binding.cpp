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
//
// Since 0.3.0 (docs/roles.md): every statement of a bound identity runs the whole
// identity check (RequireCurrentIdentity: expiry, key, revocation, binding); utility
// statements that would create objects or change privileges are refused while the bound
// role is the current user; a cursor read on in a later statement (FETCH/MOVE, a
// function's FETCH) re-checks any identity; a binding for an issuer needs a key of that
// issuer; which roles can never be bound is role_hazard.cpp's; and a token from the
// startup packet is admitted only once the session's settings are applied.
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
#include "parser/analyze.h"
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
#include "rowguard/pg/oauth_login.hpp"
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

// How a binding matches an identity: a binding for any issuer matches every token; one
// for an issuer matches a token with that iss only when the key that verified it is
// registered for that issuer (a key without an issuer accepts any iss, so a token it
// verified may claim any issuer).
enum class BindingMatch { kNone, kAllowed, kIssuerNotFromKey };

BindingMatch RoleAllowed(Oid role, const Identity* identity) {
  LoadBindings();
  const char* issuer = IdentityIss(identity);
  const bool key_has_issuer = (identity->flags & kIdentityKeyHasIssuer) != 0;
  BindingMatch answer = BindingMatch::kNone;
  for (int i = 0; i < binding_count; ++i) {
    if (bindings[i].role != role) continue;
    if (bindings[i].issuer == nullptr) return BindingMatch::kAllowed;
    if (strcmp(bindings[i].issuer, issuer) != 0) continue;
    if (key_has_issuer) return BindingMatch::kAllowed;
    answer = BindingMatch::kIssuerNotFromKey;
  }
  return answer;
}

char role_detail[kDetailSize];
// A quoted role or claim name inside role_detail: names are at most NAMEDATALEN - 1
// bytes, quoted and escaped by BridgeQuote; a longer quote is cut, leaving room for the
// sentence around it.
constexpr std::size_t kQuotedNameSize = 128;

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

// At a statement start: the identity still stands - every check that ends an identity
// (expiry with its leeway, the key that verified it removed or replaced, revocation,
// the binding, the role) - and its role is still the current one. RequireCurrentIdentity
// is the one place those checks live (identity.cpp); a bound identity runs it at every
// statement, not only when a claim is read, because its privileges came from the token.
// Also for a session that signed in with OAuth (oauth_login.cpp): its login itself came
// from the token, so no statement runs once the identity no longer stands.
void CheckBoundIdentity() {
  if (!(bound_applied || OAuthSignedIn()) || InWorker() || current_identity == nullptr) return;
  AcceptInvalidationMessages();
  RequireCurrentIdentity();
  if (bound_applied) EnforceBoundRole();
}

// ---- a token from the startup packet (docs/roles.md, "Tokens given at connection") ----
//
// PostgreSQL applies the startup packet's options (PGOPTIONS, -c rowguard.token=...)
// before the settings of ALTER ROLE/DATABASE ... SET (rowguard.role_binding_claim,
// rowguard.audience, ...). With rowguard preloaded, rowguard.token's check hook runs at
// the first of those moments, so the token would be admitted under settings that are not
// yet the session's. Instead such a value is kept unverified (no identity, the login
// role) and admitted at the session's first statement, or first claim read, with the
// settings then in force. A value that PostgreSQL later restores (RESET, DISCARD ALL,
// ROLLBACK) is kept as the verified one.

bool DeferredValue() {
  return !InWorker() && current_identity == nullptr && setting_token != nullptr &&
         setting_token[0] != '\0';
}

bool admitting_startup_token = false;

// ---- objects made while bound (docs/roles.md, "Nothing is created while bound") ----

// Utility statements a bound role may run: transaction control, settings, cursors,
// prepared statements, COPY, EXPLAIN, DO, CALL, LOCK, LISTEN/NOTIFY, TRUNCATE, DROP, and
// temporary tables. Everything else - functions, procedures, views, triggers, rules,
// types, operators, schemas, permanent tables, indexes, ALTER ... OWNER, GRANT, ALTER
// ROLE, ALTER DEFAULT PRIVILEGES, ... - would leave an object owned by the bound role, or
// a privilege it gave, that keeps acting with the role's rights after the token is gone.
bool MayRunWhileBound(const Node* statement) {
  switch (nodeTag(statement)) {
    case T_TransactionStmt:
    case T_VariableSetStmt:
    case T_VariableShowStmt:
    case T_DiscardStmt:
    case T_DeclareCursorStmt:
    case T_FetchStmt:
    case T_ClosePortalStmt:
    case T_PrepareStmt:
    case T_ExecuteStmt:
    case T_DeallocateStmt:
    case T_CopyStmt:
    case T_DoStmt:
    case T_CallStmt:
    case T_LockStmt:
    case T_NotifyStmt:
    case T_ListenStmt:
    case T_UnlistenStmt:
    case T_TruncateStmt:
    case T_ConstraintsSetStmt:
    case T_DropStmt:
      return true;
    case T_CreateStmt: {
      const auto* create = reinterpret_cast<const CreateStmt*>(statement);
      return create->relation != nullptr && create->relation->relpersistence == RELPERSISTENCE_TEMP;
    }
    case T_CreateTableAsStmt: {
      const auto* create = reinterpret_cast<const CreateTableAsStmt*>(statement);
      return create->objtype == OBJECT_TABLE && create->into != nullptr &&
             create->into->rel != nullptr &&
             create->into->rel->relpersistence == RELPERSISTENCE_TEMP;
    }
    case T_ExplainStmt: {
      const auto* explain = reinterpret_cast<const ExplainStmt*>(statement);
      const auto* query = reinterpret_cast<const Query*>(explain->query);
      return query == nullptr || !IsA(query, Query) || query->commandType != CMD_UTILITY ||
             query->utilityStmt == nullptr || MayRunWhileBound(query->utilityStmt);
    }
    default:
      return false;
  }
}

void RefuseObjectsWhileBound(const Node* statement, ProcessUtilityContext context) {
  if (!bound_applied || InWorker() || context == PROCESS_UTILITY_SUBCOMMAND) return;
  // A security-definer function owned by another role creates as that role, not as the
  // bound one.
  if (GetUserId() != applied_role || MayRunWhileBound(statement)) return;
  ereport(ERROR,
          (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
           errmsg("cannot create objects or change privileges while a role-bound token is in "
                  "force"),
           errdetail("Objects and grants made by the bound role would keep its rights after "
                     "the token's identity ends."),
           errhint("Create objects as an administrator, outside a role-bound identity.")));
}

// ---- hooks ----

ExecutorStart_hook_type previous_executor_start = nullptr;
ExecutorEnd_hook_type previous_executor_end = nullptr;
ProcessUtility_hook_type previous_process_utility = nullptr;
post_parse_analyze_hook_type previous_post_parse_analyze = nullptr;

// Before rewriting (row level security is applied there, for the role then in force).
void BoundPostParseAnalyze(ParseState* pstate, Query* query, CompatJumbleState* jstate) {
  if (DeferredValue()) AdmitStartupToken();
  if (previous_post_parse_analyze != nullptr) previous_post_parse_analyze(pstate, query, jstate);
}

// ---- cursors read in a later statement than the one that opened them ----
//
// A cursor's plan evaluated the claims it needed when it started; reading on from it in a
// later statement (SQL FETCH/MOVE, PL/pgSQL FETCH, a refcursor) must not outlive the
// identity. A query started inside another statement (DECLARE, or a function's OPEN) is
// remembered with the start of that statement; a run of it in a later statement checks
// the identity first. Queries started at the top level (a simple query, the extended
// protocol's Bind) are not cursors and are left alone: their Execute message is a later
// "statement" by the clock, but the same request.

struct StartedQuery {
  const QueryDesc* query;
  TimestampTz statement;
};
constexpr int kStartedQueries = 64;
StartedQuery started_queries[kStartedQueries];
int started_count = 0;
int nesting = 0;  // executor runs and utility statements in progress

void RememberStartedQuery(const QueryDesc* query) {
  if (started_count < kStartedQueries) {
    started_queries[started_count++] = {query, GetCurrentStatementStartTimestamp()};
  }
}

void ForgetStartedQuery(const QueryDesc* query) {
  for (int i = started_count - 1; i >= 0; --i) {
    if (started_queries[i].query == query) {
      started_queries[i] = started_queries[--started_count];
      return;
    }
  }
}

// True when the query is a remembered nested one that started in an earlier statement.
bool ContinuesEarlierStatement(const QueryDesc* query) {
  for (int i = started_count - 1; i >= 0; --i) {
    if (started_queries[i].query == query) {
      return started_queries[i].statement != GetCurrentStatementStartTimestamp();
    }
  }
  return false;
}

ExecutorRun_hook_type previous_executor_run = nullptr;

void BoundExecutorStart(QueryDesc* query, int eflags) {
  if (DeferredValue()) AdmitStartupToken();
  CheckBoundIdentity();
  CallExecutorStart(previous_executor_start, query, eflags);
  if (nesting > 0 && !InWorker()) RememberStartedQuery(query);
}

void BoundExecutorRun(QueryDesc* query, ScanDirection direction,
                      uint64 count COMPAT_EXECUTOR_RUN_ONCE_PARAM) {
  if (current_identity != nullptr && !InWorker() && ContinuesEarlierStatement(query)) {
    AcceptInvalidationMessages();
    RequireCurrentIdentity();
  }
  ++nesting;
  PG_TRY();
  { CallExecutorRun(previous_executor_run, query, direction, count COMPAT_EXECUTOR_RUN_ONCE_ARG); }
  PG_FINALLY();
  { --nesting; }
  PG_END_TRY();
}

void BoundExecutorEnd(QueryDesc* query) {
  ForgetStartedQuery(query);
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
  if (DeferredValue() && !EndsOrInspects(statement)) AdmitStartupToken();
  const bool checked = (bound_applied || OAuthSignedIn()) && !InWorker() && !EndsOrInspects(statement);
  if (bound_applied && !InWorker() && ChangesRole(statement)) ReportRoleChangeRefused();
  if (checked) CheckBoundIdentity();
  RefuseObjectsWhileBound(statement, context);
  // FETCH and MOVE read on from a portal whose plan already evaluated the claims it
  // needed: an identity that ended since (revoked, expired, its key removed) must not
  // keep yielding rows, bound or not.
  if (IsA(statement, FetchStmt) && current_identity != nullptr && !InWorker()) {
    AcceptInvalidationMessages();
    RequireCurrentIdentity();
  }
  ++nesting;
  PG_TRY();
  {
    CallProcessUtility(previous_process_utility, pstmt, query_string, read_only_tree, context,
                       params, query_env, dest, qc);
  }
  PG_FINALLY();
  { --nesting; }
  PG_END_TRY();
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
      started_count = 0;  // no query runs on into the next transaction
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

bool DeferStartupToken(int guc_source) {
  // The startup packet's options are applied while the backend is still initializing
  // (before NormalProcessing), and before the role's and database's settings.
  return guc_source == PGC_S_CLIENT && !IsNormalProcessingMode() && !InWorker() &&
         !admitting_startup_token;
}

void AdmitStartupToken() {
  if (!DeferredValue() || admitting_startup_token || !IsTransactionState()) return;
  char* value = pstrdup(setting_token);
  admitting_startup_token = true;
  // The same source as at connection: not transactional, and it becomes the value that
  // RESET and DISCARD ALL return to. A refused token ends the connection, as it would
  // have at connection time.
  const int changed = set_config_option("rowguard.token", value, PGC_USERSET, PGC_S_CLIENT,
                                        GUC_ACTION_SET, true, FATAL, false);
  admitting_startup_token = false;
  pfree(value);
  (void)changed;
}

int ReadAllBindingRows(unsigned int bindings_relid, BindingRow** rows) {
  return ReadBindingRows(bindings_relid, rows);
}

void RegisterRoleBindingHooks() {
  ChainHook(ExecutorStart_hook, previous_executor_start, BoundExecutorStart);
  ChainHook(ExecutorEnd_hook, previous_executor_end, BoundExecutorEnd);
  ChainHook(ExecutorRun_hook, previous_executor_run, BoundExecutorRun);
  ChainHook(ProcessUtility_hook, previous_process_utility, BoundProcessUtility);
  ChainHook(post_parse_analyze_hook, previous_post_parse_analyze, BoundPostParseAnalyze);
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
    char safe[kQuotedNameSize];
    BridgeQuote(safe, sizeof(safe), claim, strlen(claim));
    snprintf(role_detail, sizeof(role_detail), "claim %s must be a string naming a role", safe);
    return false;
  }
  char name[NAMEDATALEN];
  char safe[kQuotedNameSize];
  BridgeQuote(safe, sizeof(safe), value.val.string.val, value.val.string.len);
  const int length = value.val.string.len;
  Oid role = InvalidOid;
  if (length > 0 && length < NAMEDATALEN && memchr(value.val.string.val, '\0', length) == nullptr) {
    memcpy(name, value.val.string.val, length);
    name[length] = '\0';
    role = get_role_oid(name, true);
  }
  const BindingMatch match = OidIsValid(role) ? RoleAllowed(role, identity) : BindingMatch::kNone;
  if (match == BindingMatch::kIssuerNotFromKey) {
    snprintf(role_detail, sizeof(role_detail),
             "role %s named by the token is allowed for its issuer only with a key registered "
             "for that issuer",
             safe);
    return false;
  }
  if (match != BindingMatch::kAllowed) {
    snprintf(role_detail, sizeof(role_detail),
             "role %s named by the token is not allowed for tokens of this issuer", safe);
    return false;
  }
  // Memberships, attributes and ownerships change after allow_role: checked again here.
  // BYPASSRLS only with the explicit opt-in (privileged_binding.cpp); a superuser never.
  const bool allow_bypassrls = PrivilegedBindingAllowed(role, IdentityIss(identity));
  if (const char* hazard = RoleBindingHazard(role, allow_bypassrls)) {
    snprintf(role_detail, sizeof(role_detail), "role %s named by the token %s", safe, hazard);
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
