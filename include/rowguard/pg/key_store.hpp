// The key store of this backend: every rule of rowguard.issuers, and the rows of
// rowguard.keys that tokens named (read with a catalog-snapshot index scan by kid and
// parsed once), in the core's trust store, which this file owns; dropped when a
// relcache invalidation of either table says they changed.
#pragma once

#include <cstdint>

namespace rowguard::core {
class TrustStore;
}

namespace rowguard::pg {

struct KeyRow;

// Incremented whenever the key or issuer tables change (in any backend).
extern std::uint64_t key_generation;

// Registers the relcache callback; call once from _PG_init.
void RegisterKeyStoreInvalidation();

// Processes pending invalidations and, when stale, starts a new store with the issuer
// rules and no key. Reads the tables with a catalog-snapshot scan (no privilege check,
// no active snapshot needed). Must not run in a parallel worker. Returns false, with a
// static message in *problem (a full sentence), when the tables cannot be read
// (rowguard not installed in this database, or no transaction); raises an ERROR when
// loading fails otherwise.
bool EnsureKeyStore(const char** problem);

// EnsureKeyStore, then makes sure the key stored under `kid` is in the store if there
// is one (an index lookup the first time), or with kid == nullptr every stored key (a
// token without "kid" may match any key of its algorithm). At most 1,000 keys (kMaxLoadedKeys)
// are kept for lookups by kid; past that the store starts over. Same failures as
// EnsureKeyStore.
bool EnsureKeyFor(const char* kid, const char** problem);

// The trust store as last loaded (nullptr before the first load). Valid until the next
// EnsureKeyStore; only the bridge looks inside.
const core::TrustStore* CurrentTrustStore();

// Test identities (test_identity.cpp): adds the public key `row` (which must stay valid
// until ForgetTransactionKey) to this backend's store, and to every store built after,
// without writing it anywhere. Same failures as EnsureKeyStore.
bool InstallTransactionKey(const KeyRow* row, const char** problem);
// Takes that key out: the store is marked stale, key_generation moves and the identity
// cache is cleared, exactly as when a stored key is removed. Raises nothing (it runs in
// a transaction callback).
void ForgetTransactionKey();

}  // namespace rowguard::pg
