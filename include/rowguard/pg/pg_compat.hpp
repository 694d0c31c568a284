// Everything that depends on the PostgreSQL server version, behind small functions, so
// supporting a new major version is work in this one file (docs/design.md).
//
// Supported: 15, 16, 17, 18, 19 (docs/versions.md). What differs between them, checked
// against Debian's server headers of 15, 17, 18 and 19~rc1 (scripts/test-matrix.sh
// builds and tests each; 16 is not in Debian's archive and is covered by the #if's):
//
// - 16: the GUC table is a hash; get_guc_variables(&count) returns a palloc'ed, sorted
//   array, GetNumConfigOptions() is gone and find_option() is exported (CompatGucVariable,
//   CompatFindGucAmong). A check hook's `extra` must
//   come from guc_malloc() and is released with guc_free() (CompatAllocGucExtra); a
//   malloc'ed extra fails at the next COMMIT/ROLLBACK/RESET/DISCARD ("pfree called with
//   invalid pointer"). A membership grants SET ROLE only WITH SET (member_can_set_role;
//   CompatCanSetRole). Not code: force_parallel_mode is called debug_parallel_query, and
//   an out-of-range integer setting's message prints the range with units.
// - 17: EXPLAIN names an InitPlan's result "(InitPlan 1).col1" instead of "$0" (the
//   pg_regress suites print plans through public.plan(), sql/install.sql).
//   BackgroundWorker.bgw_library_name is MAXPGPATH long (use sizeof, not BGW_MAXLEN).
// - 18: RelationGetPrimaryKeyIndex takes deferrable_ok (CompatPrimaryKeyIndex);
//   ExecutorRun_hook lost its execute_once argument; PG_MODULE_MAGIC_EXT exists
//   (optional); OAuth validator modules (oauth_validator_libraries) authenticate a
//   connection - rowguard is not one, it verifies tokens inside SQL.
// - 19: pushJsonbValue takes a JsonbInState* and returns nothing (CompatJsonbBuilder);
//   syscache callbacks receive a SysCacheIdentifier (CompatSysCacheId);
//   post_parse_analyze_hook receives a const JumbleState* (CompatJumbleState).
//   PointerGetDatum is a macro whose type check rejects nullptr in C++: write
//   PointerGetDatum(NULL). funcapi.h no longer brings in utils/tuplestore.h: include it
//   where tuplestore_putvalues is used. struct config_generic keeps the type-specific
//   fields in a union; name, flags, reset_source and reset_scontext (read here) are
//   unchanged. OAuth validators may register their own pg_hba.conf options and report
//   failure details (no effect on rowguard).
// - Unchanged 15..19 for what the glue uses: the signatures of GUC check/assign/show
//   hooks, set_config_option, MarkGUCPrefixReserved, emit_log_hook, ProcessUtility_hook,
//   ExecutorStart_hook (returns void in every one of them),
//   shmem_request_hook, ClientAuthentication_hook, object_access_hook.
#pragma once

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

struct JumbleState;
}

#include <cstddef>
#include <cstdlib>

namespace rowguard::pg {

// A GUC check hook's `extra` is released by PostgreSQL itself: with free() up to 15,
// with guc_free() since 16 (it lives in the GUC memory context). Every Identity block
// that may become rowguard.token's extra is allocated and freed with these. nullptr on
// out of memory (16+ also logs it at LOG).
inline void* CompatAllocGucExtra(std::size_t size) {
#if PG_VERSION_NUM >= 160000
  return guc_malloc(LOG, size);
#else
  return std::malloc(size);
#endif
}

inline void CompatFreeGucExtra(void* block) {
  if (block == nullptr) return;
#if PG_VERSION_NUM >= 160000
  guc_free(block);
#else
  std::free(block);
#endif
}

// Looking GUC variables up by name. Up to 15 the variables are a global array sorted by
// name, searched here by a scan (find_option is static there); since 16 they are a hash
// table, and find_option() is one lookup, while get_guc_variables() would copy every
// pointer into a palloc'ed array and sort it (about 0.4M instructions, paid by a new
// backend's first use: docs/performance.md, "Loading rowguard.so"). Names compare
// case-insensitively, as PostgreSQL compares them; placeholders are included.
#if PG_VERSION_NUM < 160000
template <typename Visit>
inline struct config_generic* CompatScanGucs(Visit visit) {
  struct config_generic** variables = get_guc_variables();
  const int count = GetNumConfigOptions();
  for (int i = 0; i < count; ++i) {
    if (visit(variables[i])) return variables[i];
  }
  return nullptr;
}
#endif

// The GUC variable named `name` (a placeholder included), or nullptr.
inline struct config_generic* CompatGucVariable(const char* name) {
#if PG_VERSION_NUM >= 160000
  return find_option(name, false, true, ERROR);
#else
  return CompatScanGucs([name](const struct config_generic* variable) {
    return pg_strcasecmp(variable->name, name) == 0;
  });
#endif
}

// The first variable among those named in `names` (placeholders included) that `visit`
// accepts, or nullptr; one pass over the array up to 15 (`visit` asked first, the names
// only of the variables it accepts), one lookup per name since 16.
template <std::size_t N, typename Visit>
inline struct config_generic* CompatFindGucAmong(const char* const (&names)[N], Visit visit) {
#if PG_VERSION_NUM >= 160000
  for (const char* name : names) {
    struct config_generic* variable = find_option(name, false, true, ERROR);
    if (variable != nullptr && visit(variable)) return variable;
  }
  return nullptr;
#else
  return CompatScanGucs([&names, &visit](const struct config_generic* variable) {
    if (!visit(variable)) return false;  // first: `visit` is expected to be the cheaper test
    for (const char* name : names) {
      if (pg_strcasecmp(variable->name, name) == 0) return true;
    }
    return false;
  });
#endif
}

// This backend's index (0-based) among the MaxBackends regular backends, or -1 for
// other processes. Up to 16 backend ids start at 1; since 17 MyProcNumber starts at 0.
inline int CompatBackendIndex() {
#if PG_VERSION_NUM >= 170000
  return MyProcNumber >= 0 && MyProcNumber < MaxBackends ? MyProcNumber : -1;
#else
  return MyBackendId >= 1 && MyBackendId <= MaxBackends ? MyBackendId - 1 : -1;
#endif
}

// The local id of this backend's current transaction (moved into vxid in 17).
inline LocalTransactionId CompatLocalTransactionId() {
#if PG_VERSION_NUM >= 170000
  return MyProc->vxid.lxid;
#else
  return MyProc->lxid;
#endif
}

// The OID of a table's primary key index (InvalidOid if none). 18 added the argument
// deferrable_ok; a deferrable primary key is not wanted here.
inline Oid CompatPrimaryKeyIndex(Relation rel) {
#if PG_VERSION_NUM >= 180000
  return RelationGetPrimaryKeyIndex(rel, false);
#else
  return RelationGetPrimaryKeyIndex(rel);
#endif
}

// The cache id a syscache invalidation callback receives: an int up to 18, the
// SysCacheIdentifier enum since 19. Declare callbacks as (Datum, CompatSysCacheId, uint32).
#if PG_VERSION_NUM >= 190000
using CompatSysCacheId = SysCacheIdentifier;
#else
using CompatSysCacheId = int;
#endif

// post_parse_analyze_hook's third argument: `const JumbleState*` since 19, `JumbleState*`
// before. Declare the hook as (ParseState*, Query*, CompatJumbleState*).
#if PG_VERSION_NUM >= 190000
using CompatJumbleState = const struct JumbleState;
#else
using CompatJumbleState = struct JumbleState;
#endif

// ExecutorRun_hook: (QueryDesc*, ScanDirection, uint64 count, bool execute_once) up to 17,
// without execute_once since 18. Declare the hook as
// (QueryDesc*, ScanDirection, uint64 COMPAT_EXECUTOR_RUN_ONCE_PARAM) and pass the
// arguments on with COMPAT_EXECUTOR_RUN_ONCE_ARG.
#if PG_VERSION_NUM >= 180000
#define COMPAT_EXECUTOR_RUN_ONCE_PARAM
#define COMPAT_EXECUTOR_RUN_ONCE_ARG
#else
#define COMPAT_EXECUTOR_RUN_ONCE_PARAM , bool execute_once
#define COMPAT_EXECUTOR_RUN_ONCE_ARG , execute_once
#endif

// Building a jsonb value with pushJsonbValue. Up to 18 the builder's state is a
// JsonbParseState* and each push returns the value built so far; since 19 the state is a
// JsonbInState and the finished value is its `result`. Plain data, so it may live in a
// frame PostgreSQL can longjmp out of.
struct CompatJsonbBuilder {
#if PG_VERSION_NUM >= 190000
  JsonbInState state{};
#else
  JsonbParseState* state = nullptr;
  JsonbValue* result = nullptr;
#endif
};

inline void CompatPushJsonbValue(CompatJsonbBuilder* builder, JsonbIteratorToken token,
                                 JsonbValue* value) {
#if PG_VERSION_NUM >= 190000
  pushJsonbValue(&builder->state, token, value);
#else
  builder->result = pushJsonbValue(&builder->state, token, value);
#endif
}

// The value built, once the outermost WJB_END_OBJECT/ARRAY has been pushed.
inline Jsonb* CompatJsonbBuilderResult(CompatJsonbBuilder* builder) {
#if PG_VERSION_NUM >= 190000
  return JsonbValueToJsonb(builder->state.result);
#else
  return JsonbValueToJsonb(builder->result);
#endif
}

// Could `member` SET ROLE to `role` (superusers can become any role): a membership up
// to 15, a membership granted WITH SET since 16.
inline bool CompatCanSetRole(Oid member, Oid role) {
#if PG_VERSION_NUM >= 160000
  return member_can_set_role(member, role);
#else
  return is_member_of_role(member, role);
#endif
}

}  // namespace rowguard::pg
