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

#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/identity.hpp"

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity_cache.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/key_sync.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {

Identity* current_identity = nullptr;
std::uint64_t identity_serial = 1;

namespace {

char failure_detail[kDetailSize];
// Longest kid looked up by index; a longer one loads every key.
constexpr std::size_t kKidLookupSize = 512;

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
  memcpy(identity->key_thumbprint, verified.key_thumbprint, sizeof(identity->key_thumbprint));
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
  ereport(LOG,
          (success ? errmsg(ROWGUARD_LOG_PREFIX "token accepted")
                   : errmsg(ROWGUARD_LOG_PREFIX "token rejected: %s", reason),
           errdetail_log("kid=%s iss=%s sub=%s jti=%s", facts.kid, facts.iss, facts.sub, facts.jti),
           errhidestmt(true), errhidecontext(true)));
}

void FactsOf(const Identity* identity, TokenFactsPlain* facts) {
  BridgeQuote(facts->kid, sizeof(facts->kid), IdentityKid(identity), strlen(IdentityKid(identity)));
  BridgeQuote(facts->iss, sizeof(facts->iss), IdentityIss(identity), strlen(IdentityIss(identity)));
  BridgeQuote(facts->sub, sizeof(facts->sub), IdentitySub(identity), identity->sub_length);
  BridgeQuote(facts->jti, sizeof(facts->jti), IdentityJti(identity), strlen(IdentityJti(identity)));
}

// Revocation and role binding (lifecycle.hpp), for cache hits and fresh verifications
// alike: the identity, or nullptr (released) with failure_detail set.
Identity* Admitted(Identity* identity, bool log_result) {
  if (identity == nullptr) return nullptr;
  const char* detail = nullptr;
  const Admission admission = AdmitIdentity(identity, &detail);
  if (admission == Admission::kAdmitted) return identity;
  strlcpy(failure_detail, detail, sizeof(failure_detail));
  if (log_result) {
    TokenFactsPlain facts;
    FactsOf(identity, &facts);
    LogOutcome(false, facts, failure_detail);
  }
  CompatFreeGucExtra(identity);
  ObserveRejected(static_cast<int>(admission == Admission::kRevoked ? core::FailureClass::kRevoked
                                                                    : core::FailureClass::kRole),
                  failure_detail);
  return nullptr;
}

}  // namespace

std::int64_t IdentityClockSeconds() {
  TimestampTz now = 0;
  if (IsTransactionState()) {
    // Inside a procedure each COMMIT starts a transaction whose start is the current
    // time, while the CALL statement's start stays: the later of the two is "now".
    now = GetCurrentStatementStartTimestamp();
    const TimestampTz transaction = GetCurrentTransactionStartTimestamp();
    if (transaction > now) now = transaction;
  }
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
    ObserveRejected(kOtherFailure, failure_detail);
    return nullptr;
  }
  const char* problem = nullptr;
  if (!EnsureKeyStore(&problem)) {
    strlcpy(failure_detail, problem, sizeof(failure_detail));
    ObserveRejected(kOtherFailure, failure_detail);
    return nullptr;
  }
  const std::int64_t now = IdentityClockSeconds();

  if (const Identity* cached = CacheFind(token, length)) {
    if (!BridgeCheckTimes(cached, now, &error)) {
      strlcpy(failure_detail, error.detail, sizeof(failure_detail));
      if (log_result) {
        TokenFactsPlain facts;
        FactsOf(cached, &facts);
        LogOutcome(false, facts, failure_detail);
      }
      ObserveRejected(error.failure_class, failure_detail);
      return nullptr;
    }
    // Admitted under the current lifecycle generation: the revocation and role-binding
    // verdicts and the bound role are those stamped on the cached block (the lookups
    // behind them are remembered per backend and forgotten by the same invalidations
    // that bump the generation). Otherwise admit again, and stamp the block.
    Identity* identity = CopyIdentity(cached);
    if (identity != nullptr && !AdmissionStillHolds(cached)) {
      identity = Admitted(identity, log_result);
      if (identity != nullptr) CacheRememberAdmission(token, length, identity);
    }
    if (identity != nullptr) ObserveAccepted(true);
    if (identity != nullptr && log_result) {
      TokenFactsPlain facts;
      FactsOf(identity, &facts);
      LogOutcome(true, facts, nullptr);
    }
    return identity;
  }

  // Only the key the token names is loaded (an index lookup, the first time); a token
  // without "kid" (or with one too long to be looked up) needs every stored key.
  char kid[kKidLookupSize];
  const TokenKey named = BridgeTokenKid(
      token, length, static_cast<std::size_t>(setting_max_token_bytes), kid, sizeof(kid));
  if (named != TokenKey::kUnreadable &&
      !EnsureKeyFor(named == TokenKey::kKid ? kid : nullptr, &problem)) {
    strlcpy(failure_detail, problem, sizeof(failure_detail));
    return nullptr;
  }

  const VerifySettings settings{now, static_cast<std::size_t>(setting_max_token_bytes),
                                setting_leeway, setting_require_exp,
                                setting_audience ? setting_audience : ""};
  TokenFactsPlain facts;
  bool ok = BridgeVerify(CurrentTrustStore(), token, length, settings, &verified,
                         log_result ? &facts : nullptr, &error);
  if (!ok && error.unknown_key && named == TokenKey::kKid) {
    // A key the issuer may just have published: wait for the refresher's fetch
    // (rowguard.unknown_key_wait) and verify again (unknown_key_wait.cpp).
    char iss[kFactSize];
    strlcpy(iss, error.unknown_key_iss, sizeof(iss));
    if (AwaitUnknownKey(iss, kid)) {
      ok = BridgeVerify(CurrentTrustStore(), token, length, settings, &verified,
                        log_result ? &facts : nullptr, &error);
    }
  }
  if (!ok) {
    strlcpy(failure_detail, error.detail, sizeof(failure_detail));
    if (error.unknown_key) KeySyncNoteUnknownKey(error.unknown_key_iss);
    if (log_result) LogOutcome(false, facts, failure_detail);
    ObserveRejected(error.failure_class, failure_detail);
    return nullptr;
  }
  Identity* identity = BuildIdentity(verified);
  BridgeFreeVerified(&verified);
  if (identity == nullptr) {
    if (log_result) LogOutcome(false, facts, failure_detail);
    ObserveRejected(kOtherFailure, failure_detail);
    return nullptr;
  }
  CacheInsert(token, length, identity, setting_cache_size);
  identity = Admitted(identity, log_result);
  if (identity == nullptr) return nullptr;
  CacheRememberAdmission(token, length, identity);
  ObserveAccepted(false);
  if (log_result) LogOutcome(true, facts, nullptr);
  return identity;
}

void SetCurrentIdentity(Identity* identity) {
  current_identity = identity;
  ++identity_serial;
  CitusRouterIdentityChanged();  // cached plans routed by the previous identity (citus_router.cpp)
  ApplyRoleBinding(current_identity);
  ObservePublishIdentity(current_identity);
}

const Identity* RequireCurrentIdentity() {
  if (current_identity == nullptr) AdmitStartupToken();  // a token given at connection
  Identity* identity = current_identity;
  if (identity == nullptr) return nullptr;
  // Time rules are the core's (CheckTimes); their answer cannot change while the
  // identity and the identity clock stay the same, and accessors run once per row,
  // so the check runs once per (identity, second of the clock). A failure is never
  // remembered: every call raises it again.
  static std::uint64_t times_checked_serial = 0;
  static std::int64_t times_checked_at = 0;
  const std::int64_t now = IdentityClockSeconds();
  if (times_checked_serial != identity_serial || times_checked_at != now) {
    BridgeError error;
    if (!BridgeCheckTimes(identity, now, &error)) {
      ReportInvalidToken(error.detail, "Authenticate again with a fresh token.");
    }
    times_checked_serial = identity_serial;
    times_checked_at = now;
  }
  // Workers read no tables; their leader checks, also at executor start before they
  // run (statement_masking.cpp).
  if (IsParallelWorker()) return identity;

  // What another session can change is looked at once per statement, per transaction
  // (a procedure that COMMITs starts new ones inside one statement) and per identity,
  // not per call: accessors run per row in a filter. Reading the invalidation queue
  // here matters when the statement takes no new lock, which is when PostgreSQL would
  // otherwise read it.
  static TimestampTz checked_statement = 0;
  static TimestampTz checked_transaction = 0;
  static std::uint64_t checked_serial = 0;
  const TimestampTz statement = GetCurrentStatementStartTimestamp();
  const TimestampTz transaction = GetCurrentTransactionStartTimestamp();
  if (statement != checked_statement || transaction != checked_transaction ||
      identity_serial != checked_serial) {
    checked_statement = statement;
    checked_transaction = transaction;
    checked_serial = identity_serial;
    AcceptInvalidationMessages();
  }
  if (identity->key_generation != key_generation) {
    // The keys changed since this identity was verified: it stands only while the key
    // material that verified it is stored under its kid.
    const char* problem = nullptr;
    if (EnsureKeyFor(IdentityKid(identity), &problem) &&
        !BridgeStoreHasKeyMaterial(CurrentTrustStore(), IdentityKid(identity),
                                   identity->key_thumbprint)) {
      const bool replaced = BridgeStoreHasKey(CurrentTrustStore(), IdentityKid(identity));
      ReportInvalidToken(
          psprintf(replaced ? "key \"%s\" of the current identity has been replaced by other "
                              "key material"
                            : "key \"%s\" of the current identity has been removed",
                   IdentityKid(identity)),
          "Authenticate again with a token signed by a current key.");
    }
    identity->key_generation = key_generation;
  }
  if (!IsParallelWorker()) RecheckIdentity(identity);  // revocation, role binding
  return identity;
}

}  // namespace rowguard::pg
