// Shared revocation answers (docs/design.md, "Shared revocation answers"): with
// shared_preload_libraries = 'rowguard' and rowguard.shared_key_store_size > 0, the
// answers of the revocation probes (revocation.cpp: is this jti revoked for this
// issuer? the latest cut-off of this subject?) are remembered in shared memory for
// every backend of the database, each under the database's revocation generation,
// which moves when a transaction that changed rowguard.revocations commits. A new
// backend whose token's jti and sub were probed since the last change does not open
// rowguard.revocations and its indexes. Not preloaded, on a hot standby, in a parallel
// worker and in a transaction that changed rowguard.revocations, nothing here is used
// and the table is probed as before.
//
// Glue only: callers include postgres.h first. Nothing here raises an error except
// what the catalog lookups of the caller would.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rowguard::pg {

// _PG_init, preloaded only (called by SharedKeySnapshotInit): requests the shared area
// and its lock, installs the transaction callback that moves the generation at commit.
void SharedRevocationAnswersInit();

// The statement trigger on rowguard.revocations fired in this transaction.
void SharedRevocationNoteChange();

// The generation a probe about to start may be remembered under (0: none may be now).
// When it returns non-zero, the probe must read with a catalog snapshot taken after
// this call (it invalidates the current one).
std::uint64_t SharedRevocationBeginProbe();

// The remembered answer for (table, kind, issuer, value) under the current generation.
bool SharedRevocationFind(unsigned int table, char kind, const char* issuer,
                          std::size_t issuer_length, const char* value, std::size_t value_length,
                          std::int64_t* answer);

// Remembers a probe's answer if `generation` (from SharedRevocationBeginProbe) is still
// the database's.
void SharedRevocationRemember(std::uint64_t generation, unsigned int table, char kind,
                              const char* issuer, std::size_t issuer_length, const char* value,
                              std::size_t value_length, std::int64_t answer);

}  // namespace rowguard::pg
