// The shared key snapshot (docs/design.md, "The shared key snapshot"): with
// shared_preload_libraries = 'rowguard' and rowguard.shared_key_store_size > 0, a copy
// of the rows of rowguard.keys, rowguard.issuers and rowguard.role_bindings of each
// database, as plain bytes in shared memory, so that a new backend finds its key and
// issuer rules without opening those tables. Keys are still parsed per backend, and
// only the kids its tokens name. Not preloaded, on a hot standby, in a parallel worker
// or in a transaction that changed those tables, nothing here is used and the tables
// are read as before.
//
// Glue only: every function may ereport; callers include postgres.h first.
#pragma once

#include "rowguard/pg/core_bridge.hpp"

namespace rowguard::pg {

// A row of rowguard.role_bindings: the role's OID and its issuer (nullptr: any issuer).
struct BindingRow {
  unsigned int role;
  const char* issuer;
};

// _PG_init, preloaded only: requests the shared area and its lock, installs the
// transaction callback that publishes a change at commit.
void SharedKeySnapshotInit();

// The statement trigger rowguard._keys_changed() on `table` (a table of schema
// rowguard, by name) of this transaction: a change that, once committed, makes the
// database's snapshot stale.
void SharedKeySnapshotNoteChange(const char* table);

// The rows of this database from its snapshot, in CurrentMemoryContext, building and
// publishing the snapshot first when there is no current one. `keys_relid` and
// `issuers_relid` are the tables the caller would read (a snapshot of other tables, as
// after DROP and CREATE EXTENSION, is not used). false: no snapshot can serve now (see
// above; also while another backend builds one, or when it does not fit): read the
// tables.
bool SnapshotIssuerRows(unsigned int keys_relid, unsigned int issuers_relid, IssuerRow** rows,
                        int* count);
// The key stored under `kid` (0 or 1 row), or every key with kid == nullptr.
bool SnapshotKeyRows(unsigned int keys_relid, unsigned int issuers_relid, const char* kid,
                     KeyRow** rows, int* count);
bool SnapshotBindingRows(unsigned int bindings_relid, BindingRow** rows, int* count);

// OAuth sign-in (oauth_login.cpp), before the database is open: the issuer rows and the
// key stored under `kid` (every key with kid == nullptr) of the database named `dbname`
// from its current snapshot, in CurrentMemoryContext. The name is the one the database
// had when the snapshot was published; the sign-in is verified again against the
// database's own tables once it is open.
enum class LoginSnapshot { kServed, kMissing, kNoStore };
LoginSnapshot SnapshotRowsForLogin(const char* dbname, const char* kid, IssuerRow** issuers,
                                   int* issuer_count, KeyRow** keys, int* key_count);
// In a backend connected to a database, in a transaction: publish its snapshot if there
// is no current one (the OAuth snapshot worker). true: a current snapshot exists.
bool SharedKeySnapshotBuildHere();

// What a build reads (key_store.cpp and role_binding.cpp; also their own path without
// the snapshot): every row of the table, palloc'ed in CurrentMemoryContext, read with a
// catalog-snapshot scan.
int ReadAllKeyRows(unsigned int keys_relid, KeyRow** rows);
int ReadAllIssuerRows(unsigned int issuers_relid, IssuerRow** rows);
int ReadAllBindingRows(unsigned int bindings_relid, BindingRow** rows);

}  // namespace rowguard::pg
