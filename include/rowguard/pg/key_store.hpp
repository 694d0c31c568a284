// This backend's copy of rowguard.keys and rowguard.issuers, parsed once and kept
// until a relcache invalidation of either table says they changed.
#pragma once

#include <cstdint>

namespace rowguard::pg {

// Incremented whenever the key or issuer tables change (in any backend).
extern std::uint64_t key_generation;

// Registers the relcache callback; call once from _PG_init.
void RegisterKeyStoreInvalidation();

// Processes pending invalidations and (re)loads the store when stale. Reads the
// tables with a catalog-snapshot scan (no privilege check, no active snapshot
// needed). Must not run in a parallel worker. Returns false, with a static message in
// *problem, when the tables cannot be read (rowguard not installed in this database).
bool EnsureKeyStore(const char** problem);

}  // namespace rowguard::pg
