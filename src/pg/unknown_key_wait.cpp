// Waiting for a key the issuer has just published (docs/keys.md, "Rotation without
// refusals"). A token names a kid no stored key has; its issuer has a jwks_uri and this
// database has a running refresher: rather than refuse at once, the call wakes the
// refresher and sleeps (a condition variable the refresher broadcasts after every
// refresh) until the key is stored, the refresher has fetched the issuer's set after
// the token arrived without finding it, or rowguard.unknown_key_wait has passed.
//
// Plain C-style glue: only plain data is alive here, so the ERROR of a cancel
// (CHECK_FOR_INTERRUPTS inside the sleep) or of a table read unwinds nothing.
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/key_sync.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/settings.hpp"

namespace rowguard::pg {
namespace {

// How often a waiting backend looks again even without a broadcast (a refresher that
// stopped, a wake dropped by the rate limit).
constexpr long kPollMs = 100;

struct SourceState {
  bool found;
  bool due;                  // next_refresh has come, or the issuer was never fetched
  TimestampTz last_attempt;  // 0 when never
};

// The issuer's row of rowguard.jwks_sources through its primary key, with the catalog
// snapshot (a fresh one: the table is no catalog) and no privilege check, like the
// key store reads rowguard.keys. Columns are found by name.
SourceState ReadSource(const char* iss) {
  SourceState state{false, false, 0};
  const Oid schema = get_namespace_oid("rowguard", true);
  const Oid relid = OidIsValid(schema) ? get_relname_relid("jwks_sources", schema) : InvalidOid;
  if (!OidIsValid(relid)) return state;
  const AttrNumber iss_column = get_attnum(relid, "iss");
  const AttrNumber attempt_column = get_attnum(relid, "last_attempt");
  const AttrNumber next_column = get_attnum(relid, "next_refresh");
  if (iss_column == InvalidAttrNumber || attempt_column == InvalidAttrNumber ||
      next_column == InvalidAttrNumber) {
    return state;
  }
  Relation rel = table_open(relid, AccessShareLock);
  const Oid index = CompatPrimaryKeyIndex(rel);
  if (OidIsValid(index)) {
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(iss));
    key.sk_collation = TupleDescAttr(RelationGetDescr(rel), iss_column - 1)->attcollation;
    SysScanDesc scan = systable_beginscan(rel, index, true, nullptr, 1, &key);
    if (HeapTuple tuple = systable_getnext(scan)) {
      TupleDesc desc = RelationGetDescr(rel);
      bool attempt_null = true, next_null = true;
      const Datum attempt = heap_getattr(tuple, attempt_column, desc, &attempt_null);
      const Datum next = heap_getattr(tuple, next_column, desc, &next_null);
      state.found = true;
      state.last_attempt = attempt_null ? 0 : DatumGetTimestampTz(attempt);
      state.due = attempt_null || next_null || DatumGetTimestampTz(next) <= GetCurrentTimestamp();
    }
    systable_endscan(scan);
  }
  table_close(rel, AccessShareLock);  // the lock is released: none is held while waiting
  return state;
}

// Does the store hold `kid` now? Reads invalidations first, so a sync committed by the
// refresher is seen.
bool StoreHasKey(const char* kid) {
  const char* problem = nullptr;
  return EnsureKeyFor(kid, &problem) && BridgeStoreHasKey(CurrentTrustStore(), kid);
}

}  // namespace

bool AwaitUnknownKey(const char* iss, const char* kid) {
  if (setting_unknown_key_wait <= 0 || kid == nullptr || iss == nullptr || iss[0] == '\0') {
    return false;
  }
  if (!KeyRefreshRunsHere()) return false;
  const TimestampTz noticed = GetCurrentTimestamp();
  const TimestampTz deadline = TimestampTzPlusMilliseconds(noticed, setting_unknown_key_wait);
  bool found = false;
  for (;;) {
    const SourceState source = ReadSource(iss);
    if (!source.found) break;  // no jwks_uri: nobody will fetch this issuer's keys
    const TimestampTz now = GetCurrentTimestamp();
    if (source.last_attempt > noticed) {
      // Fetched after this token arrived: what the issuer publishes is stored now.
      found = StoreHasKey(kid);
      break;
    }
    // A wake refetches an issuer at most once per KeyRefreshWakeMinIntervalMs.
    const TimestampTz fetchable =
        source.due
            ? now
            : TimestampTzPlusMilliseconds(source.last_attempt, KeyRefreshWakeMinIntervalMs());
    if (fetchable > deadline || now >= deadline) break;
    if (now >= fetchable) KeySyncNoteUnknownKey(iss);
    // Hold back no xmin horizon while sleeping.
    InvalidateCatalogSnapshot();
    long sleep_ms = kPollMs;
    if (fetchable > now) {
      long until_fetchable = static_cast<long>((fetchable - now) / 1000) + 1;
      if (until_fetchable < sleep_ms) sleep_ms = until_fetchable;
    }
    const long left_ms = static_cast<long>((deadline - now) / 1000) + 1;
    if (left_ms < sleep_ms) sleep_ms = left_ms;
    KeyRefreshSleep(sleep_ms);
    if (StoreHasKey(kid)) {
      found = true;
      break;
    }
  }
  KeyRefreshEndSleep();
  return found;
}

}  // namespace rowguard::pg
