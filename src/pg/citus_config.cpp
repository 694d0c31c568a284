// The configuration follows the Citus coordinator (docs/scaling.md, "Configuration"):
// the row triggers of rowguard's configuration tables (90_citus.sql) ask
// rowguard._citus_coordinator() whether this backend is a client backend on a Citus
// coordinator and send each change with rowguard._citus_send(), which hands it to Citus'
// coordinated transaction: the other nodes run it in remote transactions that commit
// with two-phase commit when the local transaction commits, and an error on any of them
// aborts the local transaction.
//
// Citus has no SQL function for that (run_command_on_workers commits on each node on its
// own, outside the caller's transaction), but its C function
// execute_command_on_remote_nodes_as_user (a PG_FUNCTION_INFO_V1 entry point of
// citus.so, whose SQL declaration Citus dropped with its non-main-database interface,
// #7905) does exactly this:
// SendCommandToWorkersAsUser(REMOTE_NODES, ...), i.e. Use2PCForCoordinatedTransaction()
// and a critical remote command per active primary node other than this one. It is
// looked up in the citus library that is already loaded, only when Citus is.
//
// A node added or activated later (citus_add_node, citus_activate_node) gets the
// configuration in the same statement: the planner hook (citus_router.cpp) notes a
// top-level SELECT that calls one of them (NoteNodeActivation), and when that statement's
// executor finishes, rowguard.citus_sync_nodes() runs in its transaction, so the new node
// receives the coordinator's configuration before citus_add_node returns, or the
// statement fails.
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

#include <cstring>

#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {
namespace {

PGFunction CitusFunction(const char* name) {
  // The library is loaded (shared_preload_libraries): this finds it, it does not load it.
  return reinterpret_cast<PGFunction>(load_external_function("$libdir/citus", name, true, nullptr));
}

ExecutorFinish_hook_type previous_executor_finish = nullptr;

// The statement (its plan) after whose execution the nodes are brought up to date.
const PlannedStmt* sync_after = nullptr;

bool IsNodeActivation(Oid funcid) {
  if (get_func_namespace(funcid) != PG_CATALOG_NAMESPACE) return false;
  char* name = get_func_name(funcid);
  return name != nullptr &&
         (strcmp(name, "citus_add_node") == 0 || strcmp(name, "master_add_node") == 0 ||
          strcmp(name, "citus_activate_node") == 0 || strcmp(name, "master_activate_node") == 0);
}

bool IsNodeActivationCall(const Node* node) {
  return node != nullptr && IsA(node, FuncExpr) &&
         IsNodeActivation(reinterpret_cast<const FuncExpr*>(node)->funcid);
}

void SyncingExecutorFinish(QueryDesc* query) {
  if (previous_executor_finish != nullptr) {
    previous_executor_finish(query);
  } else {
    standard_ExecutorFinish(query);
  }
  if (sync_after == nullptr || query->plannedstmt != sync_after) return;
  sync_after = nullptr;
  // A plan noted but never run (EXPLAIN) could leave the address to a later statement:
  // only a superuser's statement that names a node activation goes on (citus_add_node
  // and citus_activate_node need a superuser anyway).
  if (!superuser() || query->sourceText == nullptr ||
      (strcasestr(query->sourceText, "add_node") == nullptr &&
       strcasestr(query->sourceText, "activate_node") == nullptr)) {
    return;
  }
  if (!OidIsValid(get_extension_oid("rowguard", true)) || !CitusCoordinator()) return;
  // The executor of the statement is done and holds no snapshot for us: take one that
  // sees what the node activation wrote.
  CommandCounterIncrement();
  PushActiveSnapshot(GetTransactionSnapshot());
  if (SPI_connect() != SPI_OK_CONNECT) {
    PopActiveSnapshot();
    return;
  }
  if (SPI_execute("SELECT rowguard.citus_sync_nodes()", false, 0) != SPI_OK_SELECT) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("could not copy rowguard's configuration to the new Citus node")));
  }
  SPI_finish();
  PopActiveSnapshot();
}

}  // namespace

void InstallCitusNodeSync() {
  ChainHook(ExecutorFinish_hook, previous_executor_finish, SyncingExecutorFinish);
}

bool MayActivateNode(const Query* query) {
  // SELECT citus_add_node(...) or SELECT * FROM citus_add_node(...): the function at the
  // top of a target list entry or as the query's only FROM item.
  if (query->commandType != CMD_SELECT || list_length(query->rtable) > 1 || !CitusLoaded()) {
    return false;
  }
  ListCell* cell;
  foreach (cell, query->targetList) {
    if (IsNodeActivationCall(reinterpret_cast<Node*>(static_cast<TargetEntry*>(lfirst(cell))->expr))) {
      return true;
    }
  }
  if (query->rtable != NIL) {
    const auto* rte = static_cast<const RangeTblEntry*>(linitial(query->rtable));
    if (rte->rtekind != RTE_FUNCTION) return false;
    foreach (cell, rte->functions) {
      if (IsNodeActivationCall(static_cast<RangeTblFunction*>(lfirst(cell))->funcexpr)) return true;
    }
  }
  return false;
}

void NoteNodeActivation(const PlannedStmt* statement) { sync_after = statement; }

bool CitusCoordinator() {
  if (MyBackendType != B_BACKEND || !CitusLoaded()) return false;
  if (!OidIsValid(get_extension_oid("citus", true))) return false;
  if (creating_extension) return false;  // CREATE/ALTER EXTENSION citus or rowguard
  PGFunction is_coordinator = CitusFunction("citus_is_coordinator");
  LOCAL_FCINFO(call, 0);
  InitFunctionCallInfoData(*call, nullptr, 0, InvalidOid, nullptr, nullptr);
  Datum result = is_coordinator(call);
  return !call->isnull && DatumGetBool(result);
}

}  // namespace rowguard::pg

ROWGUARD_SQL_FUNCTION(rowguard_citus_coordinator) {
  PG_RETURN_BOOL(rowguard::pg::CitusCoordinator());
}

ROWGUARD_SQL_FUNCTION(rowguard_citus_send) {
  if (!rowguard::pg::CitusCoordinator()) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("not a Citus coordinator")));
  }
  // Citus connects to the other nodes as this user and requires a superuser; the
  // configuration tables are written by the bootstrap superuser (rowguard's SECURITY
  // DEFINER functions) or by a superuser by hand.
  if (!superuser()) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to change rowguard's configuration on a Citus "
                           "coordinator"),
                    errdetail("The change is sent to every node as the current user, which must "
                              "be a superuser.")));
  }
  text* command = PG_GETARG_TEXT_PP(0);
  text* user = cstring_to_text(GetUserNameFromId(GetUserId(), false));
  PGFunction send = rowguard::pg::CitusFunction("execute_command_on_remote_nodes_as_user");
  DirectFunctionCall2(send, PointerGetDatum(command), PointerGetDatum(user));
  PG_RETURN_VOID();
}
