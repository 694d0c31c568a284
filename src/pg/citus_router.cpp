// Router queries from the identity (docs/scaling.md, "Routing by the identity"): Citus
// prunes shards from the query's own WHERE clause, with a Const (or a bound parameter)
// compared to the distribution column, before any policy runs; a rowguard tenant policy
// (tenant_id = rowguard.claim_uuid('tenant_id')) is a STABLE call it cannot prune on, so
// every query fans out to every shard. This planner hook, which runs before Citus' (load
// rowguard after citus in shared_preload_libraries), adds the restriction
//     <distribution column> = <the value of that claim for the identity in force>
// to a query's WHERE clause when, and only when, the policy in force implies it:
// - the relation is a hash-distributed Citus table and every security qual the rewriter
//   gave its range table entry (one per RESTRICTIVE policy, one for the OR of the
//   PERMISSIVE ones, for this role and command) is
//   <distribution column> = rowguard.claim[_uuid|_bigint]('<claim>'), alone or as a
//   conjunct of an AND (combined_policy), with the same value: Citus makes every policy
//   PERMISSIVE on the shards (OR-ed), so each one must imply the condition;
// - the relation is in the top-level FROM list or under inner joins only (never on the
//   nullable side of an outer join, where a WHERE condition would drop NULL-extended
//   rows);
// - the claim is not NULL for the identity in force (evaluated here, as the shards will).
// The restriction is AND-ed, so it can only narrow what the policy allows, never widen
// it; and since the policy implies it, it narrows nothing either: the same rows, from one
// shard (Citus' router planner, Task Count 1).
//
// A plan made so holds the tenant as a constant (and one made without an identity holds
// none: it fans out). A cached plan (a prepared statement, a
// generic plan, PL/pgSQL's, an unnamed statement re-executed) must not serve another
// identity: the plan carries a plan-cache invalidation item, and the first change of the
// identity in force after such a plan was made (SET [LOCAL] rowguard.token,
// authenticate, the end of the transaction that set it) fires that item, so every cached
// plan routed by the old identity is planned again before its next use. Were one reused
// anyway, the shards' policy (which checks the forwarded token) would still return only
// rows of the new identity's tenant that are also the old one's: none.
extern "C" {
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include <cstring>

#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/settings.hpp"

namespace rowguard::pg {
namespace {

planner_hook_type previous_planner = nullptr;

// A cached plan routed by the identity exists (or may): the next identity change fires
// the invalidation item.
bool routed_plan_made = false;

// Set while planning when a tenant condition matched, whether or not a value was found
// (no identity yet: the plan fans out, and must be planned again once there is one).
bool identity_dependent = false;

// The invalidation item of routed plans: PROCOID with the hash of OID 0, which no
// function has, so no other plan carries it.
uint32 RoutedPlanHash() { return GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(InvalidOid)); }

// Distribution columns of hash-distributed tables, read from pg_dist_partition once per
// relation and forgotten on any relcache invalidation of it (Citus invalidates the
// relation's relcache entry when its metadata changes): key_store.cpp's relcache
// callback calls CitusRouterRelcacheInvalidated.
struct DistColumn {
  Oid relid;
  AttrNumber column;  // InvalidAttrNumber: not hash-distributed
};
constexpr int kDistCacheSize = 64;
DistColumn dist_cache[kDistCacheSize];
int dist_cache_used = 0;
int dist_cache_next = 0;

AttrNumber DistributionColumn(Oid relid) {
  for (int i = 0; i < dist_cache_used; ++i) {
    if (dist_cache[i].relid == relid) return dist_cache[i].column;
  }
  AttrNumber column = InvalidAttrNumber;
  // Citus preloaded in a database without the extension: no pg_dist_partition here.
  if (OidIsValid(get_extension_oid("citus", true))) {
    if (SPI_connect() != SPI_OK_CONNECT) return InvalidAttrNumber;
    Oid argtypes[1] = {OIDOID};
    Datum args[1] = {ObjectIdGetDatum(relid)};
    int rc = SPI_execute_with_args(
        "SELECT partkey FROM pg_catalog.pg_dist_partition"
        " WHERE logicalrelid OPERATOR(pg_catalog.=) $1 AND partmethod OPERATOR(pg_catalog.=) 'h'",
        1, argtypes, args, nullptr, true, 1);
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
      char* partkey = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
      if (partkey != nullptr) {
        Node* key = static_cast<Node*>(stringToNode(partkey));
        if (key != nullptr && IsA(key, Var)) column = reinterpret_cast<Var*>(key)->varattno;
      }
    }
    SPI_finish();
  }
  int slot = dist_cache_used < kDistCacheSize ? dist_cache_used++ : dist_cache_next++ % kDistCacheSize;
  dist_cache[slot].relid = relid;
  dist_cache[slot].column = column;
  return column;
}

// rowguard.claim, claim_uuid or claim_bigint with one non-null text constant.
bool IsClaimAccessor(const Node* node) {
  if (node == nullptr || !IsA(node, FuncExpr)) return false;
  const auto* call = reinterpret_cast<const FuncExpr*>(node);
  if (list_length(call->args) != 1) return false;
  const Node* arg = static_cast<const Node*>(linitial(call->args));
  if (!IsA(arg, Const) || reinterpret_cast<const Const*>(arg)->constisnull) return false;
  Oid rowguard_ns = get_namespace_oid("rowguard", true);
  if (!OidIsValid(rowguard_ns) || get_func_namespace(call->funcid) != rowguard_ns) return false;
  char* name = get_func_name(call->funcid);
  return name != nullptr && (strcmp(name, "claim") == 0 || strcmp(name, "claim_uuid") == 0 ||
                             strcmp(name, "claim_bigint") == 0);
}

const Node* StripRelabel(const Node* node) {
  while (node != nullptr && IsA(node, RelabelType)) {
    node = reinterpret_cast<const Node*>(reinterpret_cast<const RelabelType*>(node)->arg);
  }
  return node;
}

// The restriction implied by the tenant condition `qual` on range table entry `rtindex`
// (distribution column `column`), or nullptr.
Node* RestrictionFromTenantCondition(const Node* qual, Index rtindex, AttrNumber column) {
  if (qual == nullptr || !IsA(qual, OpExpr)) return nullptr;
  const auto* op = reinterpret_cast<const OpExpr*>(qual);
  if (list_length(op->args) != 2 || op->opretset) return nullptr;
  int var_side = -1;
  for (int side = 0; side < 2; ++side) {
    const Node* arg = StripRelabel(static_cast<const Node*>(list_nth(op->args, side)));
    const Node* other = static_cast<const Node*>(list_nth(op->args, 1 - side));
    if (arg != nullptr && IsA(arg, Var) && IsClaimAccessor(other)) {
      const auto* var = reinterpret_cast<const Var*>(arg);
      if (var->varno == static_cast<int>(rtindex) && var->varlevelsup == 0 &&
          var->varattno == column) {
        var_side = side;
      }
    }
  }
  if (var_side < 0) return nullptr;
  // The operator must be an equality the planner (and Citus) prune on.
  if (!op_mergejoinable(op->opno, exprType(static_cast<Node*>(linitial(op->args))))) return nullptr;
  const auto* call = static_cast<const FuncExpr*>(list_nth(op->args, 1 - var_side));
  identity_dependent = true;
  Expr* value = evaluate_expr(reinterpret_cast<Expr*>(const_cast<FuncExpr*>(call)),
                              call->funcresulttype, -1, call->funccollid);
  if (!IsA(value, Const) || reinterpret_cast<Const*>(value)->constisnull) return nullptr;
  auto* restriction = static_cast<OpExpr*>(copyObjectImpl(op));
  lfirst(list_nth_cell(restriction->args, 1 - var_side)) = value;
  return reinterpret_cast<Node*>(restriction);
}

Node* RestrictionFromQual(const Node* qual, Index rtindex, AttrNumber column) {
  if (Node* r = RestrictionFromTenantCondition(qual, rtindex, column)) return r;
  if (IsA(qual, BoolExpr) && reinterpret_cast<const BoolExpr*>(qual)->boolop == AND_EXPR) {
    ListCell* cell;
    foreach (cell, reinterpret_cast<const BoolExpr*>(qual)->args) {
      if (Node* r = RestrictionFromTenantCondition(static_cast<Node*>(lfirst(cell)), rtindex, column)) {
        return r;
      }
    }
  }
  return nullptr;
}

// The security quals are AND-ed; each is one policy's condition or the OR of several
// PERMISSIVE ones (any OR fails the match). Only when every one of them implies the same
// tenant condition is it implied on the shards too, where Citus makes every policy
// PERMISSIVE (OR-ed). An UPDATE carries its policies' USING and the SELECT policies'.
Node* RestrictionFor(Query* query, Index rtindex) {
  RangeTblEntry* rte = rt_fetch(rtindex, query->rtable);
  if (rte->rtekind != RTE_RELATION || rte->securityQuals == NIL) return nullptr;
  AttrNumber column = DistributionColumn(rte->relid);
  if (column == InvalidAttrNumber) return nullptr;
  Node* restriction = nullptr;
  ListCell* cell;
  foreach (cell, rte->securityQuals) {
    Node* r = RestrictionFromQual(static_cast<const Node*>(lfirst(cell)), rtindex, column);
    if (r == nullptr) return nullptr;
    if (restriction == nullptr) {
      restriction = r;
    } else if (!equal(restriction, r)) {
      return nullptr;
    }
  }
  return restriction;
}

// Range table entries of `node` (a FROM item) that are not on the nullable side of an
// outer join: the top-level items and both sides of inner joins.
void AddRestrictions(Query* query, Node* node, Node** added) {
  if (node == nullptr) return;
  if (IsA(node, RangeTblRef)) {
    Node* r = RestrictionFor(query, static_cast<Index>(reinterpret_cast<RangeTblRef*>(node)->rtindex));
    if (r != nullptr) *added = make_and_qual(*added, r);
  } else if (IsA(node, JoinExpr)) {
    auto* join = reinterpret_cast<JoinExpr*>(node);
    if (join->jointype != JOIN_INNER) return;
    AddRestrictions(query, join->larg, added);
    AddRestrictions(query, join->rarg, added);
  }
}

bool MayRoute(const Query* query) {
  if (!setting_citus_router || !CitusLoaded()) return false;
  if (query->commandType != CMD_SELECT && query->commandType != CMD_UPDATE &&
      query->commandType != CMD_DELETE) {
    return false;
  }
  if (query->setOperations != nullptr || query->jointree == nullptr) return false;
  ListCell* cell;
  foreach (cell, query->rtable) {
    const auto* rte = static_cast<const RangeTblEntry*>(lfirst(cell));
    if (rte->rtekind == RTE_RELATION && rte->securityQuals != NIL) return true;
  }
  return false;
}

// PostgreSQL 19 hands the planner hook the EXPLAIN state as well (NULL outside EXPLAIN).
#if PG_VERSION_NUM >= 190000
#define ROWGUARD_PLANNER_EXTRA_PARAM , ExplainState* explain_state
#define ROWGUARD_PLANNER_EXTRA_ARG , explain_state
#else
#define ROWGUARD_PLANNER_EXTRA_PARAM
#define ROWGUARD_PLANNER_EXTRA_ARG
#endif

PlannedStmt* RouterPlanner(Query* parse, const char* query_string, int cursor_options,
                           ParamListInfo bound_params ROWGUARD_PLANNER_EXTRA_PARAM) {
  bool routed = false;
  // Planning nests (the SPI query of DistributionColumn, Citus' own planning): each
  // level has its own flag.
  const bool outer_identity_dependent = identity_dependent;
  identity_dependent = false;
  if (MayRoute(parse)) {
    Node* added = nullptr;
    ListCell* cell;
    foreach (cell, parse->jointree->fromlist) {
      AddRestrictions(parse, static_cast<Node*>(lfirst(cell)), &added);
    }
    if (added != nullptr) {
      parse->jointree->quals = make_and_qual(parse->jointree->quals, added);
      routed = true;
    }
  }
  const bool activates_node = MayActivateNode(parse);
  const bool dependent = routed || identity_dependent;
  identity_dependent = outer_identity_dependent;
  PlannedStmt* result = previous_planner != nullptr
                            ? previous_planner(parse, query_string, cursor_options, bound_params
                                               ROWGUARD_PLANNER_EXTRA_ARG)
                            : standard_planner(parse, query_string, cursor_options, bound_params
                                               ROWGUARD_PLANNER_EXTRA_ARG);
  if (dependent) {
    PlanInvalItem* item = makeNode(PlanInvalItem);
    item->cacheId = PROCOID;
    item->hashValue = RoutedPlanHash();
    result->invalItems = lappend(result->invalItems, item);
    routed_plan_made = true;
  }
  if (activates_node) NoteNodeActivation(result);
  return result;
}

}  // namespace

void InstallCitusRouter() {
  previous_planner = planner_hook;
  planner_hook = RouterPlanner;
}

void CitusRouterRelcacheInvalidated(Oid relid) {
  if (!OidIsValid(relid)) {
    dist_cache_used = 0;
    return;
  }
  for (int i = 0; i < dist_cache_used; ++i) {
    if (dist_cache[i].relid == relid) dist_cache[i].relid = InvalidOid;
  }
}

void CitusRouterIdentityChanged() {
  if (!routed_plan_made) return;
  routed_plan_made = false;
  // Marks every cached plan carrying the item invalid (plancache.c's PROCOID callback);
  // nothing else is done here, so this is safe in rowguard.token's assign hook.
  CallSyscacheCallbacks(PROCOID, RoutedPlanHash());
}

}  // namespace rowguard::pg
