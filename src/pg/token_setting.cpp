// rowguard.token's hooks. Verification happens in the check hook, so SET, SET LOCAL,
// set_config, RESET, DISCARD ALL, savepoints and parallel workers all follow
// PostgreSQL's own GUC rules (docs/design.md, "Identity is the GUC rowguard.token").
// The setting itself is defined with the others in settings.cpp.
#include "rowguard/pg/token_setting.hpp"

extern "C" {
#include "access/parallel.h"
}

#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {

bool CheckTokenHook(char** newval, void** extra, GucSource) {
  if (*newval == nullptr || **newval == '\0') {
    *extra = nullptr;
    return true;
  }
  const char* detail = nullptr;
  Identity* identity = MakeIdentity(*newval, &detail, !InitializingParallelWorker);
  if (identity == nullptr) {
    SetInvalidTokenCheckError(detail);
    return false;
  }
  *extra = identity;  // allocated with CompatAllocGucExtra: PostgreSQL frees it
  return true;
}

void AssignTokenHook(const char*, void* extra) {
  SetCurrentIdentity(static_cast<Identity*>(extra));
}

const char* ShowTokenHook() { return current_identity != nullptr ? "(verified token)" : ""; }

}  // namespace rowguard::pg
