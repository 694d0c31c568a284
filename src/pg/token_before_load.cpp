// A token set by a statement before rowguard was loaded in the backend
// (include/rowguard/pg/token_before_load.hpp).
#include "rowguard/pg/token_before_load.hpp"

extern "C" {
#include "access/parallel.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/elog.h"
#include "utils/varlena.h"
}

#include <cstring>

#include "rowguard/pg/sql_function.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {

bool defining_token_setting = false;
bool token_set_before_load = false;

namespace {

constexpr char kDetail[] =
    "rowguard.token was set by a statement sent before rowguard was loaded in this session; "
    "that statement's text, token included, was not masked in pg_stat_activity, "
    "pg_stat_statements or the server log.";
constexpr char kHint[] =
    "Load rowguard before the first statement of every session (shared_preload_libraries or "
    "session_preload_libraries), and send tokens as bind parameters: "
    "SELECT rowguard.authenticate($1).";

// Does the list (a preload setting's value) name rowguard: "rowguard", "$libdir/rowguard",
// "rowguard.so", quoted or not?
bool ListNamesRowguard(const char* value) {
  if (value == nullptr || *value == '\0') return false;
  char* copy = pstrdup(value);
  List* entries = nullptr;
  bool found = false;
  if (SplitDirectoriesString(copy, ',', &entries)) {
    ListCell* cell;
    foreach (cell, entries) {
      const char* entry = static_cast<const char*>(lfirst(cell));
      const char* base = strrchr(entry, '/');
      base = base != nullptr ? base + 1 : entry;
      const std::size_t length = strlen(base);
      const std::size_t suffix = strlen(DLSUFFIX);
      if (strcmp(base, "rowguard") == 0 ||
          (length == 8 + suffix && strncmp(base, "rowguard", 8) == 0 &&
           strcmp(base + 8, DLSUFFIX) == 0)) {
        found = true;
      }
    }
  }
  list_free_deep(entries);
  pfree(copy);
  return found;
}

}  // namespace

bool RefuseTokenSetBeforeLoad(GucSource source) {
  if (!defining_token_setting || source != PGC_S_SESSION || InitializingParallelWorker) {
    return false;
  }
  token_set_before_load = true;
  SetInvalidTokenCheckError(kDetail);
  GUC_check_errhint("%s", kHint);
  return true;
}

void RaiseTokenSetBeforeLoad() {
  token_set_before_load = false;
  ReportInvalidToken(kDetail, kHint);
}

bool RowguardPreloaded() {
  return ListNamesRowguard(shared_preload_libraries_string) ||
         ListNamesRowguard(session_preload_libraries_string);
}

}  // namespace rowguard::pg

// rowguard._preloaded(): for lint and CREATE EXTENSION. Reads the two settings without
// the privilege current_setting() would ask for, and tells only whether rowguard is in
// them.
ROWGUARD_SQL_FUNCTION(rowguard_preloaded) { PG_RETURN_BOOL(rowguard::pg::RowguardPreloaded()); }
