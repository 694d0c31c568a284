// The shared sessions array behind the view rowguard.sessions (preload only), and the
// scope (transaction or session) of the rowguard.token value in force.
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc_tables.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <cstring>

#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/observe_shared.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {
namespace {

// This backend's slot, or nullptr (not preloaded, or not a regular backend).
SessionSlot* OwnSlot() {
  if (session_slots == nullptr) return nullptr;
  const int index = CompatBackendIndex();
  if (index < 0 || index >= session_slot_count) return nullptr;
  return &session_slots[index];
}

void BeginWrite(SessionSlot* slot) {
  pg_atomic_fetch_add_u32(&slot->changes, 1);
  pg_write_barrier();
}
void EndWrite(SessionSlot* slot) {
  pg_write_barrier();
  pg_atomic_fetch_add_u32(&slot->changes, 1);
}

void ClearOwnSlot(int, Datum) {
  SessionSlot* slot = OwnSlot();
  if (slot == nullptr || slot->pid == 0) return;
  BeginWrite(slot);
  slot->pid = 0;
  EndWrite(slot);
}

// The raw facts (sub, iss, kid, jti; NUL-separated) last escaped into this backend's
// slot. Clearing the slot only zeroes its pid, so publishing an identity with the same
// facts again - the same token in the next transaction, a pooler's pattern - only has
// to set the pid, without escaping four strings (about 1 us per transaction). Facts
// longer than the buffer are not remembered (always escaped).
char published_facts[1024];
std::size_t published_facts_length = 0;  // 0: nothing remembered

// Appends the identity's four facts to `out` (NUL-separated); false when they do not fit.
bool CollectFacts(const Identity* identity, char* out, std::size_t size, std::size_t* length) {
  const char* parts[] = {IdentitySub(identity), IdentityIss(identity), IdentityKid(identity),
                         IdentityJti(identity)};
  const std::size_t lengths[] = {identity->sub_length, strlen(parts[1]), strlen(parts[2]),
                                 strlen(parts[3])};
  std::size_t cursor = 0;
  for (int i = 0; i < 4; ++i) {
    if (cursor + lengths[i] + 1 > size) return false;
    memcpy(out + cursor, parts[i], lengths[i]);
    out[cursor + lengths[i]] = '\0';
    cursor += lengths[i] + 1;
  }
  *length = cursor;
  return true;
}

struct config_generic* TokenVariable() {
  static struct config_generic* variable = nullptr;
  if (variable == nullptr) variable = CompatGucVariable("rowguard.token");
  return variable;
}

}  // namespace

// The GUC stack entry on top says how the value in force was set. While PostgreSQL
// restores a value at the end of a (sub)transaction, the entry being popped is still on
// top, so the one below it describes the value being restored.
bool TokenIsTransactionScoped() {
  struct config_generic* variable = TokenVariable();
  if (variable == nullptr) return false;
  GucStack* entry = variable->stack;
  if (!IsTransactionState() && entry != nullptr) entry = entry->prev;
  return entry != nullptr && entry->state != GUC_SET;
}

void ObservePublishIdentity(const Identity* identity) {
  if (IsParallelWorker() || InitializingParallelWorker) return;
  SessionSlot* slot = OwnSlot();
  if (slot == nullptr || (identity == nullptr && slot->pid == 0)) return;
  static bool exit_callback = false;
  if (!exit_callback) {
    before_shmem_exit(ClearOwnSlot, 0);
    exit_callback = true;
  }
  char facts[sizeof(published_facts)];
  std::size_t facts_length = 0;
  const bool remembered =
      identity != nullptr && CollectFacts(identity, facts, sizeof(facts), &facts_length);
  const bool same_facts = remembered && facts_length == published_facts_length &&
                          memcmp(facts, published_facts, facts_length) == 0;
  BeginWrite(slot);
  if (identity == nullptr) {
    slot->pid = 0;
  } else {
    slot->pid = MyProcPid;
    slot->transaction = TokenIsTransactionScoped();
    slot->has_exp = (identity->flags & kIdentityHasExp) != 0;
    slot->exp = identity->exp;
    if (!same_facts) {
      BridgeEscape(slot->sub, sizeof(slot->sub), IdentitySub(identity), identity->sub_length);
      BridgeEscape(slot->iss, sizeof(slot->iss), IdentityIss(identity), strlen(IdentityIss(identity)));
      BridgeEscape(slot->kid, sizeof(slot->kid), IdentityKid(identity), strlen(IdentityKid(identity)));
      BridgeEscape(slot->jti, sizeof(slot->jti), IdentityJti(identity), strlen(IdentityJti(identity)));
    }
  }
  EndWrite(slot);
  if (identity != nullptr && !same_facts) {
    published_facts_length = remembered ? facts_length : 0;
    if (remembered) memcpy(published_facts, facts, facts_length);
  }
}

}  // namespace rowguard::pg

using namespace rowguard::pg;

namespace {

// A consistent copy of `slot` (see SessionSlot).
void ReadSlot(const SessionSlot* slot, SessionSlot* copy) {
  for (;;) {
    const uint32 before = pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&slot->changes));
    pg_read_barrier();
    memcpy(static_cast<void*>(copy), slot, sizeof(SessionSlot));
    pg_read_barrier();
    const uint32 after = pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&slot->changes));
    if (before == after && (before & 1) == 0) return;
    CHECK_FOR_INTERRUPTS();
  }
}

// exp as timestamptz; beyond PostgreSQL's range (a token may say anything) +-infinity.
TimestampTz UnixSecondsToTimestamptz(int64 seconds) {
  constexpr int64 kLimit = 9000000000000LL;  // about year 287,000: inside the range
  if (seconds > kLimit) return DT_NOEND;
  if (seconds < -kLimit) return DT_NOBEGIN;
  return time_t_to_timestamptz(static_cast<pg_time_t>(seconds));
}

Datum TextOrNull(const char* s, bool* is_null) {
  *is_null = s[0] == '\0';
  return *is_null ? static_cast<Datum>(0) : CStringGetTextDatum(s);
}

}  // namespace

// The rows of rowguard.sessions: every backend with an identity in force.
ROWGUARD_SQL_FUNCTION(rowguard_sessions) {
  if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS)) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied for rowguard.sessions"),
                    errdetail("Only superusers and members of pg_read_all_stats may see the "
                              "identities of other sessions."),
                    errhint("Use rowguard.session_status() for this session's identity.")));
  }
  if (session_slots == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("rowguard.sessions needs rowguard in shared_preload_libraries"),
                    errdetail("The sessions of other backends are kept in shared memory, which "
                              "only a preloaded library can have."),
                    errhint("Add rowguard to shared_preload_libraries and restart the server.")));
  }
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0; i < session_slot_count; ++i) {
    SessionSlot copy;
    ReadSlot(&session_slots[i], &copy);
    if (copy.pid == 0) continue;
    copy.sub[sizeof(copy.sub) - 1] = copy.iss[sizeof(copy.iss) - 1] = '\0';
    copy.kid[sizeof(copy.kid) - 1] = copy.jti[sizeof(copy.jti) - 1] = '\0';
    Datum values[7];
    bool nulls[7] = {false};
    values[0] = Int32GetDatum(copy.pid);
    values[1] = TextOrNull(copy.sub, &nulls[1]);
    values[2] = TextOrNull(copy.iss, &nulls[2]);
    values[3] = TextOrNull(copy.kid, &nulls[3]);
    values[4] = TextOrNull(copy.jti, &nulls[4]);
    nulls[5] = !copy.has_exp;
    values[5] = copy.has_exp ? TimestampTzGetDatum(UnixSecondsToTimestamptz(copy.exp))
                             : static_cast<Datum>(0);
    values[6] = CStringGetTextDatum(copy.transaction ? "transaction" : "session");
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}
