// The identity (include/rowguard/pg/identity.hpp): made from a token in rowguard.token's
// check hook (or by rowguard.verify), required with its re-checks by every accessor,
// and the statement clock both use (docs/design.md, "The path a token takes").
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include "rowguard/pg/identity.hpp"

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity_cache.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {

Identity* current_identity = nullptr;
std::uint64_t identity_serial = 1;

namespace {

char failure_detail[kDetailSize];

MemoryContext ScratchContext() {
  static MemoryContext scratch = nullptr;
  if (scratch == nullptr) {
    scratch = AllocSetContextCreate(TopMemoryContext, "rowguard identity", ALLOCSET_SMALL_SIZES);
  }
  return scratch;
}

// The claims as a Jsonb image in the scratch context, or nullptr. jsonb_in can only
// fail on input the strict core parser already refused (or on out-of-memory), but a
// check hook must not throw: the error is caught here, where nothing but plain data
// is alive and jsonb_in holds no resources beyond memory in the scratch context.
Jsonb* ClaimsToJsonb(const char* claims_json) {
  MemoryContext old_context = MemoryContextSwitchTo(ScratchContext());
  Jsonb* volatile result = nullptr;
  PG_TRY();
  { result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(claims_json))); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(ScratchContext());
    FlushErrorState();
    result = nullptr;
  }
  PG_END_TRY();
  MemoryContextSwitchTo(old_context);
  return result;
}

Identity* BuildIdentity(const VerifiedPlain& verified) {
  Jsonb* claims = ClaimsToJsonb(verified.claims_json);
  if (claims == nullptr) {
    strlcpy(failure_detail, "claims cannot be represented as jsonb", sizeof(failure_detail));
    return nullptr;
  }
  // Layout: the header, then kid, sub, iss and jti NUL-terminated, then the Jsonb.
  const char* strings[] = {verified.kid, verified.sub ? verified.sub : "", verified.iss,
                           verified.jti};
  const std::size_t lengths[] = {strlen(verified.kid), verified.sub_length, strlen(verified.iss),
                                 strlen(verified.jti)};
  std::size_t offsets[4];
  std::size_t cursor = sizeof(Identity);
  for (int i = 0; i < 4; ++i) {
    offsets[i] = cursor;
    cursor += lengths[i] + 1;
  }
  const std::size_t jsonb_offset = MAXALIGN(cursor);
  const std::size_t size = jsonb_offset + VARSIZE(claims);
  auto* identity = static_cast<Identity*>(CompatAllocGucExtra(size));
  if (identity == nullptr) {
    MemoryContextReset(ScratchContext());
    strlcpy(failure_detail, "out of memory", sizeof(failure_detail));
    return nullptr;
  }
  memset(identity, 0, sizeof(Identity));
  identity->size = static_cast<std::uint32_t>(size);
  identity->flags = verified.flags;
  identity->exp = verified.exp;
  identity->nbf = verified.nbf;
  identity->iat = verified.iat;
  identity->leeway = verified.leeway;
  identity->key_generation = key_generation;
  char* base = reinterpret_cast<char*>(identity);
  for (int i = 0; i < 4; ++i) {
    memcpy(base + offsets[i], strings[i], lengths[i]);
    base[offsets[i] + lengths[i]] = '\0';
  }
  identity->kid_offset = static_cast<std::uint32_t>(offsets[0]);
  identity->sub_offset = static_cast<std::uint32_t>(offsets[1]);
  identity->sub_length = static_cast<std::uint32_t>(lengths[1]);
  identity->iss_offset = static_cast<std::uint32_t>(offsets[2]);
  identity->jti_offset = static_cast<std::uint32_t>(offsets[3]);
  identity->jsonb_offset = static_cast<std::uint32_t>(jsonb_offset);
  identity->jsonb_length = VARSIZE(claims);
  memcpy(base + jsonb_offset, claims, VARSIZE(claims));
  MemoryContextReset(ScratchContext());
  return identity;
}

Identity* CopyIdentity(const Identity* source) {
  auto* copy = static_cast<Identity*>(CompatAllocGucExtra(source->size));
  if (copy == nullptr) {
    strlcpy(failure_detail, "out of memory", sizeof(failure_detail));
    return nullptr;
  }
  memcpy(copy, source, source->size);
  return copy;
}

void LogOutcome(bool success, const TokenFactsPlain& facts, const char* reason) {
  if (setting_log_authentications == kLogOff) return;
  if (success && setting_log_authentications != kLogAll) return;
  ereport(LOG, (success ? errmsg(ROWGUARD_LOG_PREFIX "token accepted")
                        : errmsg(ROWGUARD_LOG_PREFIX "token rejected: %s", reason),
                errdetail_log("kid=\"%s\" iss=\"%s\" sub=\"%s\" jti=\"%s\"", facts.kid, facts.iss,
                              facts.sub, facts.jti),
                errhidestmt(true), errhidecontext(true)));
}

void FactsOf(const Identity* identity, TokenFactsPlain* facts) {
  CopyLogSafe(facts->kid, sizeof(facts->kid), IdentityKid(identity), strlen(IdentityKid(identity)));
  CopyLogSafe(facts->iss, sizeof(facts->iss), IdentityIss(identity), strlen(IdentityIss(identity)));
  CopyLogSafe(facts->sub, sizeof(facts->sub), IdentitySub(identity), identity->sub_length);
  CopyLogSafe(facts->jti, sizeof(facts->jti), IdentityJti(identity), strlen(IdentityJti(identity)));
}

}  // namespace

std::int64_t StatementStartSeconds() {
  TimestampTz now = IsTransactionState() ? GetCurrentStatementStartTimestamp() : 0;
  if (now == 0) now = GetCurrentTimestamp();
  // Floor division: PostgreSQL timestamps before 2000 are negative.
  std::int64_t seconds = now / USECS_PER_SEC;
  if (now % USECS_PER_SEC < 0) --seconds;
  return seconds + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

Identity* MakeIdentity(const char* token, const char** detail, bool log_result) {
  *detail = failure_detail;
  // Gather log facts only when a line may be written: a cache hit stays a lookup.
  log_result = log_result && setting_log_authentications != kLogOff;
  const std::size_t length = strlen(token);
  BridgeError error;
  VerifiedPlain verified;

  if (InitializingParallelWorker) {
    // Workers receive GUC values only from their leader, whose check hook verified
    // this exact value; a worker must not read tables (docs/design.md), so it only
    // decodes.
    if (!BridgeDecodeFromLeader(token, length, static_cast<std::size_t>(setting_max_token_bytes),
                                &verified, &error)) {
      strlcpy(failure_detail, error.detail, sizeof(failure_detail));
      return nullptr;
    }
    Identity* identity = BuildIdentity(verified);
    BridgeFreeVerified(&verified);
    return identity;
  }

  if (setting_overridden_at_connection != nullptr) {
    snprintf(failure_detail, sizeof(failure_detail),
             "the session's connection overrode \"%s\", a superuser-only setting",
             setting_overridden_at_connection);
    return nullptr;
  }
  const char* problem = nullptr;
  if (!EnsureKeyStore(&problem)) {
    strlcpy(failure_detail, problem, sizeof(failure_detail));
    return nullptr;
  }
  const std::int64_t now = StatementStartSeconds();

  if (const Identity* cached = CacheFind(token, length)) {
    if (!BridgeCheckTimes(cached, now, &error)) {
      strlcpy(failure_detail, error.detail, sizeof(failure_detail));
      if (log_result) {
        TokenFactsPlain facts;
        FactsOf(cached, &facts);
        LogOutcome(false, facts, failure_detail);
      }
      return nullptr;
    }
    Identity* identity = CopyIdentity(cached);
    if (identity != nullptr && log_result) {
      TokenFactsPlain facts;
      FactsOf(identity, &facts);
      LogOutcome(true, facts, nullptr);
    }
    return identity;
  }

  const VerifySettings settings{now, static_cast<std::size_t>(setting_max_token_bytes),
                                setting_leeway, setting_require_exp,
                                setting_audience ? setting_audience : ""};
  TokenFactsPlain facts;
  if (!BridgeVerify(CurrentTrustStore(), token, length, settings, &verified,
                    log_result ? &facts : nullptr, &error)) {
    strlcpy(failure_detail, error.detail, sizeof(failure_detail));
    if (log_result) LogOutcome(false, facts, failure_detail);
    return nullptr;
  }
  Identity* identity = BuildIdentity(verified);
  BridgeFreeVerified(&verified);
  if (identity == nullptr) {
    if (log_result) LogOutcome(false, facts, failure_detail);
    return nullptr;
  }
  CacheInsert(token, length, identity, setting_cache_size);
  if (log_result) LogOutcome(true, facts, nullptr);
  return identity;
}

void SetCurrentIdentity(Identity* identity) {
  current_identity = identity;
  ++identity_serial;
}

const Identity* RequireCurrentIdentity() {
  Identity* identity = current_identity;
  if (identity == nullptr) return nullptr;
  // Time rules are the core's (CheckTimes); their answer cannot change while the
  // identity and the statement clock stay the same, and accessors run once per row,
  // so the check runs once per (identity, second of statement start). A failure is
  // never remembered: every call raises it again.
  static std::uint64_t times_checked_serial = 0;
  static std::int64_t times_checked_at = 0;
  const std::int64_t now = StatementStartSeconds();
  if (times_checked_serial != identity_serial || times_checked_at != now) {
    BridgeError error;
    if (!BridgeCheckTimes(identity, now, &error)) {
      ReportInvalidToken(error.detail, "Authenticate again with a fresh token.");
    }
    times_checked_serial = identity_serial;
    times_checked_at = now;
  }
  if (!IsParallelWorker()) {
    // A key removed by another session must end this identity at this backend's next
    // statement, even when that statement takes no new lock (which is when PostgreSQL
    // would otherwise read the invalidation queue). Once per statement, not per call:
    // accessors run per row in a filter.
    static TimestampTz statement_checked = 0;
    const TimestampTz statement = GetCurrentStatementStartTimestamp();
    if (statement != statement_checked) {
      statement_checked = statement;
      AcceptInvalidationMessages();
    }
  }
  if (identity->key_generation != key_generation && !IsParallelWorker()) {
    // The keys changed since this identity was verified: it stands only while its key
    // does. (Workers skip this: they read no tables; their leader checks.)
    const char* problem = nullptr;
    if (EnsureKeyStore(&problem) &&
        !BridgeStoreHasKey(CurrentTrustStore(), IdentityKid(identity))) {
      ReportInvalidToken(
          psprintf("key \"%s\" of the current identity has been removed", IdentityKid(identity)),
          "Authenticate again with a token signed by a current key.");
    }
    identity->key_generation = key_generation;
  }
  return identity;
}

}  // namespace rowguard::pg
