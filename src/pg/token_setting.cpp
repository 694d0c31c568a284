// rowguard.token's hooks. Verification happens in the check hook, so SET, SET LOCAL,
// set_config, RESET, DISCARD ALL, savepoints and parallel workers all follow
// PostgreSQL's own GUC rules (docs/design.md, "Identity is the GUC rowguard.token").
// The setting itself is defined with the others in settings.cpp.
#include "rowguard/pg/token_setting.hpp"

extern "C" {
#include "access/parallel.h"
}

#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/session_state_guard.hpp"
#include "rowguard/pg/token_before_load.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/oauth_login.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {

bool CheckTokenHook(char** newval, void** extra, GucSource source) {
  // A session that signed in with OAuth keeps its token's identity (oauth_login.cpp).
  if (OAuthRefusesTokenChange(*newval)) return false;
  if (*newval == nullptr || **newval == '\0') {
    *extra = nullptr;
    return true;
  }
  // A value a statement set before the module was loaded (token_before_load.cpp).
  if (RefuseTokenSetBeforeLoad(source)) return false;
  if (DeferStartupToken(source)) {  // role_binding.cpp: admitted at the first statement
    *extra = nullptr;
    return true;
  }
  const char* detail = nullptr;
  if (!TokenMayStartHere(source, &detail)) {
    SetSessionStateCheckError(detail);
    return false;
  }
  Identity* identity = MakeIdentity(*newval, &detail, !InitializingParallelWorker);
  if (identity == nullptr) {
    SetInvalidTokenCheckError(detail);
    return false;
  }
  if (const char* refusal = RoleBindingRefusal(identity)) {  // role_binding.cpp
    CompatFreeGucExtra(identity);
    SetInvalidTokenCheckError(refusal);
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
