// Citus forwards SET LOCAL statements (not set_config() calls) to its worker connections
// when citus.propagate_set_commands is 'local'; see docs/scaling.md. rowguard.authenticate
// is set_config, so without this a worker would run the shard queries of the transaction
// under no identity (its policies then deny every row) or under an identity set earlier
// in the transaction with SET LOCAL.
extern "C" {
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
}

#include <cstring>

#include "rowguard/pg/citus.hpp"

namespace rowguard::pg {

void ForwardTokenToCitus(const char* token) {
  // The setting exists only while Citus is loaded; no catalog lookup is needed.
  const char* mode = GetConfigOption("citus.propagate_set_commands", true, false);
  if (mode == nullptr || strcmp(mode, "local") != 0) return;

  // The statement Citus forwards is this text; it is never logged (SPI statements are not
  // subject to log_statement, and a refused token hides its statement).
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
  // procedure); elsewhere it only sets the value rowguard.token already has.
  const int rc = SPI_execute(sql.data, false, 0);
  if (rc != SPI_OK_UTILITY) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("could not forward the identity to the Citus workers"),
                    errdetail("SPI_execute returned %d.", rc)));
  }
  SPI_finish();
  pfree(sql.data);
}

}  // namespace rowguard::pg
