// OAuth sign-in, the rowguard.so side (docs/oauth.md; the validator module that
// PostgreSQL 18+ loads is src/oauth/rowguard_oauth.cpp, which calls ValidateSignIn through
// the rendezvous variable of include/rowguard/pg/oauth_handoff.hpp).
//
// 1. ValidateSignIn runs inside PostgreSQL's authentication, before the database is open:
//    only shared memory can be read. It takes the database's issuer rows and the token's
//    key from the shared key snapshot, by database name (shared_key_snapshot.cpp), and
//    runs core::CheckOAuthLogin through the bridge. With no current snapshot it starts a
//    short-lived background worker that opens the database and publishes one, at most one
//    start per second in the whole cluster, and waits rowguard.oauth_snapshot_wait. It
//    never fetches. A refusal is logged with the reason (never the token), counted in
//    rowguard.stats() and delayed by rowguard.failure_delay (ObserveRejected).
// 2. An accepted token becomes the value of rowguard.token with the source of a startup
//    option (PGC_S_CLIENT), which the check hook defers (DeferStartupToken) while the
//    backend initializes. At the pre-commit of the backend's start-up transaction, once the
//    database is open and before the client hears that the connection is ready,
//    AdmitSignIn checks the login role (delegate_ident_mapping=1) and admits the token
//    with the database's own tables (AdmitStartupToken: revocation, keys, issuer rules):
//    an error there ends the connection (FATAL).
// 3. For the rest of the session the identity cannot change (OAuthRefusesTokenChange,
//    called first by rowguard.token's check hook), and its token errors carry a hint to
//    reconnect (OAuthSignedIn, token_error.cpp).
extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

PGDLLEXPORT void rowguard_oauth_snapshot_worker(Datum arg);
}

#include <cstring>
#include <ctime>

#include "rowguard/core/failure_class.hpp"
#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/oauth_handoff.hpp"
#include "rowguard/pg/oauth_login.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/shared_key_snapshot.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {
namespace {

constexpr int kLoginIssuerColumn = 1;
constexpr int kLoginRoleColumn = 2;
constexpr int kLoginColumns = 3;
constexpr long kPollMs = 20;
constexpr std::uint64_t kWorkerStartIntervalUs = 1000000;  // one start a second, cluster-wide

struct OAuthShared {
  pg_atomic_uint64 last_worker_start;  // GetCurrentTimestamp() of the last start, 0: none
};

OAuthShared* oauth_shared = nullptr;
shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

// The signed-in session (TopMemoryContext), or nullptr: not an OAuth session.
char* signed_in_token = nullptr;
char* signed_in_issuer = nullptr;
bool signed_in_delegated = false;
bool admission_pending = false;

void RequestShmem() {
  if (previous_shmem_request_hook != nullptr) previous_shmem_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(OAuthShared)));
}

void StartupShmem() {
  if (previous_shmem_startup_hook != nullptr) previous_shmem_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  auto* area = static_cast<OAuthShared*>(ShmemInitStruct("rowguard oauth", sizeof(OAuthShared), &found));
  if (!found) pg_atomic_init_u64(&area->last_worker_start, 0);
  LWLockRelease(AddinShmemInitLock);
  oauth_shared = area;
}

// Starts the snapshot worker for `dbname` unless one was started less than a second ago
// anywhere in the cluster (an anonymous client must not make the server do more).
void RequestSnapshot(const char* dbname) {
  if (oauth_shared == nullptr) return;
  const std::uint64_t now = static_cast<std::uint64_t>(GetCurrentTimestamp());
  std::uint64_t last = pg_atomic_read_u64(&oauth_shared->last_worker_start);
  if (last != 0 && now < last + kWorkerStartIntervalUs) return;
  if (!pg_atomic_compare_exchange_u64(&oauth_shared->last_worker_start, &last, now)) return;
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(worker.bgw_library_name, "rowguard", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "rowguard_oauth_snapshot_worker", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "rowguard key snapshot for sign-in", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "rowguard key snapshot", BGW_MAXLEN);
  strlcpy(worker.bgw_extra, dbname, BGW_EXTRALEN);
  worker.bgw_notify_pid = 0;
  if (!RegisterDynamicBackgroundWorker(&worker, nullptr)) {
    ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "could not start a worker to build the key snapshot "
                                             "of database \"%s\"",
                         dbname),
                  errhint("Raise max_worker_processes.")));
  }
}

void Refuse(const OAuthSignIn* in, OAuthVerdict* verdict, int failure_class, const char* reason) {
  ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "OAuth sign-in refused for user \"%s\" to database "
                                           "\"%s\": %s",
                       in->role, in->database, reason),
                errhidestmt(true)));
  verdict->authorized = false;
  verdict->reason = pstrdup(reason);
  ObserveRejected(failure_class, reason);  // counts, and waits rowguard.failure_delay
}

constexpr int kMalformed = static_cast<int>(core::FailureClass::kMalformed);
constexpr int kOther = static_cast<int>(core::FailureClass::kOther);

void ValidateSignIn(const OAuthSignIn* in, OAuthVerdict* verdict) {
  verdict->authorized = false;
  verdict->authn_id = nullptr;
  verdict->reason = nullptr;
  const std::size_t length = strlen(in->token);
  if (setting_max_token_bytes > 0 && length > static_cast<std::size_t>(setting_max_token_bytes)) {
    char reason[kDetailSize];
    snprintf(reason, sizeof(reason),
             "the token is larger than rowguard.max_token_bytes (%zu > %d bytes)", length,
             setting_max_token_bytes);
    return Refuse(in, verdict, kMalformed, reason);
  }
  // A physical replication connection opens no database, so the admission with the
  // database's tables (AdmitSignIn) would never run.
  if (am_walsender) {
    return Refuse(in, verdict, kOther, "OAuth sign-in is not accepted for replication connections");
  }
  if (in->hba_issuer == nullptr || in->hba_issuer[0] == '\0') {
    return Refuse(in, verdict, kOther, "the pg_hba line has no issuer");
  }
  char kid[kFactSize];
  const TokenKey key = BridgeTokenKid(in->token, length, static_cast<std::size_t>(setting_max_token_bytes),
                                      kid, sizeof(kid));
  if (key == TokenKey::kUnreadable || key == TokenKey::kKidTooLong) {
    return Refuse(in, verdict, kMalformed,
                  key == TokenKey::kUnreadable ? "the token is not a well-formed compact JWS"
                                               : "the token's kid is too long");
  }
  IssuerRow* issuers = nullptr;
  KeyRow* keys = nullptr;
  int issuer_count = 0, key_count = 0;
  const char* kid_or_all = key == TokenKey::kKid ? kid : nullptr;
  LoginSnapshot found =
      SnapshotRowsForLogin(in->database, kid_or_all, &issuers, &issuer_count, &keys, &key_count);
  // Missing: start the worker even when this sign-in will not wait, so a later one finds
  // the snapshot.
  if (found == LoginSnapshot::kMissing) RequestSnapshot(in->database);
  if (found == LoginSnapshot::kMissing && setting_oauth_snapshot_wait > 0) {
    const TimestampTz deadline =
        TimestampTzPlusMilliseconds(GetCurrentTimestamp(), setting_oauth_snapshot_wait);
    while (found == LoginSnapshot::kMissing) {
      const long remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
      if (remaining <= 0) break;
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                      remaining < kPollMs ? remaining : kPollMs, PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
      found = SnapshotRowsForLogin(in->database, kid_or_all, &issuers, &issuer_count, &keys,
                                   &key_count);
      if (found == LoginSnapshot::kMissing) RequestSnapshot(in->database);
    }
  }
  if (found == LoginSnapshot::kNoStore) {
    return Refuse(in, verdict, kOther,
                  "the shared key store is off (rowguard.shared_key_store_size = 0)");
  }
  if (found == LoginSnapshot::kMissing) {
    char reason[kDetailSize];
    snprintf(reason, sizeof(reason),
             "database \"%s\" has no key snapshot (rowguard is not installed there, or the "
             "snapshot could not be built within rowguard.oauth_snapshot_wait)",
             in->database);
    return Refuse(in, verdict, kOther, reason);
  }

  OAuthLoginPlain request;
  request.token = in->token;
  request.hba_issuer = in->hba_issuer;
  request.hba_scope = in->hba_scope != nullptr ? in->hba_scope : "";
  request.role = in->role;
  request.delegate_ident_mapping = in->delegate_ident_mapping;
  request.authn_claim = in->authn_claim != nullptr ? in->authn_claim : setting_oauth_authn_claim;
  request.role_claim = in->role_claim != nullptr ? in->role_claim : setting_oauth_role_claim;
  request.now = static_cast<std::int64_t>(std::time(nullptr));
  request.max_token_bytes = static_cast<std::size_t>(setting_max_token_bytes);
  request.leeway_seconds = setting_leeway;
  request.audience_list = setting_audience != nullptr ? setting_audience : "";
  OAuthVerdictPlain answer;
  BridgeOAuthLogin(keys, key_count, issuers, issuer_count, request, &answer);
  if (answer.authn_id != nullptr) {
    verdict->authn_id = pstrdup(answer.authn_id);
    free(answer.authn_id);
  }
  if (!answer.authorized) return Refuse(in, verdict, answer.failure_class, answer.reason);

  // Accepted: the token is this session's identity once the database is open.
  MemoryContext old_context = MemoryContextSwitchTo(TopMemoryContext);
  signed_in_token = pstrdup(in->token);
  signed_in_issuer = pstrdup(in->hba_issuer);
  MemoryContextSwitchTo(old_context);
  signed_in_delegated = in->delegate_ident_mapping;
  admission_pending = true;
  SetConfigOption("rowguard.token", signed_in_token, PGC_BACKEND, PGC_S_CLIENT);
  verdict->authorized = true;
}

const OAuthEntry kEntry = {kOAuthEntryMagic, ValidateSignIn};

// Is `role` allowed to sign in with tokens of `issuer` (rowguard.oauth_logins)?
bool LoginAllowed(Oid role, const char* issuer) {
  const Oid schema = get_namespace_oid("rowguard", true);
  const Oid table = OidIsValid(schema) ? get_relname_relid("oauth_logins", schema) : InvalidOid;
  if (!OidIsValid(table)) return false;
  Relation rel = table_open(table, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts != kLoginColumns) elog(ERROR, "rowguard.oauth_logins has an unexpected shape");
  bool allowed = false;
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tuple;
  while (!allowed && (tuple = systable_getnext(scan)) != nullptr) {
    bool role_null, issuer_null;
    const Datum row_role = heap_getattr(tuple, kLoginRoleColumn, desc, &role_null);
    const Datum row_issuer = heap_getattr(tuple, kLoginIssuerColumn, desc, &issuer_null);
    if (role_null || issuer_null || DatumGetObjectId(row_role) != role) continue;
    char* row_text = TextDatumGetCString(row_issuer);
    allowed = strcmp(row_text, issuer) == 0;
    pfree(row_text);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return allowed;
}

// The database is open (pre-commit of the start-up transaction): the login role, then the
// token against the database's tables. Every error here ends the connection.
void AdmitSignIn() {
  const Oid role = GetSessionUserId();
  const char* role_name = GetUserNameFromId(role, false);
  if (signed_in_delegated) {
    if (!LoginAllowed(role, signed_in_issuer)) {
      ereport(FATAL,
              (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
               errmsg("role \"%s\" may not sign in with tokens of issuer \"%s\"", role_name,
                      signed_in_issuer),
               errhint("An administrator allows it with rowguard.allow_oauth_login.")));
    }
    if (const char* hazard = OAuthLoginHazard(role)) {
      ereport(FATAL, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
                      errmsg("role \"%s\" cannot sign in with OAuth tokens", role_name),
                      errdetail("The role %s, so it would escape the policies.", hazard)));
    }
  }
  AdmitStartupToken();  // role_binding.cpp: verification with the tables, FATAL on failure
  if (current_identity == nullptr) {
    ereport(FATAL, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
                    errmsg("the OAuth token of this sign-in could not be admitted")));
  }
}

void OnXactEvent(XactEvent event, void*) {
  if (event != XACT_EVENT_PRE_COMMIT || !admission_pending || !OidIsValid(MyDatabaseId)) return;
  admission_pending = false;
  AdmitSignIn();
}

}  // namespace

void OAuthInit() {
  if (!process_shared_preload_libraries_in_progress) return;
  ChainHook(shmem_request_hook, previous_shmem_request_hook, RequestShmem);
  ChainHook(shmem_startup_hook, previous_shmem_startup_hook, StartupShmem);
  RegisterXactCallback(OnXactEvent, nullptr);
  *find_rendezvous_variable(kOAuthRendezvous) = const_cast<OAuthEntry*>(&kEntry);
}

bool OAuthSignedIn() { return signed_in_token != nullptr; }

bool OAuthRefusesTokenChange(const char* newval) {
  if (signed_in_token == nullptr) return false;
  if (newval != nullptr && strcmp(newval, signed_in_token) == 0) return false;
  GUC_check_errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION);
  GUC_check_errmsg("the identity of a session that signed in with OAuth cannot be changed");
  GUC_check_errdetail("The login was authorized for the identity of its token.");
  GUC_check_errhint("Reconnect to sign in with another token.");
  return true;
}

}  // namespace rowguard::pg

// The snapshot worker: opens the database named in bgw_extra, publishes its key snapshot
// if there is no current one, and exits.
void rowguard_oauth_snapshot_worker(Datum) {
  char dbname[NAMEDATALEN];
  BackgroundWorkerUnblockSignals();
  strlcpy(dbname, MyBgworkerEntry->bgw_extra, sizeof(dbname));
  BackgroundWorkerInitializeConnection(dbname, nullptr, 0);
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  const bool current = rowguard::pg::SharedKeySnapshotBuildHere();
  PopActiveSnapshot();
  CommitTransactionCommand();
  ereport(DEBUG1, (errmsg_internal(ROWGUARD_LOG_PREFIX "key snapshot of database \"%s\" for "
                                                       "sign-in: %s",
                                   dbname, current ? "current" : "not published")));
  proc_exit(0);
}
