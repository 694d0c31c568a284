// Revocation: is this identity's token revoked? One index probe of rowguard.revocations
// per (issuer, jti) and per (issuer, sub), remembered in a bounded per-backend cache
// (lifecycle_bridge.hpp) that a relcache invalidation of the table empties, so a
// backend's cost and memory do not grow with the table (docs/functions.md,
// "Revocation"; the figures are in docs/performance.md). Preloaded, the answers are
// also shared by the database's backends until the table changes
// (shared_revocation_answers.hpp), so a new backend need not open the table.
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include <climits>
#include <cstring>

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/lifecycle_bridge.hpp"
#include "rowguard/pg/shared_revocation_answers.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {
namespace {

// Columns of rowguard.revocations (src/sql/update/0.1.0--0.2.0/20_lifecycle.sql).
constexpr int kJti = 1, kSub = 2, kIssuer = 3, kIssuedBefore = 4, kColumns = 6;
// The answer for a subject without revocations.
constexpr std::int64_t kNoCutoff = INT64_MIN;

char revoked_detail[kDetailSize];

// PostgreSQL timestamp (microseconds since 2000-01-01) to Unix seconds, rounded down.
// iat has one-second resolution, so "issued before issued_before" is decided per second:
// a token whose iat is the second of issued_before, or later, passes. A token minted
// earlier within that same second passes too (the price of "log out everywhere, then
// log in again" working without a pause; docs/functions.md, revoke_subject).
std::int64_t FloorUnixSeconds(TimestampTz t) {
  if (TIMESTAMP_IS_NOEND(t)) return INT64_MAX;
  std::int64_t seconds = t / USECS_PER_SEC;
  if (t % USECS_PER_SEC < 0) --seconds;
  return seconds + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

// Probes the index on (column, issuer) for `value` and returns, over the rows whose
// issuer is NULL or equals `issuer`: for kRevokedJti 1 when any exists (else 0); for
// kRevokedSub the latest issued_before in Unix seconds, rounded down (else kNoCutoff).
// Reads with a catalog snapshot and checks no privileges, like the key store.
std::int64_t Probe(Oid schema, Oid table, char kind, const char* issuer, const char* value,
                   std::size_t value_length) {
  std::int64_t answer = kind == kRevokedJti ? 0 : kNoCutoff;
  const char* index_name = kind == kRevokedJti ? "revocations_jti_issuer" : "revocations_sub_issuer";
  const Oid index = get_relname_relid(index_name, schema);
  if (!OidIsValid(index)) return answer;  // rowguard 0.1.0 tables

  MemoryContext probe_context =
      AllocSetContextCreate(CurrentMemoryContext, "rowguard revocation probe", ALLOCSET_SMALL_SIZES);
  MemoryContext old_context = MemoryContextSwitchTo(probe_context);
  Relation rel = table_open(table, AccessShareLock);
  if (RelationGetDescr(rel)->natts != kColumns) {
    elog(ERROR, "rowguard.revocations has an unexpected shape");
  }
  ScanKeyData key;
  ScanKeyInit(&key, kind == kRevokedJti ? kJti : kSub, BTEqualStrategyNumber, F_TEXTEQ,
              PointerGetDatum(cstring_to_text_with_len(value, static_cast<int>(value_length))));
  SysScanDesc scan = systable_beginscan(rel, index, true, nullptr, 1, &key);
  TupleDesc desc = RelationGetDescr(rel);
  const std::size_t issuer_length = strlen(issuer);
  HeapTuple tuple;
  while ((tuple = systable_getnext(scan)) != nullptr) {
    bool is_null;
    const Datum row_issuer = heap_getattr(tuple, kIssuer, desc, &is_null);
    if (!is_null) {
      const text* t = DatumGetTextPP(row_issuer);
      if (static_cast<std::size_t>(VARSIZE_ANY_EXHDR(t)) != issuer_length ||
          memcmp(VARDATA_ANY(t), issuer, issuer_length) != 0) {
        continue;
      }
    }
    if (kind == kRevokedJti) {
      answer = 1;
      break;
    }
    const Datum cutoff = heap_getattr(tuple, kIssuedBefore, desc, &is_null);
    if (is_null) continue;
    const TimestampTz t = DatumGetTimestampTz(cutoff);
    if (TIMESTAMP_IS_NOBEGIN(t)) continue;
    const std::int64_t seconds = FloorUnixSeconds(t);
    if (seconds > answer) answer = seconds;
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  MemoryContextSwitchTo(old_context);
  MemoryContextDelete(probe_context);
  return answer;
}

// The answer from this backend's cache, else (preloaded) from the answers shared by
// every backend of the database (shared_revocation_answers.cpp), else from a probe.
std::int64_t LookUp(char kind, const char* issuer, const char* value, std::size_t length) {
  const std::size_t issuer_length = strlen(issuer);
  std::int64_t answer;
  if (RevocationCacheFind(kind, issuer, issuer_length, value, length, &answer)) return answer;
  const Oid schema = get_namespace_oid("rowguard", true);
  const Oid table = OidIsValid(schema) ? get_relname_relid("revocations", schema) : InvalidOid;
  if (!OidIsValid(table)) {
    answer = kind == kRevokedJti ? 0 : kNoCutoff;  // rowguard 0.1.0 tables
  } else if (SharedRevocationFind(table, kind, issuer, issuer_length, value, length, &answer)) {
    // For tests (client_min_messages = debug2): the table was not probed.
    ereport(DEBUG2, (errmsg_internal(ROWGUARD_LOG_PREFIX "revocation answer shared (%s)",
                                     kind == kRevokedJti ? "jti" : "sub"),
                     errhidestmt(true)));
  } else {
    const std::uint64_t generation = SharedRevocationBeginProbe();
    answer = Probe(schema, table, kind, issuer, value, length);
    SharedRevocationRemember(generation, table, kind, issuer, issuer_length, value, length, answer);
  }
  RevocationCacheInsert(kind, issuer, issuer_length, value, length, answer);
  return answer;
}

}  // namespace

bool IdentityRevoked(const Identity* identity, const char** detail) {
  Assert(!IsParallelWorker());
  *detail = revoked_detail;
  const char* issuer = IdentityIss(identity);  // "" when the token has no iss
  const char* jti = IdentityJti(identity);
  if (jti[0] != '\0' && LookUp(kRevokedJti, issuer, jti, strlen(jti)) != 0) {
    strlcpy(revoked_detail, "token has been revoked (its jti)", sizeof(revoked_detail));
    return true;
  }
  if ((identity->flags & kIdentityHasSub) != 0) {
    const std::int64_t cutoff =
        LookUp(kRevokedSub, issuer, IdentitySub(identity), identity->sub_length);
    if (cutoff != kNoCutoff) {
      if ((identity->flags & kIdentityHasIat) == 0) {
        strlcpy(revoked_detail, "tokens of this subject have been revoked (token has no \"iat\")",
                sizeof(revoked_detail));
        return true;
      }
      if (identity->iat < cutoff) {
        strlcpy(revoked_detail, "tokens of this subject issued before the revocation have been revoked",
                sizeof(revoked_detail));
        return true;
      }
    }
  }
  return false;
}

void ForgetRevocationLookups() { RevocationCacheClear(); }

}  // namespace rowguard::pg
