// The key store (include/rowguard/pg/key_store.hpp): loads rowguard.keys and
// rowguard.issuers into the core's trust store, which it owns, and drops both the
// store and the identity cache when either table changes in any backend.
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include "rowguard/pg/key_store.hpp"

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity_cache.hpp"

namespace rowguard::pg {

std::uint64_t key_generation = 1;

namespace {

bool store_valid = false;
// Built by the bridge; replaced (and the old one freed) by each load.
core::TrustStore* trust_store = nullptr;
Oid keys_relid = InvalidOid;
Oid issuers_relid = InvalidOid;

// Column numbers of the tables created by the install script.
constexpr int kKeysKid = 1, kKeysAlg = 2, kKeysIssuer = 3, kKeysJwk = 4, kKeysColumns = 5;
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

// Reads every tuple of `rel` (`table` names it in the cannot-happen error) and keeps
// those `fill` accepts (it fills the zeroed row and returns true) in a palloc'ed array.
template <int kColumns, typename Row, typename Fill>
int ScanRows(Relation rel, const char* table, Row** rows_out, Fill fill) {
  int capacity = 16, count = 0;
  auto* rows = static_cast<Row*>(palloc(sizeof(Row) * capacity));
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
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

int LoadKeys(Relation rel, KeyRow** rows_out) {
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
      });
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

}  // namespace

void RegisterKeyStoreInvalidation() { CacheRegisterRelcacheCallback(InvalidateStore, 0); }

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

  MemoryContext load_context =
      AllocSetContextCreate(CurrentMemoryContext, "rowguard key load", ALLOCSET_SMALL_SIZES);
  MemoryContext old_context = MemoryContextSwitchTo(load_context);
  KeyRow* key_rows;
  IssuerRow* issuer_rows;
  Relation keys_rel = table_open(keys, AccessShareLock);
  const int key_count = LoadKeys(keys_rel, &key_rows);
  table_close(keys_rel, AccessShareLock);
  Relation issuers_rel = table_open(issuers, AccessShareLock);
  const int issuer_count = LoadIssuers(issuers_rel, &issuer_rows);
  table_close(issuers_rel, AccessShareLock);
  MemoryContextSwitchTo(old_context);

  // Opening the tables may have processed invalidations that arrived meanwhile; the
  // rows just read are at least that new, so the store built from them is current.
  skipped_count = 0;
  BridgeError error;
  core::TrustStore* built = nullptr;
  const bool ok = BridgeBuildStore(key_rows, key_count, issuer_rows, issuer_count, NoteSkippedKey,
                                   &built, &error);
  MemoryContextDelete(load_context);
  if (ok) {
    BridgeFreeStore(trust_store);
    trust_store = built;
  }
  if (!ok) {
    ereport(ERROR, (errcode(error.kind == FailureKind::kOutOfMemory ? ERRCODE_OUT_OF_MEMORY
                                                                    : ERRCODE_INTERNAL_ERROR),
                    errmsg("could not load rowguard keys: %s", error.detail)));
  }
  if (skipped_count > 0) {
    ereport(WARNING, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg_plural("rowguard ignored %d stored key that no longer parses",
                                    "rowguard ignored %d stored keys that no longer parse",
                                    skipped_count, skipped_count),
                      errdetail("Key \"%s\" was refused: %s.", skipped_kid, skipped_detail),
                      errhint("Remove the key with rowguard.remove_key and add it again.")));
  }
  store_valid = true;
  return true;
}

const core::TrustStore* CurrentTrustStore() { return trust_store; }

}  // namespace rowguard::pg
