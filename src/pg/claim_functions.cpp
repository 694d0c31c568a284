// Claim accessors: STABLE, PARALLEL SAFE, COST 1. They read the identity's Jsonb image
// in place; the only allocation is the result.
extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
}

#include <cerrno>
#include <cstdlib>

#include "rowguard/pg/claim_path.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/sql_function.hpp"

using namespace rowguard::pg;

namespace {

// The claims of the current identity (after RequireCurrentIdentity's checks), or nullptr.
const Jsonb* CurrentClaims() {
  const Identity* identity = RequireCurrentIdentity();
  return identity ? static_cast<const Jsonb*>(IdentityJsonb(identity)) : nullptr;
}

// Looks up the text argument `path` in the current claims.
bool LookUp(FunctionCallInfo fcinfo, JsonbValue* value) {
  const Jsonb* claims = CurrentClaims();
  if (claims == nullptr) return false;
  text* path = PG_GETARG_TEXT_PP(0);
  return FindClaim(claims, VARDATA_ANY(path), VARSIZE_ANY_EXHDR(path), value);
}

// A policy's accessor runs once per row when it is a filter (a sequential or parallel
// scan), and the lookup plus parse would then cost more than the scan itself. So each
// call site keeps its last answer in fn_extra, valid while the identity
// (identity_serial) and the path are unchanged. Errors are never remembered.
constexpr int kMaxRememberedPath = 64;
constexpr int kMaxRememberedText = 256;

struct CallSiteMemo {
  std::uint64_t serial;  // identity_serial when filled; 0 = empty
  int path_length;
  char path[kMaxRememberedPath];
  bool is_null;
  int64 integer;    // claim_bigint
  bool boolean;     // claim_bool
  pg_uuid_t uuid;   // claim_uuid
  int text_length;  // claim; -1 when the text was too long to remember
  char text[kMaxRememberedText];
};

// The last answer of each accessor function in this backend (by the function's OID), for
// call sites whose own memo is empty: a prepared statement's next execution starts with a
// fresh fn_extra, and would otherwise look the claim up and parse it again for the same
// identity (3% of a protected point lookup). Same validity rule as the call-site memo.
constexpr int kBackendMemoSlots = 4;
struct BackendMemo {
  Oid function;
  CallSiteMemo memo;
};
BackendMemo backend_memo[kBackendMemoSlots];

BackendMemo& BackendMemoOf(FunctionCallInfo fcinfo) {
  return backend_memo[fcinfo->flinfo->fn_oid % kBackendMemoSlots];
}

CallSiteMemo* MemoOf(FunctionCallInfo fcinfo) {
  if (fcinfo->flinfo->fn_extra == nullptr) {
    fcinfo->flinfo->fn_extra =
        MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallSiteMemo));
  }
  return static_cast<CallSiteMemo*>(fcinfo->flinfo->fn_extra);
}

// The memo of this call site when it holds the answer for the current identity and
// `path`, else nullptr.
bool Holds(const CallSiteMemo& memo, const text* path) {
  const int length = VARSIZE_ANY_EXHDR(path);
  return memo.serial == identity_serial && memo.path_length == length &&
         memcmp(memo.path, VARDATA_ANY(path), length) == 0;
}

CallSiteMemo* Recall(FunctionCallInfo fcinfo) {
  CallSiteMemo* memo = MemoOf(fcinfo);
  const text* path = PG_GETARG_TEXT_PP(0);
  if (Holds(*memo, path)) return memo;
  const BackendMemo& last = BackendMemoOf(fcinfo);
  if (last.function == fcinfo->flinfo->fn_oid && Holds(last.memo, path)) {
    *memo = last.memo;
    return memo;
  }
  return nullptr;
}

// Marks the memo as holding the answer for the current identity and path (the caller
// has filled the value fields); paths too long to keep are not remembered.
void Remember(FunctionCallInfo fcinfo, CallSiteMemo* memo, bool is_null) {
  const text* path = PG_GETARG_TEXT_PP(0);
  const int length = VARSIZE_ANY_EXHDR(path);
  if (length > kMaxRememberedPath) {
    memo->serial = 0;
    return;
  }
  memcpy(memo->path, VARDATA_ANY(path), length);
  memo->path_length = length;
  memo->is_null = is_null;
  memo->serial = identity_serial;
  BackendMemo& last = BackendMemoOf(fcinfo);
  last.function = fcinfo->flinfo->fn_oid;
  last.memo = *memo;
}

// How a typed accessor (claim_uuid, claim_bigint, claim_bool) starts: the answer is
// NULL (unauthenticated, absent or JSON null; remembered), recalled from the call
// site's memo (*recalled), or to be converted from *value.
enum class TypedStart { kNull, kRecalled, kConvert };
struct TypedClaim {
  TypedStart start;
  const CallSiteMemo* recalled;  // kRecalled
  JsonbValue value;              // kConvert
};

TypedClaim StartTyped(FunctionCallInfo fcinfo) {
  TypedClaim claim{TypedStart::kNull, nullptr, {}};
  if (RequireCurrentIdentity() == nullptr) return claim;
  if (const CallSiteMemo* memo = Recall(fcinfo)) {
    claim.recalled = memo;
    if (!memo->is_null) claim.start = TypedStart::kRecalled;
    return claim;
  }
  if (!LookUp(fcinfo, &claim.value) || claim.value.type == jbvNull) {
    Remember(fcinfo, MemoOf(fcinfo), true);
    return claim;
  }
  claim.start = TypedStart::kConvert;
  return claim;
}

// Keeps a converted answer in the call site's memo and returns it.
template <typename T>
T RememberValue(FunctionCallInfo fcinfo, T CallSiteMemo::*field, T value) {
  CallSiteMemo* memo = MemoOf(fcinfo);
  memo->*field = value;
  Remember(fcinfo, memo, false);
  return value;
}

const char* PathArgument(FunctionCallInfo fcinfo) { return text_to_cstring(PG_GETARG_TEXT_PP(0)); }

text* ScalarText(const JsonbValue& value) {
  switch (value.type) {
    case jbvString:
      return cstring_to_text_with_len(value.val.string.val, value.val.string.len);
    case jbvNumeric:
      return cstring_to_text(
          DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value.val.numeric))));
    case jbvBool:
      return cstring_to_text(value.val.boolean ? "true" : "false");
    case jbvBinary:
      return cstring_to_text(JsonbToCString(nullptr, value.val.binary.data, value.val.binary.len));
    default:
      return nullptr;  // jbvNull
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void NotOfType(FunctionCallInfo fcinfo, const char* type_name) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                  errmsg("claim \"%s\" is not a valid %s", PathArgument(fcinfo), type_name)));
}

// True when `needle` equals a string `value` or a string element of an array `value`;
// with `split_spaces`, a string value is a space-delimited list (RFC 8693 scope).
bool Contains(const JsonbValue& value, const char* needle, int needle_length, bool split_spaces) {
  if (value.type == jbvString) {
    const char* s = value.val.string.val;
    const int n = value.val.string.len;
    if (!split_spaces) return n == needle_length && memcmp(s, needle, n) == 0;
    int start = 0;
    for (int i = 0; i <= n; ++i) {
      if (i == n || s[i] == ' ') {
        if (i - start == needle_length && memcmp(s + start, needle, needle_length) == 0) {
          return true;
        }
        start = i + 1;
      }
    }
    return false;
  }
  if (value.type == jbvBinary && JsonContainerIsArray(value.val.binary.data)) {
    JsonbValue probe;
    probe.type = jbvString;
    probe.val.string.val = const_cast<char*>(needle);
    probe.val.string.len = needle_length;
    return findJsonbValueFromContainer(value.val.binary.data, JB_FARRAY, &probe) != nullptr;
  }
  return false;
}

}  // namespace

ROWGUARD_SQL_FUNCTION(rowguard_claims) {
  const Jsonb* claims = CurrentClaims();
  if (claims == nullptr) PG_RETURN_NULL();
  Jsonb* copy = static_cast<Jsonb*>(palloc(VARSIZE(claims)));
  memcpy(copy, claims, VARSIZE(claims));
  PG_RETURN_JSONB_P(copy);
}

ROWGUARD_SQL_FUNCTION(rowguard_claim) {
  if (RequireCurrentIdentity() == nullptr) PG_RETURN_NULL();
  if (CallSiteMemo* memo = Recall(fcinfo); memo != nullptr && memo->text_length >= 0) {
    if (memo->is_null) PG_RETURN_NULL();
    PG_RETURN_TEXT_P(cstring_to_text_with_len(memo->text, memo->text_length));
  }
  JsonbValue value;
  text* result = LookUp(fcinfo, &value) ? ScalarText(value) : nullptr;
  CallSiteMemo* memo = MemoOf(fcinfo);
  const int length = result == nullptr ? 0 : static_cast<int>(VARSIZE_ANY_EXHDR(result));
  if (length <= kMaxRememberedText) {
    if (result != nullptr) memcpy(memo->text, VARDATA_ANY(result), length);
    memo->text_length = length;
    Remember(fcinfo, memo, result == nullptr);
  } else {
    memo->serial = 0;
  }
  if (result == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(result);
}

ROWGUARD_SQL_FUNCTION(rowguard_claim_uuid) {
  const TypedClaim claim = StartTyped(fcinfo);
  if (claim.start == TypedStart::kNull) PG_RETURN_NULL();
  auto* result = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
  if (claim.start == TypedStart::kRecalled) {
    *result = claim.recalled->uuid;
    PG_RETURN_UUID_P(result);
  }
  const JsonbValue& value = claim.value;
  // The canonical form (8-4-4-4-12 hex digits, either case) or 32 bare hex digits:
  // what issuers emit. Parsed here so an error names the claim, not its value.
  if (value.type != jbvString) NotOfType(fcinfo, "uuid");
  const char* s = value.val.string.val;
  const int n = value.val.string.len;
  const bool hyphenated = n == 36;
  if (!hyphenated && n != 32) NotOfType(fcinfo, "uuid");
  unsigned char* out = result->data;
  int high = -1;  // the pending high nibble of the current byte
  for (int i = 0; i < n; ++i) {
    if (hyphenated && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (s[i] != '-') NotOfType(fcinfo, "uuid");
      continue;
    }
    const int nibble = hex_digit(s[i]);
    if (nibble < 0) NotOfType(fcinfo, "uuid");
    if (high < 0) {
      high = nibble;
    } else {
      *out++ = static_cast<unsigned char>(high << 4 | nibble);
      high = -1;
    }
  }
  *result = RememberValue(fcinfo, &CallSiteMemo::uuid, *result);
  PG_RETURN_UUID_P(result);
}

ROWGUARD_SQL_FUNCTION(rowguard_claim_bigint) {
  const TypedClaim claim = StartTyped(fcinfo);
  if (claim.start == TypedStart::kNull) PG_RETURN_NULL();
  if (claim.start == TypedStart::kRecalled) PG_RETURN_INT64(claim.recalled->integer);
  const JsonbValue& value = claim.value;
  // JSON integers only: a quoted "42" or 42.0 is not an integer claim, and accepting
  // them would let differently written values compare equal.
  if (value.type != jbvNumeric) NotOfType(fcinfo, "bigint");
  const char* digits =
      DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value.val.numeric)));
  const char* p = digits[0] == '-' ? digits + 1 : digits;
  if (*p == '\0') NotOfType(fcinfo, "bigint");
  for (const char* c = p; *c; ++c) {
    if (*c < '0' || *c > '9') NotOfType(fcinfo, "bigint");
  }
  errno = 0;
  char* end = nullptr;
  const long long parsed = strtoll(digits, &end, 10);
  if (errno == ERANGE) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("claim \"%s\" is out of range for type bigint", PathArgument(fcinfo))));
  }
  PG_RETURN_INT64(RememberValue(fcinfo, &CallSiteMemo::integer, static_cast<int64>(parsed)));
}

ROWGUARD_SQL_FUNCTION(rowguard_claim_bool) {
  const TypedClaim claim = StartTyped(fcinfo);
  if (claim.start == TypedStart::kNull) PG_RETURN_NULL();
  if (claim.start == TypedStart::kRecalled) PG_RETURN_BOOL(claim.recalled->boolean);
  if (claim.value.type != jbvBool) NotOfType(fcinfo, "boolean");
  PG_RETURN_BOOL(RememberValue(fcinfo, &CallSiteMemo::boolean, claim.value.val.boolean));
}

ROWGUARD_SQL_FUNCTION(rowguard_claim_array) {
  JsonbValue value;
  if (!LookUp(fcinfo, &value) || value.type == jbvNull) PG_RETURN_NULL();
  if (value.type != jbvBinary) {
    // A lone scalar reads as a one-element array (e.g. roles given as one string).
    Datum element = PointerGetDatum(ScalarText(value));
    PG_RETURN_ARRAYTYPE_P(construct_array(&element, 1, TEXTOID, -1, false, TYPALIGN_INT));
  }
  JsonbContainer* container = value.val.binary.data;
  if (!JsonContainerIsArray(container)) NotOfType(fcinfo, "array of scalars");
  const uint32 count = JsonContainerSize(container);
  Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (count + 1)));
  bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * (count + 1)));
  for (uint32 i = 0; i < count; ++i) {
    JsonbValue* element = getIthJsonbValueFromContainer(container, i);
    if (element->type == jbvBinary) NotOfType(fcinfo, "array of scalars");
    text* t = ScalarText(*element);
    nulls[i] = t == nullptr;
    elements[i] = PointerGetDatum(t);
  }
  int dims[1] = {static_cast<int>(count)};
  int lbs[1] = {1};
  PG_RETURN_ARRAYTYPE_P(
      construct_md_array(elements, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

ROWGUARD_SQL_FUNCTION(rowguard_sub) {
  const Identity* identity = RequireCurrentIdentity();
  if (identity == nullptr || (identity->flags & kIdentityHasSub) == 0) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text_with_len(IdentitySub(identity), identity->sub_length));
}

ROWGUARD_SQL_FUNCTION(rowguard_has_role) {
  const Jsonb* claims = CurrentClaims();
  if (claims == nullptr) PG_RETURN_BOOL(false);
  JsonbValue value;
  if (!FindClaim(claims, setting_roles_claim, strlen(setting_roles_claim), &value)) {
    PG_RETURN_BOOL(false);
  }
  text* role = PG_GETARG_TEXT_PP(0);
  PG_RETURN_BOOL(Contains(value, VARDATA_ANY(role), VARSIZE_ANY_EXHDR(role), false));
}

ROWGUARD_SQL_FUNCTION(rowguard_has_scope) {
  const Jsonb* claims = CurrentClaims();
  if (claims == nullptr) PG_RETURN_BOOL(false);
  text* scope = PG_GETARG_TEXT_PP(0);
  const char* needle = VARDATA_ANY(scope);
  const int length = VARSIZE_ANY_EXHDR(scope);
  if (length == 0) PG_RETURN_BOOL(false);
  JsonbValue value;
  if (getKeyJsonValueFromContainer(const_cast<JsonbContainer*>(&claims->root), "scope", 5,
                                   &value) != nullptr &&
      Contains(value, needle, length, true)) {
    PG_RETURN_BOOL(true);
  }
  if (getKeyJsonValueFromContainer(const_cast<JsonbContainer*>(&claims->root), "scp", 3, &value) !=
          nullptr &&
      Contains(value, needle, length, true)) {
    PG_RETURN_BOOL(true);
  }
  PG_RETURN_BOOL(false);
}

ROWGUARD_SQL_FUNCTION(rowguard_is_authenticated) {
  PG_RETURN_BOOL(RequireCurrentIdentity() != nullptr);
}
