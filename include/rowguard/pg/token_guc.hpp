// rowguard.token: the GUC whose check hook is the only place an Identity is made.
#pragma once

#include "rowguard/pg/identity.hpp"

extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

namespace rowguard::pg {

// The identity in force (the GUC's extra), or nullptr when unauthenticated.
extern Identity* current_identity;
// Changes (never to 0) whenever current_identity is assigned, so per-call-site caches
// of claim values can tell that their identity is gone.
extern std::uint64_t identity_serial;

bool CheckTokenHook(char** newval, void** extra, GucSource source);
void AssignTokenHook(const char* newval, void* extra);
const char* ShowTokenHook();

// Verifies `token` (through the cache) and returns a malloc'ed Identity, or nullptr
// with *detail set (static storage) and facts logged as rowguard.log_authentications
// says. Never ereports an ERROR.
Identity* MakeIdentity(const char* token, const char** detail, bool log_result);

// Unix seconds at the start of the current statement (the contract's clock).
std::int64_t StatementStartSeconds();

}  // namespace rowguard::pg
