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

// The one place where an identity in force is checked again after it was made; returns
// it, or nullptr when unauthenticated. Raises 28000 when the identity has ended:
// - at every call: expired at the identity clock (IdentityClockSeconds);
// - in the leader, once per statement, per transaction (a procedure that COMMITs
//   starts new ones inside one statement) and per identity: pending invalidations are
//   read, and the key material that verified the identity must still be stored under
//   its kid;
// - in the leader, whenever revocations, role bindings or roles changed: the
//   revocation and role checks (RecheckIdentity, lifecycle.cpp).
// Accessors call it; so does the leader at executor start of a plan with parallel
// workers (statement_masking.cpp), before any worker runs. See
// docs/security-model.md, "When an identity ends".
const Identity* RequireCurrentIdentity();

// Unix seconds of the clock every time check uses: the later of the current
// statement's and the current transaction's start.
std::int64_t IdentityClockSeconds();

}  // namespace rowguard::pg
