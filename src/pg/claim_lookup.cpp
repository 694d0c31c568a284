#include "rowguard/pg/claim_lookup.hpp"

extern "C" {
#include "access/parallel.h"
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/inval.h"
}

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/lifecycle.hpp"
#include "rowguard/pg/token_guc.hpp"

namespace rowguard::pg {
namespace {

constexpr int kMaxSegment = 1024;

bool Step(JsonbValue* current, const char* name, int length, bool pointer) {
  if (current->type != jbvBinary) return false;
  JsonbContainer* container = current->val.binary.data;
  if (JsonContainerIsObject(container)) {
    JsonbValue next;
    if (getKeyJsonValueFromContainer(container, name, length, &next) == nullptr) return false;
    *current = next;
    return true;
  }
  if (pointer && JsonContainerIsArray(container) && length > 0 && length <= 9) {
    // RFC 6901: an array index is 0 or digits without a leading zero.
    if (length > 1 && name[0] == '0') return false;
    uint32 index = 0;
    for (int i = 0; i < length; ++i) {
      if (name[i] < '0' || name[i] > '9') return false;
      index = index * 10 + static_cast<uint32>(name[i] - '0');
    }
    JsonbValue* element = getIthJsonbValueFromContainer(container, index);
    if (element == nullptr) return false;
    *current = *element;
    pfree(element);
    return true;
  }
  return false;
}

}  // namespace

const Identity* RequireCurrentIdentity() {
  const Identity* identity = current_identity;
  if (identity == nullptr) return nullptr;
  const std::int64_t now = StatementStartSeconds();
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
    if (EnsureKeyStore(&problem) && !BridgeStoreHasKey(IdentityKid(identity))) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("invalid token"),
                      errdetail("key \"%s\" of the current identity has been removed",
                                IdentityKid(identity)),
                      errhint("Authenticate again with a token signed by a current key.")));
    }
    current_identity->key_generation = key_generation;
  }
  if (!IsParallelWorker()) RecheckIdentity(current_identity);  // revocation, role binding
  return identity;
}

const Jsonb* CurrentClaims() {
  const Identity* identity = RequireCurrentIdentity();
  return identity ? static_cast<const Jsonb*>(IdentityJsonb(identity)) : nullptr;
}

bool FindClaim(const Jsonb* claims, const char* path, int path_length, JsonbValue* value) {
  value->type = jbvBinary;
  value->val.binary.data = const_cast<JsonbContainer*>(&claims->root);
  value->val.binary.len = VARSIZE(claims) - VARHDRSZ;

  if (path_length > 0 && path[0] == '/') {
    char segment[kMaxSegment];
    int position = 1;
    while (true) {
      int length = 0;
      while (position < path_length && path[position] != '/') {
        char c = path[position++];
        if (c == '~') {
          if (position >= path_length) return false;
          const char escaped = path[position++];
          if (escaped == '0')
            c = '~';
          else if (escaped == '1')
            c = '/';
          else
            return false;
        }
        if (length >= kMaxSegment) return false;
        segment[length++] = c;
      }
      if (!Step(value, segment, length, true)) return false;
      if (position >= path_length) return true;
      ++position;  // the '/'
    }
  }

  int start = 0;
  for (int i = 0; i <= path_length; ++i) {
    if (i == path_length || path[i] == '.') {
      if (!Step(value, path + start, i - start, false)) return false;
      start = i + 1;
    }
  }
  return true;
}

}  // namespace rowguard::pg
