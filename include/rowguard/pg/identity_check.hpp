// When an identity in force is checked again: at every accessor call (expiry), and
// once per statement and per transaction (in procedures that COMMIT, each new
// transaction counts) for what other sessions can change: key removal or replacement
// and the checks other parts register (revocation, allowed role). The leader also runs
// it at executor start, so parallel workers never run for an identity that ended.
#pragma once

#include <cstdint>

#include "rowguard/pg/identity.hpp"

namespace rowguard::pg {

// Unix seconds of the identity clock: the later of the statement's and the
// transaction's start (inside a procedure each COMMIT starts a transaction with the
// current time while the CALL statement's start stays).
std::int64_t IdentityClockSeconds();

// Re-checks the identity in force; ereports 28000 ("invalid token", with a detail)
// when it has ended. Returns the identity, or nullptr when unauthenticated.
const Identity* CheckIdentityInForce();

// A further check of a live identity (e.g. revocation, allowed role): ereport an
// ERROR to end it. Runs in the leader, at most once per statement, transaction and
// identity, after invalidation messages were read.
using IdentityCheck = void (*)(const Identity* identity);
void AddIdentityCheck(IdentityCheck check);

}  // namespace rowguard::pg
