// The key store (include/rowguard/pg/key_store.hpp): loads rowguard.issuers, and the
// rows of rowguard.keys one kid at a time as tokens name them, into the core's trust
// store, which it owns, and drops both the store and the identity cache when either
// table changes in any backend.
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"
}

#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/key_store.hpp"

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity_cache.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/shared_key_snapshot.hpp"

namespace rowguard::pg {

std::uint64_t key_generation = 1;

namespace {

bool store_valid = false;
// Built by the bridge; replaced (and the old one freed) by each load.
core::TrustStore* trust_store = nullptr;
// Every row of rowguard.keys is in trust_store (a token without "kid" needed them all).
bool all_keys_loaded = false;
Oid keys_relid = InvalidOid;
// The public key of this transaction's test identities (test_identity.cpp), or nullptr:
// put into every store built until ForgetTransactionKey, never into a table.
const KeyRow* transaction_key = nullptr;
Oid issuers_relid = InvalidOid;

// Column numbers of the tables created by the install script.
constexpr int kKeysKid = 1, kKeysAlg = 2, kKeysIssuer = 3, kKeysJwk = 4, kKeysColumns = 5;
// Keys a backend keeps parsed before it starts over (a lazy store; docs/design.md).
constexpr int kMaxLoadedKeys = 1000;
constexpr int kIssuersIss = 1, kIssuersAudience = 2, kIssuersLeeway = 3, kIssuersMaxLifetime = 4,
              kIssuersColumns = 4;

void InvalidateStore(Datum, Oid relid) {
  if (relid == InvalidOid || relid == keys_relid || relid == issuers_relid) {
    store_valid = false;
    ++key_generation;
    CacheClear();
  }
}

std::int64_t IntervalSeconds(const Interval* interval) {
  return interval->time / USECS_PER_SEC +
         (static_cast<std::int64_t>(interval->month) * DAYS_PER_MONTH + interval->day) *
             SECS_PER_DAY;
}

// The first stored key that no longer parses, reported once per load. Filled from
// inside the noexcept bridge, so it only copies.
char skipped_kid[kDetailSize];
char skipped_detail[kDetailSize];
int skipped_count;

void NoteSkippedKey(const char* kid, const char* detail) {
  if (skipped_count++ == 0) {
    strlcpy(skipped_kid, kid, sizeof(skipped_kid));
    strlcpy(skipped_detail, detail, sizeof(skipped_detail));
  }
}

// Reads the tuples of `rel` (`table` names it in the cannot-happen error), all of them
// or, with `index` and `key`, those the index finds, and keeps those `fill` accepts (it
// fills the zeroed row and returns true) in a palloc'ed array.
template <int kColumns, typename Row, typename Fill>
int ScanRows(Relation rel, const char* table, Row** rows_out, Fill fill, Oid index = InvalidOid,
             ScanKey key = nullptr) {
  int capacity = OidIsValid(index) ? 1 : 16, count = 0;
  auto* rows = static_cast<Row*>(palloc(sizeof(Row) * capacity));
  SysScanDesc scan =
      systable_beginscan(rel, index, OidIsValid(index), nullptr, key ? 1 : 0, key);
  TupleDesc desc = RelationGetDescr(rel);
  HeapTuple tuple;
  while ((tuple = systable_getnext(scan)) != nullptr) {
    Datum values[kColumns];
    bool nulls[kColumns];
    if (desc->natts != kColumns) elog(ERROR, "%s has an unexpected shape", table);
    heap_deform_tuple(tuple, desc, values, nulls);
    if (count == capacity) {
      capacity *= 2;
      rows = static_cast<Row*>(repalloc(rows, sizeof(Row) * capacity));
    }
    rows[count] = Row{};
    if (fill(values, nulls, &rows[count])) ++count;
  }
  systable_endscan(scan);
  *rows_out = rows;
  return count;
}

// The rows of rowguard.keys (kid == nullptr), or the row stored under `kid` through the
// primary key's index (at most one).
int LoadKeys(Relation rel, const char* kid, KeyRow** rows_out) {
  Oid index = InvalidOid;
  ScanKeyData key;
  if (kid != nullptr) {
    index = CompatPrimaryKeyIndex(rel);
    if (!OidIsValid(index)) elog(ERROR, "rowguard.keys has no primary key");
    ScanKeyInit(&key, kKeysKid, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(kid));
    // The index orders by the column's collation; the comparison must use the same.
    key.sk_collation = TupleDescAttr(RelationGetDescr(rel), kKeysKid - 1)->attcollation;
  }
  return ScanRows<kKeysColumns>(
      rel, "rowguard.keys", rows_out, [](const Datum* values, const bool* nulls, KeyRow* row) {
        if (nulls[kKeysKid - 1] || nulls[kKeysAlg - 1] || nulls[kKeysJwk - 1]) return false;
        Jsonb* jwk = DatumGetJsonbP(values[kKeysJwk - 1]);
        row->kid = TextDatumGetCString(values[kKeysKid - 1]);
        row->alg = TextDatumGetCString(values[kKeysAlg - 1]);
        row->issuer =
            nulls[kKeysIssuer - 1] ? nullptr : TextDatumGetCString(values[kKeysIssuer - 1]);
        row->jwk = JsonbToCString(nullptr, &jwk->root, VARSIZE(jwk));
        return true;
      },
      index, kid != nullptr ? &key : nullptr);
}

int LoadIssuers(Relation rel, IssuerRow** rows_out) {
  return ScanRows<kIssuersColumns>(
      rel, "rowguard.issuers", rows_out,
      [](const Datum* values, const bool* nulls, IssuerRow* row) {
        if (nulls[kIssuersIss - 1]) return false;
        row->iss = TextDatumGetCString(values[kIssuersIss - 1]);
        if (!nulls[kIssuersAudience - 1]) {
          Datum* elements;
          bool* element_nulls;
          int n;
          deconstruct_array(DatumGetArrayTypeP(values[kIssuersAudience - 1]), TEXTOID, -1, false,
                            TYPALIGN_INT, &elements, &element_nulls, &n);
          auto** audiences = static_cast<const char**>(palloc(sizeof(char*) * (n + 1)));
          int kept = 0;
          for (int i = 0; i < n; ++i) {
            if (!element_nulls[i]) audiences[kept++] = TextDatumGetCString(elements[i]);
          }
          row->audiences = audiences;
          row->audience_count = kept;
        }
        if (!nulls[kIssuersLeeway - 1]) {
          row->has_leeway = true;
          row->leeway_seconds = IntervalSeconds(DatumGetIntervalP(values[kIssuersLeeway - 1]));
        }
        if (!nulls[kIssuersMaxLifetime - 1]) {
          row->has_max_lifetime = true;
          row->max_lifetime_seconds =
              IntervalSeconds(DatumGetIntervalP(values[kIssuersMaxLifetime - 1]));
        }
        return true;
      });
}

void ReportLoadFailure(const BridgeError& error) {
  ereport(ERROR, (errcode(error.kind == FailureKind::kOutOfMemory ? ERRCODE_OUT_OF_MEMORY
                                                                  : ERRCODE_INTERNAL_ERROR),
                  errmsg("could not load rowguard keys: %s", error.detail)));
}

void ReportSkippedKeys() {
  if (skipped_count > 0) {
    ereport(WARNING, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg_plural("rowguard ignored %d stored key that no longer parses",
                                    "rowguard ignored %d stored keys that no longer parse",
                                    skipped_count, skipped_count),
                      errdetail("Key \"%s\" was refused: %s.", skipped_kid, skipped_detail),
                      errhint("Remove the key with rowguard.remove_key and add it again.")));
  }
}

// Replaces the store with a new one: every issuer rule, and every key when
// `with_keys` (else none yet). Opening the tables may process invalidations that
// arrived meanwhile; the rows read are at least that new, so the store built from them
// is current and marked valid. Preloaded, the rows come from the shared key snapshot
// when it can serve them (shared_key_snapshot.hpp); it is as new as the tables.
void LoadStore(bool with_keys) {
  MemoryContext load_context =
      AllocSetContextCreate(CurrentMemoryContext, "rowguard key load", ALLOCSET_SMALL_SIZES);
  MemoryContext old_context = MemoryContextSwitchTo(load_context);
  KeyRow* key_rows = nullptr;
  IssuerRow* issuer_rows;
  int key_count = 0;
  int issuer_count = 0;
  if (with_keys &&
      !SnapshotKeyRows(keys_relid, issuers_relid, nullptr, &key_rows, &key_count)) {
    key_count = ReadAllKeyRows(keys_relid, &key_rows);
  }
  if (!SnapshotIssuerRows(keys_relid, issuers_relid, &issuer_rows, &issuer_count)) {
    issuer_count = ReadAllIssuerRows(issuers_relid, &issuer_rows);
  }
  MemoryContextSwitchTo(old_context);

  skipped_count = 0;
  BridgeError error;
  core::TrustStore* built = nullptr;
  bool ok = BridgeBuildStore(key_rows, key_count, issuer_rows, issuer_count, NoteSkippedKey, &built,
                             &error);
  MemoryContextDelete(load_context);
  if (ok && transaction_key != nullptr) {
    ok = BridgeAddKey(built, *transaction_key, NoteSkippedKey, &error);
    if (!ok) BridgeFreeStore(built);
  }
  if (!ok) ReportLoadFailure(error);
  BridgeFreeStore(trust_store);
  trust_store = built;
  all_keys_loaded = with_keys;
  store_valid = true;
  ReportSkippedKeys();
}

// Adds the row stored under `kid`, if any, to the store (an index lookup).
void LoadKey(const char* kid) {
  MemoryContext load_context =
      AllocSetContextCreate(CurrentMemoryContext, "rowguard key load", ALLOCSET_SMALL_SIZES);
  MemoryContext old_context = MemoryContextSwitchTo(load_context);
  KeyRow* rows;
  int count = 0;
  if (!SnapshotKeyRows(keys_relid, issuers_relid, kid, &rows, &count)) {
    Relation keys_rel = table_open(keys_relid, AccessShareLock);
    count = LoadKeys(keys_rel, kid, &rows);
    table_close(keys_rel, AccessShareLock);
  }
  MemoryContextSwitchTo(old_context);

  skipped_count = 0;
  BridgeError error;
  bool ok = true;
  for (int i = 0; i < count && ok; ++i) ok = BridgeAddKey(trust_store, rows[i], NoteSkippedKey, &error);
  MemoryContextDelete(load_context);
  if (!ok) {
    // The store may hold part of what it should: build it again next time.
    store_valid = false;
    ReportLoadFailure(error);
  }
  ReportSkippedKeys();
}

}  // namespace

int ReadAllKeyRows(unsigned int relid, KeyRow** rows) {
  Relation rel = table_open(relid, AccessShareLock);
  const int count = LoadKeys(rel, nullptr, rows);
  table_close(rel, AccessShareLock);
  return count;
}

int ReadAllIssuerRows(unsigned int relid, IssuerRow** rows) {
  Relation rel = table_open(relid, AccessShareLock);
  const int count = LoadIssuers(rel, rows);
  table_close(rel, AccessShareLock);
  return count;
}

// PostgreSQL has few relcache callback slots (10), and Citus takes several: the router's
// cache of distribution columns (citus_router.cpp) is told through this one.
void InvalidateStoreAndRouter(Datum arg, Oid relid) {
  InvalidateStore(arg, relid);
  CitusRouterRelcacheInvalidated(relid);
}

void RegisterKeyStoreInvalidation() { CacheRegisterRelcacheCallback(InvalidateStoreAndRouter, 0); }

bool EnsureKeyStore(const char** problem) {
  if (!IsTransactionState()) {
    *problem = "tokens can only be verified inside a transaction";
    return false;
  }
  AcceptInvalidationMessages();
  if (store_valid) return true;

  const Oid schema = get_namespace_oid("rowguard", true);
  const Oid keys = OidIsValid(schema) ? get_relname_relid("keys", schema) : InvalidOid;
  const Oid issuers = OidIsValid(schema) ? get_relname_relid("issuers", schema) : InvalidOid;
  if (!OidIsValid(keys) || !OidIsValid(issuers)) {
    *problem = "the rowguard extension is not installed in this database";
    return false;
  }
  keys_relid = keys;
  issuers_relid = issuers;
  // Issuer rules are few: all of them. Keys come one kid at a time (EnsureKeyFor).
  LoadStore(false);
  return true;
}

bool EnsureKeyFor(const char* kid, const char** problem) {
  if (IsParallelWorker()) elog(ERROR, "rowguard keys cannot be loaded in a parallel worker");
  // A key change seen while reading the row (opening a table processes invalidations)
  // makes the rest of the store stale: build it again and read again, a bounded number
  // of times (the next statement's EnsureKeyStore rebuilds it in any case).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!EnsureKeyStore(problem)) return false;
    if (all_keys_loaded) return true;
    if (kid == nullptr) {
      LoadStore(true);
    } else if (BridgeStoreHasKey(trust_store, kid)) {
      return true;
    } else {
      // Bounded: a backend that met more kids than kMaxLoadedKeys starts over.
      if (BridgeStoreKeyCount(trust_store) >= kMaxLoadedKeys) LoadStore(false);
      LoadKey(kid);
    }
    if (store_valid) return true;
  }
  return true;
}

const core::TrustStore* CurrentTrustStore() { return trust_store; }

bool InstallTransactionKey(const KeyRow* row, const char** problem) {
  if (IsParallelWorker()) elog(ERROR, "rowguard keys cannot be loaded in a parallel worker");
  if (!EnsureKeyStore(problem)) return false;
  BridgeError error;
  skipped_count = 0;
  if (!BridgeAddKey(trust_store, *row, NoteSkippedKey, &error)) ReportLoadFailure(error);
  if (skipped_count > 0) elog(ERROR, "rowguard could not add a test key: %s", skipped_detail);
  transaction_key = row;
  return true;
}

void ForgetTransactionKey() {
  if (transaction_key == nullptr) return;
  transaction_key = nullptr;
  // As when a key is removed: the next token builds a new store, and every identity
  // verified with the key fails its next accessor call.
  InvalidateStore(0, InvalidOid);
}

}  // namespace rowguard::pg
