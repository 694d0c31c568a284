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
// citus.so, SQL declaration dropped in Citus 13) does exactly this:
// SendCommandToWorkersAsUser(REMOTE_NODES, ...), i.e. Use2PCForCoordinatedTransaction()
// and a critical remote command per active primary node other than this one. It is
// looked up in the citus library that is already loaded, only when Citus is.
extern "C" {
#include "postgres.h"

#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
}

#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {
namespace {

PGFunction CitusFunction(const char* name) {
  // The library is loaded (shared_preload_libraries): this finds it, it does not load it.
  return reinterpret_cast<PGFunction>(load_external_function("$libdir/citus", name, true, nullptr));
}

}  // namespace

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
