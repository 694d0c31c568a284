// Citus forwards SET LOCAL statements (not set_config() calls) to its worker connections
// when citus.propagate_set_commands is 'local', and what it forwards is the statement's
// text; see docs/scaling.md. Two things would otherwise break that for rowguard.token:
// rowguard.authenticate is set_config, and the text of a client's
// SET LOCAL rowguard.token = '...' is masked once parsed (statement_masking.cpp), so Citus
// would forward the mask. Both go through ForwardTokenToCitus instead. Without this a
// worker runs the transaction's shard queries under no identity (its policies deny every
// row) or refuses the masked value.
extern "C" {
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/guc.h"
}

#include <cstring>

#include "rowguard/pg/citus.hpp"

namespace rowguard::pg {
namespace {

bool forwarding = false;

bool CitusForwardsSetLocal() {
  if (!CitusLoaded()) return false;
  const char* mode = GetConfigOption("citus.propagate_set_commands", true, false);
  return mode != nullptr && strcmp(mode, "local") == 0;
}

}  // namespace

bool CitusLoaded() {
  // Only Citus' own setting counts: without Citus loaded, any session can create
  // citus.propagate_set_commands as a placeholder, and must not switch Citus paths on.
  if (GetConfigOption("citus.propagate_set_commands", true, false) == nullptr) return false;
  return (GetConfigOptionFlags("citus.propagate_set_commands", true) & GUC_CUSTOM_PLACEHOLDER) == 0;
}

bool ForwardingTokenToCitus() { return forwarding; }

void ForwardTokenToCitus(const char* token) {
  if (!CitusForwardsSetLocal()) return;

  // SPI statements are not subject to log_statement nor to log_min_error_statement, and
  // pg_stat_statements tracks them only with pg_stat_statements.track = all.
  StringInfoData sql;
  initStringInfo(&sql);
  appendStringInfo(&sql, "SET LOCAL rowguard.token = %s", quote_literal_cstr(token));
  if (SPI_connect() != SPI_OK_CONNECT) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("could not forward the identity to the Citus workers"),
                    errdetail("SPI_connect failed.")));
  }
  // Citus' utility hook sees the statement and sends it to the workers when the
  // transaction is one it forwards SET LOCAL in (a transaction block, a DO block or a
  // procedure); elsewhere it only sets rowguard.token here.
  int rc = 0;
  forwarding = true;
  PG_TRY();
  { rc = SPI_execute(sql.data, false, 0); }
  PG_FINALLY();
  { forwarding = false; }
  PG_END_TRY();
  if (rc != SPI_OK_UTILITY) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("could not forward the identity to the Citus workers"),
                    errdetail("SPI_execute returned %d.", rc)));
  }
  SPI_finish();
  pfree(sql.data);
}

bool RunTokenSetLocalForCitus(const Node* statement) {
  if (forwarding || statement == nullptr || !IsA(statement, VariableSetStmt)) return false;
  const auto* set = reinterpret_cast<const VariableSetStmt*>(statement);
  if (!set->is_local || set->kind != VAR_SET_VALUE || set->name == nullptr ||
      pg_strcasecmp(set->name, "rowguard.token") != 0 || list_length(set->args) != 1) {
    return false;
  }
  const Node* arg = static_cast<const Node*>(linitial(set->args));
  if (!IsA(arg, A_Const)) return false;
  const auto* value = reinterpret_cast<const A_Const*>(arg);
  if (value->isnull || !IsA(&value->val, String)) return false;
  if (!CitusForwardsSetLocal()) return false;
  ForwardTokenToCitus(strVal(&value->val));
  return true;
}

}  // namespace rowguard::pg
