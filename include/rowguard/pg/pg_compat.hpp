// Everything that depends on the PostgreSQL server version, behind small functions, so
// supporting a new major version is work in this one file (docs/design.md).
#pragma once

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
}

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

// The first GUC variable for which `visit` returns true (the struct lives as long as
// the server), or nullptr. Up to 15 the variables are a global array; since 16
// get_guc_variables() returns a palloc'ed copy of the pointers.
template <typename Visit>
inline struct config_generic* CompatFindGuc(Visit visit) {
  struct config_generic* found = nullptr;
#if PG_VERSION_NUM >= 160000
  int count = 0;
  struct config_generic** variables = get_guc_variables(&count);
#else
  struct config_generic** variables = get_guc_variables();
  const int count = GetNumConfigOptions();
#endif
  for (int i = 0; i < count && found == nullptr; ++i) {
    if (visit(variables[i])) found = variables[i];
  }
#if PG_VERSION_NUM >= 160000
  pfree(variables);
#endif
  return found;
}

// Calls `visit` for every GUC variable until it returns true; returns that variable's
// name (valid while the variable exists), or nullptr.
inline const char* CompatFindGucVariable(bool (*visit)(const struct config_generic*)) {
  const struct config_generic* found = CompatFindGuc(visit);
  return found != nullptr ? found->name : nullptr;
}

// The GUC variable named `name`, or nullptr.
inline struct config_generic* CompatGucVariable(const char* name) {
  return CompatFindGuc(
      [name](const struct config_generic* variable) { return strcmp(variable->name, name) == 0; });
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

}  // namespace rowguard::pg
