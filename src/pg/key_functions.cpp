// rowguard._describe_jwk, _describe_jwks, sign and _keys_changed: the C halves of the
// key functions; the SQL halves (in the install script) store rows. Parsing here is
// what guarantees that nothing unparsable is ever stored.
extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
}

#include <cstdlib>

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/handoff.hpp"
#include "rowguard/pg/key_store.hpp"
#include "rowguard/pg/shared_key_snapshot.hpp"
#include "rowguard/pg/sql_function.hpp"

using namespace rowguard::pg;

namespace {

char* JsonbText(Jsonb* value) { return JsonbToCString(nullptr, &value->root, VARSIZE(value)); }

[[noreturn]] void ReportKeyError(const BridgeError& error) {
  if (error.kind == FailureKind::kOutOfMemory) {
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  }
  if (error.kind == FailureKind::kNotFound) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("%s", error.detail)));
  }
  if (error.kind == FailureKind::kInternal) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("%s", error.detail)));
  }
  ereport(ERROR,
          (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid JWK: %s", error.detail)));
}

HeapTuple DescriptionTuple(TupleDesc desc, const KeyDescription& description, int index) {
  Datum values[4];
  bool nulls[4] = {false, false, false, false};
  values[0] = Int32GetDatum(index);
  values[1] = CStringGetTextDatum(description.kid);
  values[2] = CStringGetTextDatum(description.alg);
  values[3] = BoolGetDatum(description.can_sign);
  return heap_form_tuple(desc, values, nulls);
}

}  // namespace

// rowguard._describe_jwk(jwk jsonb, alg text) -> (ordinal, kid, alg, private)
ROWGUARD_SQL_FUNCTION(rowguard_describe_jwk) {
  if (PG_ARGISNULL(0)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("jwk must not be null")));
  }
  char* jwk = JsonbText(PG_GETARG_JSONB_P(0));
  char* alg = PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1));
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "return type must be a row type");
  }
  KeyDescription description;
  BridgeError error;
  if (!BridgeDescribeJwk(jwk, strlen(jwk), alg, &description, &error)) ReportKeyError(error);
  PG_RETURN_DATUM(HeapTupleGetDatum(DescriptionTuple(BlessTupleDesc(desc), description, 0)));
}

// rowguard._describe_jwks(jwks jsonb) -> setof (ordinal, kid, alg, private)
ROWGUARD_SQL_FUNCTION(rowguard_describe_jwks) {
  char* jwks = JsonbText(PG_GETARG_JSONB_P(0));
  KeyDescription* descriptions = nullptr;
  int count = 0;
  BridgeError error;
  if (!BridgeDescribeJwks(jwks, strlen(jwks), &descriptions, &count, &error)) {
    ReportKeyError(error);
  }
  // Copy out of malloc'ed memory before anything else can ereport.
  const auto* copies = static_cast<const KeyDescription*>(
      PallocCopyThenRelease(descriptions, sizeof(KeyDescription) * count, 0, descriptions, free));

  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0; i < count; ++i) {
    Datum values[4] = {Int32GetDatum(i), CStringGetTextDatum(copies[i].kid),
                       CStringGetTextDatum(copies[i].alg), BoolGetDatum(copies[i].can_sign)};
    bool nulls[4] = {false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

// rowguard.sign(claims jsonb, kid text) -> text
ROWGUARD_SQL_FUNCTION(rowguard_sign) {
  char* claims = JsonbText(PG_GETARG_JSONB_P(0));
  char* kid = text_to_cstring(PG_GETARG_TEXT_PP(1));
  const char* problem = nullptr;
  if (!EnsureKeyFor(kid, &problem)) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("%s", problem)));
  }
  char* token = nullptr;
  BridgeError error;
  // On success *token is malloc'ed (handed over to palloc'ed memory below).
  if (!BridgeSign(CurrentTrustStore(), claims, strlen(claims), kid, &token, &error)) {
    if (error.kind == FailureKind::kKey) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("cannot sign with key \"%s\"", kid), errdetail("%s", error.detail)));
    }
    ReportKeyError(error);
  }
  const std::size_t length = strlen(token);
  auto* result = static_cast<text*>(PallocCopyThenRelease(token, length, VARHDRSZ, token, free));
  SET_VARSIZE(result, VARHDRSZ + length);
  PG_RETURN_TEXT_P(result);
}

// rowguard._keys_changed(): statement trigger on rowguard.keys and rowguard.issuers: every backend
// drops its key store and verified-token cache before its next command.
ROWGUARD_SQL_FUNCTION(rowguard_keys_changed) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("rowguard._keys_changed() must be called as a trigger")));
  }
  auto* trigger_data = reinterpret_cast<TriggerData*>(fcinfo->context);
  // Preloaded: the database's shared key snapshot becomes stale when this commits.
  SharedKeySnapshotNoteChange(RelationGetRelationName(trigger_data->tg_relation));
  CacheInvalidateRelcache(trigger_data->tg_relation);
  return PointerGetDatum(NULL);  // not nullptr: PostgreSQL 19's macro is C-only (pg_compat.hpp)
}
