// The one place where an identity in force is checked again after it was made (see
// include/rowguard/pg/identity_check.hpp and docs/security-model.md, "When an identity
// ends").
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "utils/inval.h"
#include "utils/timestamp.h"
}

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity_check.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/token_guc.hpp"

namespace rowguard::pg {
namespace {

constexpr int kMaxIdentityChecks = 8;
IdentityCheck identity_checks[kMaxIdentityChecks];
int identity_check_count = 0;

// What the last full check saw: the statement, the transaction and the identity.
TimestampTz checked_statement = 0;
TimestampTz checked_transaction = 0;
std::uint64_t checked_serial = 0;

std::int64_t UnixSeconds(TimestampTz timestamp) {
  // Floor division: PostgreSQL timestamps before 2000 are negative.
  std::int64_t seconds = timestamp / USECS_PER_SEC;
  if (timestamp % USECS_PER_SEC < 0) --seconds;
  return seconds + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

}  // namespace

std::int64_t IdentityClockSeconds() {
  TimestampTz now = 0;
  if (IsTransactionState()) {
    now = GetCurrentStatementStartTimestamp();
    const TimestampTz transaction = GetCurrentTransactionStartTimestamp();
    if (transaction > now) now = transaction;
  }
  if (now == 0) now = GetCurrentTimestamp();
  return UnixSeconds(now);
}

void AddIdentityCheck(IdentityCheck check) {
  if (identity_check_count == kMaxIdentityChecks) elog(ERROR, "too many rowguard identity checks");
  identity_checks[identity_check_count++] = check;
}

const Identity* CheckIdentityInForce() {
  Identity* identity = current_identity;
  if (identity == nullptr) return nullptr;
  const std::int64_t now = IdentityClockSeconds();
  if ((identity->flags & kIdentityHasExp) != 0) {
    std::int64_t deadline;
    if (!__builtin_add_overflow(identity->exp, identity->leeway, &deadline) && now >= deadline) {
      BridgeError error;
      BridgeCheckTimes(identity, now, &error);
      ereport(ERROR,
              (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("invalid token"),
               errdetail("%s", error.detail), errhint("Authenticate again with a fresh token.")));
    }
  }
  // Workers read no tables; their leader checks (also at executor start, before they
  // run).
  if (IsParallelWorker()) return identity;

  // What another session can change is looked at once per statement, per transaction
  // (a procedure that COMMITs starts new ones inside one statement) and per identity,
  // not per call: accessors run per row in a filter. Reading the invalidation queue
  // here matters when the statement takes no new lock, which is when PostgreSQL would
  // otherwise read it.
  const TimestampTz statement = GetCurrentStatementStartTimestamp();
  const TimestampTz transaction = GetCurrentTransactionStartTimestamp();
  if (statement != checked_statement || transaction != checked_transaction ||
      identity_serial != checked_serial) {
    checked_statement = statement;
    checked_transaction = transaction;
    checked_serial = identity_serial;
    AcceptInvalidationMessages();
    for (int i = 0; i < identity_check_count; ++i) identity_checks[i](identity);
  }
  if (identity->key_generation != key_generation) {
    // The keys changed since this identity was verified: it stands only while the key
    // material that verified it is stored under its kid.
    const char* problem = nullptr;
    if (EnsureKeyStore(&problem) &&
        !BridgeStoreHasKeyMaterial(IdentityKid(identity), identity->key_thumbprint)) {
      const bool replaced = BridgeStoreHasKey(IdentityKid(identity));
      ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("invalid token"),
                      errdetail(replaced ? "key \"%s\" of the current identity has been replaced "
                                           "by other key material"
                                         : "key \"%s\" of the current identity has been removed",
                                IdentityKid(identity)),
                      errhint("Authenticate again with a token signed by a current key.")));
    }
    identity->key_generation = key_generation;
  }
  return identity;
}

}  // namespace rowguard::pg
