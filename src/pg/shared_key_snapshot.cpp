// The shared key snapshot (include/rowguard/pg/shared_key_snapshot.hpp; docs/design.md,
// "The shared key snapshot").
//
// Shared memory holds a lock (a named tranche), kSnapshotSlots slots (one per database
// that has a snapshot) and a data area of rowguard.shared_key_store_size kB. Each slot
// has a generation: a value from one shared counter, taken when the slot is given to a
// database and again whenever a transaction that changed its configuration tables
// commits (the transaction callback, XACT_EVENT_COMMIT: after the commit is visible to
// new snapshots, before the invalidations are sent and before the client hears of the
// commit). A snapshot is current when it was published for the slot's generation.
//
// A builder takes the generation g (and marks the slot as being built), then reads the
// tables with a catalog snapshot taken after that, and publishes only if the generation
// is still g. So a snapshot published for g holds every change committed before g was
// taken, and a change committed while it was built moves the generation and keeps it
// from being published (or makes it stale right after). Readers hold the lock in shared
// mode while they copy the rows they need out; builders and changes take it exclusively
// for a few assignments (and a memcpy of the snapshot when publishing).
//
// Plain C-style code: functions that can ereport hold only plain data.
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

#include <cstdint>
#include <cstring>

#include "rowguard/pg/hooks.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/shared_key_snapshot.hpp"
#include "rowguard/pg/shared_revocation_answers.hpp"
#include "rowguard/pg/token_error.hpp"

namespace rowguard::pg {
namespace {

constexpr int kSnapshotSlots = 64;
constexpr const char* kTrancheName = "rowguard key snapshot";
constexpr std::uint32_t kNullString = 0xFFFFFFFFu;

struct SnapshotSlot {
  Oid dboid;                           // InvalidOid: free
  std::uint64_t generation;            // see the file comment
  std::uint64_t published_generation;  // 0: nothing published
  std::uint64_t too_large_generation;  // a build for this generation did not fit
  bool building;                       // builder_pid is building one
  int builder_pid;
  bool disabled;               // a prepared transaction changed the tables
  std::uint64_t built_serial;  // publication order, for eviction
  Size offset, length;         // the published bytes in the data area
  Oid keys_relid, issuers_relid, bindings_relid;
  NameData dbname;  // the database's name when published (OAuth sign-in looks it up by name)
};

struct SnapshotShared {
  LWLock* lock;
  std::uint64_t next_generation;
  std::uint64_t next_serial;
  bool all_disabled;  // a prepared transaction changed the tables and no slot was free
  Size capacity, used;
  SnapshotSlot slots[kSnapshotSlots];
};

// The serialized rows of one database. All offsets are from the start of the snapshot;
// every item starts 4-aligned and is read with memcpy.
struct SnapshotHeader {
  std::uint32_t size;
  Oid keys_relid, issuers_relid, bindings_relid;
  std::uint32_t key_count, issuer_count, binding_count;
  std::uint32_t key_index;  // key_count uint32 offsets of key records, sorted by kid
  std::uint32_t issuers;    // the issuer records, one after the other
  std::uint32_t bindings;   // the binding records
};

SnapshotShared* shared = nullptr;
char* shared_data = nullptr;
shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

// This transaction changed a configuration table (the trigger): the snapshot is not
// used in it, and the change is published at commit.
bool pending_change = false;
// The slot this backend is building, or -1 (cleared at abort).
int building_slot = -1;

Size DataSize() { return static_cast<Size>(setting_shared_key_store_size) * 1024; }

void RequestShmem() {
  if (previous_shmem_request_hook != nullptr) previous_shmem_request_hook();
  if (setting_shared_key_store_size <= 0) return;
  RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(SnapshotShared)), DataSize()));
  RequestNamedLWLockTranche(kTrancheName, 1);
}

void StartupShmem() {
  if (previous_shmem_startup_hook != nullptr) previous_shmem_startup_hook();
  if (setting_shared_key_store_size <= 0) return;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  auto* area = static_cast<SnapshotShared*>(ShmemInitStruct(
      "rowguard key snapshot", add_size(MAXALIGN(sizeof(SnapshotShared)), DataSize()), &found));
  if (!found) {
    memset(area, 0, sizeof(SnapshotShared));
    area->lock = &(GetNamedLWLockTranche(kTrancheName))->lock;
    area->next_generation = 1;
    area->capacity = DataSize();
  }
  LWLockRelease(AddinShmemInitLock);
  shared = area;
  shared_data = reinterpret_cast<char*>(area) + MAXALIGN(sizeof(SnapshotShared));
}

bool Usable() {
  return shared != nullptr && !pending_change && OidIsValid(MyDatabaseId) &&
         !InitializingParallelWorker && !IsParallelWorker() && IsTransactionState() &&
         !RecoveryInProgress();
}

// ---- slots (the lock held) ----

SnapshotSlot* FindSlot(Oid dboid) {
  for (auto& slot : shared->slots) {
    if (slot.dboid == dboid) return &slot;
  }
  return nullptr;
}

void FreeRegion(SnapshotSlot* slot) {
  slot->published_generation = 0;
  slot->length = 0;
  slot->offset = 0;
}

bool Evictable(const SnapshotSlot& slot) { return !slot.building && !slot.disabled; }

// The published slot other than `keep` built longest ago that may be evicted.
SnapshotSlot* OldestOther(const SnapshotSlot* keep, bool only_with_data) {
  SnapshotSlot* oldest = nullptr;
  for (auto& slot : shared->slots) {
    if (&slot == keep || !OidIsValid(slot.dboid) || !Evictable(slot)) continue;
    if (only_with_data && slot.length == 0) continue;
    if (oldest == nullptr || slot.built_serial < oldest->built_serial) oldest = &slot;
  }
  return oldest;
}

void Evict(SnapshotSlot* slot) {
  FreeRegion(slot);
  memset(slot, 0, sizeof(SnapshotSlot));
}

SnapshotSlot* AssignSlot(Oid dboid) {
  SnapshotSlot* slot = nullptr;
  for (auto& candidate : shared->slots) {
    if (!OidIsValid(candidate.dboid)) {
      slot = &candidate;
      break;
    }
  }
  if (slot == nullptr) slot = OldestOther(nullptr, false);
  if (slot == nullptr) return nullptr;
  Evict(slot);
  slot->dboid = dboid;
  // A fresh value: a build that started on this slot for another assignment (or before
  // an eviction) can never publish into it.
  slot->generation = ++shared->next_generation;
  return slot;
}

// Moves every published snapshot to the front of the data area.
void Compact() {
  Size cursor = 0;
  for (;;) {
    // The lowest region at or after the cursor not yet moved: few slots, so a scan.
    SnapshotSlot* next = nullptr;
    for (auto& slot : shared->slots) {
      if (slot.length == 0 || slot.offset < cursor) continue;
      if (next == nullptr || slot.offset < next->offset) next = &slot;
    }
    if (next == nullptr) break;
    if (next->offset != cursor)
      memmove(shared_data + cursor, shared_data + next->offset, next->length);
    next->offset = cursor;
    cursor += next->length;
  }
  shared->used = cursor;
}

// Copies `blob` into the data area for `slot`, evicting the snapshots of other
// databases built longest ago when it does not fit otherwise. false: larger than the
// area.
bool Place(SnapshotSlot* slot, const char* blob, Size size) {
  const Size need = MAXALIGN(size);
  FreeRegion(slot);
  if (need > shared->capacity) return false;
  if (shared->used + need > shared->capacity) Compact();
  while (shared->used + need > shared->capacity) {
    SnapshotSlot* victim = OldestOther(slot, true);
    if (victim == nullptr) return false;
    FreeRegion(victim);
    Compact();
  }
  memcpy(shared_data + shared->used, blob, size);
  slot->offset = shared->used;
  slot->length = need;
  shared->used += need;
  return true;
}

// ---- serialization ----

// Writes into `base` (nullptr: only counts) at *cursor.
struct Writer {
  char* base;
  Size cursor;

  void Bytes(const void* data, Size length) {
    if (base != nullptr) memcpy(base + cursor, data, length);
    cursor += length;
  }
  void U32(std::uint32_t value) { Bytes(&value, sizeof(value)); }
  void I64(std::int64_t value) { Bytes(&value, sizeof(value)); }
  void Align() {
    while (cursor % 4 != 0) {
      if (base != nullptr) base[cursor] = '\0';
      ++cursor;
    }
  }
  void String(const char* text) {
    if (text == nullptr) {
      U32(kNullString);
      return;
    }
    const Size length = strlen(text);
    U32(static_cast<std::uint32_t>(length));
    Bytes(text, length + 1);
    Align();
  }
};

std::uint32_t ReadU32(const char* base, Size* cursor) {
  std::uint32_t value;
  memcpy(&value, base + *cursor, sizeof(value));
  *cursor += sizeof(value);
  return value;
}

std::int64_t ReadI64(const char* base, Size* cursor) {
  std::int64_t value;
  memcpy(&value, base + *cursor, sizeof(value));
  *cursor += sizeof(value);
  return value;
}

// The string at *cursor (nullptr for a null one) and its length, in place.
const char* ReadString(const char* base, Size* cursor, std::uint32_t* length) {
  *length = ReadU32(base, cursor);
  if (*length == kNullString) return nullptr;
  const char* text = base + *cursor;
  *cursor += *length + 1;
  *cursor = (*cursor + 3) & ~static_cast<Size>(3);
  return text;
}

char* CopyString(const char* base, Size* cursor) {
  std::uint32_t length;
  const char* text = ReadString(base, cursor, &length);
  return text == nullptr ? nullptr : pnstrdup(text, length);
}

const KeyRow* sort_rows = nullptr;

int CompareKid(const char* a, Size a_length, const char* b, Size b_length) {
  const int order = memcmp(a, b, Min(a_length, b_length));
  if (order != 0) return order;
  return a_length < b_length ? -1 : (a_length > b_length ? 1 : 0);
}

int CompareRowIndex(const void* left, const void* right) {
  const KeyRow& a = sort_rows[*static_cast<const int*>(left)];
  const KeyRow& b = sort_rows[*static_cast<const int*>(right)];
  return CompareKid(a.kid, strlen(a.kid), b.kid, strlen(b.kid));
}

// The snapshot of these rows, palloc'ed; *size its length.
char* Serialize(const SnapshotHeader& shape, const KeyRow* keys, const IssuerRow* issuers,
                const BindingRow* bindings, Size* size) {
  int* order = static_cast<int*>(palloc(sizeof(int) * (shape.key_count + 1)));
  for (std::uint32_t i = 0; i < shape.key_count; ++i) order[i] = static_cast<int>(i);
  sort_rows = keys;
  if (shape.key_count > 1) qsort(order, shape.key_count, sizeof(int), CompareRowIndex);
  sort_rows = nullptr;
  std::uint32_t* key_offsets =
      static_cast<std::uint32_t*>(palloc(sizeof(std::uint32_t) * (shape.key_count + 1)));

  char* blob = nullptr;
  for (int pass = 0; pass < 2; ++pass) {
    SnapshotHeader header = shape;
    Writer out{blob, sizeof(SnapshotHeader)};
    for (std::uint32_t i = 0; i < shape.key_count; ++i) {
      const KeyRow& row = keys[order[i]];
      key_offsets[i] = static_cast<std::uint32_t>(out.cursor);
      out.String(row.kid);
      out.String(row.alg);
      out.String(row.issuer);
      out.String(row.jwk);
    }
    header.key_index = static_cast<std::uint32_t>(out.cursor);
    out.Bytes(key_offsets, sizeof(std::uint32_t) * shape.key_count);
    header.issuers = static_cast<std::uint32_t>(out.cursor);
    for (std::uint32_t i = 0; i < shape.issuer_count; ++i) {
      const IssuerRow& row = issuers[i];
      out.String(row.iss);
      out.U32(row.audiences == nullptr ? kNullString
                                       : static_cast<std::uint32_t>(row.audience_count));
      for (int a = 0; row.audiences != nullptr && a < row.audience_count; ++a)
        out.String(row.audiences[a]);
      out.U32((row.has_leeway ? 1u : 0u) | (row.has_max_lifetime ? 2u : 0u));
      out.I64(row.leeway_seconds);
      out.I64(row.max_lifetime_seconds);
    }
    header.bindings = static_cast<std::uint32_t>(out.cursor);
    for (std::uint32_t i = 0; i < shape.binding_count; ++i) {
      out.U32(bindings[i].role);
      out.String(bindings[i].issuer);
    }
    if (pass == 0) {
      if (out.cursor > static_cast<Size>(PG_UINT32_MAX)) {
        *size = out.cursor;
        return nullptr;  // larger than any area
      }
      blob = static_cast<char*>(palloc(out.cursor));
    } else {
      header.size = static_cast<std::uint32_t>(out.cursor);
      memcpy(blob, &header, sizeof(header));
      *size = out.cursor;
    }
  }
  return blob;
}

SnapshotHeader HeaderOf(const char* snapshot) {
  SnapshotHeader header;
  memcpy(&header, snapshot, sizeof(header));
  return header;
}

void CopyKey(const char* snapshot, Size cursor, KeyRow* row) {
  row->kid = CopyString(snapshot, &cursor);
  row->alg = CopyString(snapshot, &cursor);
  row->issuer = CopyString(snapshot, &cursor);
  row->jwk = CopyString(snapshot, &cursor);
}

// ---- building ----

void EndBuild() {
  if (building_slot < 0) return;
  SnapshotSlot* slot = &shared->slots[building_slot];
  if (slot->building && slot->builder_pid == MyProcPid) slot->building = false;
  building_slot = -1;
}

// Reads the tables and publishes a snapshot of this database. false: none was
// published (another backend builds, the tables changed meanwhile, it does not fit).
bool Build() {
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  SnapshotSlot* slot = FindSlot(MyDatabaseId);
  if (slot == nullptr) slot = AssignSlot(MyDatabaseId);
  if (slot == nullptr || slot->disabled || shared->all_disabled || slot->building ||
      slot->too_large_generation == slot->generation) {
    LWLockRelease(shared->lock);
    return false;
  }
  const std::uint64_t generation = slot->generation;
  slot->building = true;
  slot->builder_pid = MyProcPid;
  building_slot = static_cast<int>(slot - shared->slots);
  LWLockRelease(shared->lock);

  // The rows must be read with a snapshot taken after the generation was: not a
  // catalog snapshot this transaction may already hold.
  InvalidateCatalogSnapshot();
  MemoryContext build_context =
      AllocSetContextCreate(CurrentMemoryContext, "rowguard key snapshot", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old_context = MemoryContextSwitchTo(build_context);
  const Oid schema = get_namespace_oid("rowguard", true);
  const char* dbname = get_database_name(MyDatabaseId);
  SnapshotHeader shape;
  memset(&shape, 0, sizeof(shape));
  shape.keys_relid = OidIsValid(schema) ? get_relname_relid("keys", schema) : InvalidOid;
  shape.issuers_relid = OidIsValid(schema) ? get_relname_relid("issuers", schema) : InvalidOid;
  shape.bindings_relid =
      OidIsValid(schema) ? get_relname_relid("role_bindings", schema) : InvalidOid;
  char* blob = nullptr;
  Size size = 0;
  if (OidIsValid(shape.keys_relid) && OidIsValid(shape.issuers_relid)) {
    KeyRow* keys;
    IssuerRow* issuers;
    BindingRow* bindings = nullptr;
    shape.key_count = static_cast<std::uint32_t>(ReadAllKeyRows(shape.keys_relid, &keys));
    shape.issuer_count =
        static_cast<std::uint32_t>(ReadAllIssuerRows(shape.issuers_relid, &issuers));
    if (OidIsValid(shape.bindings_relid)) {
      shape.binding_count =
          static_cast<std::uint32_t>(ReadAllBindingRows(shape.bindings_relid, &bindings));
    }
    blob = Serialize(shape, keys, issuers, bindings, &size);
  }
  MemoryContextSwitchTo(old_context);

  bool published = false, too_large = false;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  const bool ours = slot->building && slot->builder_pid == MyProcPid && slot->dboid == MyDatabaseId;
  if (ours) {
    slot->building = false;
    if (slot->generation == generation && OidIsValid(shape.keys_relid)) {
      if (blob != nullptr && Place(slot, blob, size)) {
        slot->published_generation = generation;
        slot->built_serial = ++shared->next_serial;
        slot->keys_relid = shape.keys_relid;
        slot->issuers_relid = shape.issuers_relid;
        slot->bindings_relid = shape.bindings_relid;
        namestrcpy(&slot->dbname, dbname != nullptr ? dbname : "");
        published = true;
      } else {
        slot->too_large_generation = generation;
        too_large = true;
      }
    }
  }
  building_slot = -1;
  LWLockRelease(shared->lock);
  MemoryContextDelete(build_context);
  // For tests (client_min_messages = debug1): which backend built and published.
  ereport(DEBUG1, (errmsg_internal(ROWGUARD_LOG_PREFIX "key snapshot %s",
                                   published ? "published" : "not published"),
                   errhidestmt(true)));
  if (too_large) {
    // Once per change of the tables: until the next one, this database reads its tables.
    ereport(LOG, (errmsg(ROWGUARD_LOG_PREFIX "the key tables of database %u do not fit in the "
                                             "shared key store (%zu bytes)",
                         MyDatabaseId, size),
                  errhint("Raise rowguard.shared_key_store_size.")));
  }
  return published;
}

enum class SlotState { kCurrent, kBuild, kUnavailable };

SlotState StateOf(const SnapshotSlot* slot, Oid keys_relid, Oid issuers_relid, Oid bindings_relid) {
  if (shared->all_disabled) return SlotState::kUnavailable;
  if (slot == nullptr) return SlotState::kBuild;
  if (slot->disabled) return SlotState::kUnavailable;
  if (slot->published_generation == slot->generation && slot->length > 0) {
    const bool same_tables =
        (!OidIsValid(keys_relid) || keys_relid == slot->keys_relid) &&
        (!OidIsValid(issuers_relid) || issuers_relid == slot->issuers_relid) &&
        (!OidIsValid(bindings_relid) || bindings_relid == slot->bindings_relid);
    // Other tables (DROP and CREATE EXTENSION): build again.
    if (same_tables) return SlotState::kCurrent;
  }
  if (slot->building || slot->too_large_generation == slot->generation)
    return SlotState::kUnavailable;
  return SlotState::kBuild;
}

// Runs `copy` on this database's current snapshot under the shared lock, building one
// first when needed. false: not served.
template <typename Copy>
bool Serve(Oid keys_relid, Oid issuers_relid, Oid bindings_relid, Copy copy) {
  if (!Usable()) return false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    LWLockAcquire(shared->lock, LW_SHARED);
    const SnapshotSlot* slot = FindSlot(MyDatabaseId);
    const SlotState state = StateOf(slot, keys_relid, issuers_relid, bindings_relid);
    if (state == SlotState::kCurrent) {
      copy(shared_data + slot->offset);
      LWLockRelease(shared->lock);
      ereport(DEBUG2, (errmsg_internal(ROWGUARD_LOG_PREFIX "served from the key snapshot"),
                       errhidestmt(true)));
      return true;
    }
    LWLockRelease(shared->lock);
    if (state == SlotState::kUnavailable || attempt > 0 || !Build()) return false;
  }
  return false;
}

// ---- the changing transaction ----

// A build cut short by an error leaves the slot marked as being built by this backend:
// unmarked when the (sub)transaction that failed ends, whatever ends the transaction.
void ForgetBuild() {
  if (building_slot < 0 || shared == nullptr) return;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  EndBuild();
  LWLockRelease(shared->lock);
}

void OnSubXactEvent(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (event == SUBXACT_EVENT_ABORT_SUB) ForgetBuild();
}

void OnXactEvent(XactEvent event, void*) {
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PRE_PREPARE) ForgetBuild();
  switch (event) {
    case XACT_EVENT_COMMIT:
      // After ProcArrayEndTransaction (the change is visible to every new snapshot),
      // before AtEOXact_Inval sends the invalidations and before the client hears of the
      // commit. Nothing here can fail.
      if (pending_change && shared != nullptr && OidIsValid(MyDatabaseId)) {
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        SnapshotSlot* slot = FindSlot(MyDatabaseId);
        if (slot != nullptr) slot->generation = ++shared->next_generation;
        LWLockRelease(shared->lock);
      }
      pending_change = false;
      break;
    case XACT_EVENT_PRE_PREPARE:
      // The change commits later, in COMMIT PREPARED, possibly in another backend, with
      // no callback here: this database reads its tables from now on (until restart).
      if (pending_change && shared != nullptr && OidIsValid(MyDatabaseId)) {
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        SnapshotSlot* slot = FindSlot(MyDatabaseId);
        if (slot == nullptr) slot = AssignSlot(MyDatabaseId);
        if (slot != nullptr) {
          slot->disabled = true;
          slot->generation = ++shared->next_generation;
          FreeRegion(slot);
        } else {
          shared->all_disabled = true;
        }
        LWLockRelease(shared->lock);
      }
      pending_change = false;
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
      pending_change = false;
      ForgetBuild();
      break;
    default:
      break;
  }
}

}  // namespace

void SharedKeySnapshotInit() {
  if (!process_shared_preload_libraries_in_progress) return;
  SharedRevocationAnswersInit();  // the same setting turns both on
  ChainHook(shmem_request_hook, previous_shmem_request_hook, RequestShmem);
  ChainHook(shmem_startup_hook, previous_shmem_startup_hook, StartupShmem);
  RegisterXactCallback(OnXactEvent, nullptr);
  RegisterSubXactCallback(OnSubXactEvent, nullptr);
}

void SharedKeySnapshotNoteChange(const char* table) {
  // Revocations are index probes, never in the snapshot: their (frequent) changes leave
  // it current, and move only the shared revocation answers' generation.
  if (strcmp(table, "revocations") == 0) {
    SharedRevocationNoteChange();
    return;
  }
  if (shared == nullptr) return;
  pending_change = true;
}

namespace {

// The issuer records of a snapshot, copied into backend memory (palloc'd, terminated by a
// zeroed row). The caller holds the lock.
IssuerRow* CopyIssuerRows(const char* snapshot, int* count) {
  const SnapshotHeader header = HeaderOf(snapshot);
  auto* out = static_cast<IssuerRow*>(palloc0(sizeof(IssuerRow) * (header.issuer_count + 1)));
  Size cursor = header.issuers;
  for (std::uint32_t i = 0; i < header.issuer_count; ++i) {
    IssuerRow& row = out[i];
    row.iss = CopyString(snapshot, &cursor);
    const std::uint32_t audiences = ReadU32(snapshot, &cursor);
    if (audiences != kNullString) {
      auto** list = static_cast<const char**>(palloc(sizeof(char*) * (audiences + 1)));
      for (std::uint32_t a = 0; a < audiences; ++a) list[a] = CopyString(snapshot, &cursor);
      row.audiences = list;
      row.audience_count = static_cast<int>(audiences);
    }
    const std::uint32_t flags = ReadU32(snapshot, &cursor);
    row.has_leeway = (flags & 1u) != 0;
    row.has_max_lifetime = (flags & 2u) != 0;
    row.leeway_seconds = ReadI64(snapshot, &cursor);
    row.max_lifetime_seconds = ReadI64(snapshot, &cursor);
  }
  *count = static_cast<int>(header.issuer_count);
  return out;
}

// The key records of a snapshot copied into backend memory: every key (kid == nullptr), or
// the one whose kid is `kid` (binary search over the sorted offset index), or none. The
// caller holds the lock.
KeyRow* CopyKeyRows(const char* snapshot, const char* kid, int* count) {
  const SnapshotHeader header = HeaderOf(snapshot);
  auto* out =
      static_cast<KeyRow*>(palloc0(sizeof(KeyRow) * (kid == nullptr ? header.key_count + 1 : 1)));
  int found = 0;
  const char* index = snapshot + header.key_index;
  if (kid == nullptr) {
    for (std::uint32_t i = 0; i < header.key_count; ++i) {
      std::uint32_t offset;
      memcpy(&offset, index + i * sizeof(std::uint32_t), sizeof(offset));
      CopyKey(snapshot, offset, &out[found++]);
    }
  } else {
    const Size kid_length = strlen(kid);
    std::uint32_t low = 0, high = header.key_count;
    while (low < high) {
      const std::uint32_t middle = low + (high - low) / 2;
      std::uint32_t offset;
      memcpy(&offset, index + middle * sizeof(std::uint32_t), sizeof(offset));
      Size cursor = offset;
      std::uint32_t length;
      const char* stored = ReadString(snapshot, &cursor, &length);
      const int order = CompareKid(stored, length, kid, kid_length);
      if (order == 0) {
        CopyKey(snapshot, offset, &out[found++]);
        break;
      }
      if (order < 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
  }
  *count = found;
  return out;
}

}  // namespace

bool SnapshotIssuerRows(unsigned int keys_relid, unsigned int issuers_relid, IssuerRow** rows,
                        int* count) {
  return Serve(keys_relid, issuers_relid, InvalidOid,
               [&](const char* snapshot) { *rows = CopyIssuerRows(snapshot, count); });
}

bool SnapshotKeyRows(unsigned int keys_relid, unsigned int issuers_relid, const char* kid,
                     KeyRow** rows, int* count) {
  return Serve(keys_relid, issuers_relid, InvalidOid,
               [&](const char* snapshot) { *rows = CopyKeyRows(snapshot, kid, count); });
}

bool SnapshotBindingRows(unsigned int bindings_relid, BindingRow** rows, int* count) {
  return Serve(InvalidOid, InvalidOid, bindings_relid, [&](const char* snapshot) {
    const SnapshotHeader header = HeaderOf(snapshot);
    auto* out = static_cast<BindingRow*>(palloc0(sizeof(BindingRow) * (header.binding_count + 1)));
    Size cursor = header.bindings;
    for (std::uint32_t i = 0; i < header.binding_count; ++i) {
      out[i].role = ReadU32(snapshot, &cursor);
      out[i].issuer = CopyString(snapshot, &cursor);
    }
    *rows = out;
    *count = static_cast<int>(header.binding_count);
  });
}

// ---- OAuth sign-in (oauth_login.cpp): by database name, before the database is open ----

LoginSnapshot SnapshotRowsForLogin(const char* dbname, const char* kid, IssuerRow** issuers,
                                   int* issuer_count, KeyRow** keys, int* key_count) {
  if (shared == nullptr) return LoginSnapshot::kNoStore;
  LWLockAcquire(shared->lock, LW_SHARED);
  const SnapshotSlot* found = nullptr;
  for (const auto& slot : shared->slots) {
    if (OidIsValid(slot.dboid) && strcmp(NameStr(slot.dbname), dbname) == 0 &&
        StateOf(&slot, InvalidOid, InvalidOid, InvalidOid) == SlotState::kCurrent) {
      found = &slot;
      break;
    }
  }
  if (found == nullptr) {
    LWLockRelease(shared->lock);
    return LoginSnapshot::kMissing;
  }
  // The same copies as SnapshotIssuerRows / SnapshotKeyRows, under the lock already held.
  const char* snapshot = shared_data + found->offset;
  IssuerRow* issuer_rows = CopyIssuerRows(snapshot, issuer_count);
  int keys_found = 0;
  KeyRow* key_rows = CopyKeyRows(snapshot, kid, &keys_found);
  LWLockRelease(shared->lock);
  *issuers = issuer_rows;
  *keys = key_rows;
  *key_count = keys_found;
  return LoginSnapshot::kServed;
}

bool SharedKeySnapshotBuildHere() {
  return Serve(InvalidOid, InvalidOid, InvalidOid, [](const char*) {});
}

}  // namespace rowguard::pg
