// The identity: made from a token (MakeIdentity), put in force by rowguard.token's
// assign hook, and required by every accessor (RequireCurrentIdentity), which re-checks
// it against the statement clock and the key store. See docs/design.md.
#pragma once

#include <cstdint>

#include "rowguard/pg/identity_block.hpp"

namespace rowguard::pg {

// The identity in force (rowguard.token's extra), or nullptr when unauthenticated.
extern Identity* current_identity;
// Changes (never to 0) whenever current_identity is assigned, so per-call-site caches
// of claim values can tell that their identity is gone.
extern std::uint64_t identity_serial;

// Called by rowguard.token's assign hook only.
void SetCurrentIdentity(Identity* identity);

// Verifies `token` (through the identity cache) and returns an Identity allocated with
// CompatAllocGucExtra (release it with CompatFreeGucExtra unless it is handed to the
// GUC machinery as an extra), or nullptr with *detail set (static storage, a full
// sentence) when the token is refused; facts are logged as
// rowguard.log_authentications says when `log_result`. A refused token is a return
// value, never an ERROR; but loading the key store may raise an ERROR (out of memory,
// a key table that cannot be read), which the caller lets propagate.
Identity* MakeIdentity(const char* token, const char** detail, bool log_result);

// The identity in force after the checks every use needs, or nullptr when
// unauthenticated: expired at the statement's start raises 28000; in the leader, once
// per statement, pending invalidations are read, and an identity whose key was removed
// raises 28000.
const Identity* RequireCurrentIdentity();

// Unix seconds at the start of the current statement (the clock of every time check).
std::int64_t StatementStartSeconds();

}  // namespace rowguard::pg
