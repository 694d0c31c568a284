// Chaining PostgreSQL's hooks. PostgreSQL keeps one pointer per hook; whoever installs
// a function there keeps the pointer it replaced and calls on to it (or, for the
// executor and utility hooks, to the standard implementation when there was none).
#pragma once

extern "C" {
#include "postgres.h"

#include "executor/executor.h"
#include "tcop/utility.h"
}

#include "rowguard/pg/pg_compat.hpp"

namespace rowguard::pg {

// Puts `mine` into the hook `slot` and keeps what was there in `previous`.
template <typename Hook>
inline void ChainHook(Hook& slot, Hook& previous, Hook mine) {
  previous = slot;
  slot = mine;
}

inline void CallExecutorStart(ExecutorStart_hook_type previous, QueryDesc* query, int eflags) {
  if (previous != nullptr) {
    previous(query, eflags);
  } else {
    standard_ExecutorStart(query, eflags);
  }
}

inline void CallExecutorRun(ExecutorRun_hook_type previous, QueryDesc* query,
                            ScanDirection direction, uint64 count COMPAT_EXECUTOR_RUN_ONCE_PARAM) {
  if (previous != nullptr) {
    previous(query, direction, count COMPAT_EXECUTOR_RUN_ONCE_ARG);
  } else {
    standard_ExecutorRun(query, direction, count COMPAT_EXECUTOR_RUN_ONCE_ARG);
  }
}

inline void CallExecutorEnd(ExecutorEnd_hook_type previous, QueryDesc* query) {
  if (previous != nullptr) {
    previous(query);
  } else {
    standard_ExecutorEnd(query);
  }
}

inline void CallProcessUtility(ProcessUtility_hook_type previous, PlannedStmt* pstmt,
                               const char* query_string, bool read_only_tree,
                               ProcessUtilityContext context, ParamListInfo params,
                               QueryEnvironment* query_env, DestReceiver* dest,
                               QueryCompletion* qc) {
  if (previous != nullptr) {
    previous(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  } else {
    standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest,
                            qc);
  }
}

}  // namespace rowguard::pg
