// SQL halves of key sync and fetching (rowguard._plan_jwks_sync, _https_get_json,
// _is_https_url) and _PG_init's part for keys that follow the issuer. docs/keys.md describes the
// behaviour; src/sql/update/0.1.0--0.2.0/30_keys.sql holds the SQL side.
extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"
}

#include <cstdlib>
#include <cstring>

#include "rowguard/core/enum_table.hpp"
#include "rowguard/pg/key_sync.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {

namespace {

// Polled by libcurl while it waits. Only a cancel or a termination request aborts the
// fetch; other interrupts (catch-up, barriers) wait until it returns.
bool FetchInterrupted() { return QueryCancelPending || ProcDiePending; }

// The SQLSTATE of each way a fetch fails: input the caller can correct is 22023, the rest
// says where the connection failed.
constexpr core::EnumRow<FetchFailureKind, int> kFetchFailureSqlstates[] = {
    {FetchFailureKind::kNone, ERRCODE_CONNECTION_FAILURE},
    {FetchFailureKind::kBadUrl, ERRCODE_INVALID_PARAMETER_VALUE},
    {FetchFailureKind::kConnect, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION},
    {FetchFailureKind::kTimeout, ERRCODE_CONNECTION_FAILURE},
    {FetchFailureKind::kTransfer, ERRCODE_CONNECTION_FAILURE},
    {FetchFailureKind::kStatus, ERRCODE_CONNECTION_FAILURE},
    {FetchFailureKind::kTooLarge, ERRCODE_PROGRAM_LIMIT_EXCEEDED},
    {FetchFailureKind::kNotJson, ERRCODE_INVALID_PARAMETER_VALUE},
    {FetchFailureKind::kRedirect, ERRCODE_INVALID_PARAMETER_VALUE},
    {FetchFailureKind::kInterrupted, ERRCODE_QUERY_CANCELED},
    {FetchFailureKind::kInternal, ERRCODE_INTERNAL_ERROR},
};
static_assert(core::CoversInOrder(kFetchFailureSqlstates, kFetchFailureKindCount),
              "one SQLSTATE per FetchFailureKind, in declaration order");

}  // namespace

void KeySyncInit() {
  if (process_shared_preload_libraries_in_progress) {
    KeyRefreshRequestShmem();
    KeyRefreshRegisterLauncher();
  }
}

void FetchJson(const char* url, FetchPlain* out) {
  FetchLoadError load_error{ERRCODE_INTERNAL_ERROR, nullptr};
  FetchHttpsGetFunction https_get = FindFetchModule(&load_error);
  if (https_get == nullptr) {
    ereport(ERROR, (errcode(load_error.sqlerrcode), errmsg("could not fetch \"%s\"", url),
                    errdetail("The fetch module rowguard_fetch could not be loaded: %s.",
                              load_error.message),
                    errhint("rowguard_fetch.so is part of rowguard and belongs next to "
                            "rowguard.so. Nothing was changed.")));
  }
  FetchSettings settings{setting_http_ca_file != nullptr ? setting_http_ca_file : "",
                         setting_http_timeout, FetchInterrupted};
  https_get(url, &settings, out);
  if (out->failure == FetchFailureKind::kInterrupted) CHECK_FOR_INTERRUPTS();
}

void ReportFetchFailure(const char* url, const FetchPlain& fetch) {
  const int code = core::ValueOf(kFetchFailureSqlstates, fetch.failure,
                                 static_cast<int>(ERRCODE_CONNECTION_FAILURE));
  char detail[kDetailSize];
  strlcpy(detail, fetch.detail, sizeof(detail));
  detail[0] = static_cast<char>(pg_toupper(static_cast<unsigned char>(detail[0])));
  if (FetchFailedOnCertificate(fetch)) {
    ereport(ERROR, (errcode(code), errmsg("could not fetch \"%s\"", url), errdetail("%s.", detail),
                    errhint("%s", FetchCertificateAdvice())));
  }
  ereport(ERROR, (errcode(code), errmsg("could not fetch \"%s\"", url), errdetail("%s.", detail),
                  errhint("Nothing was changed; the keys stored before keep working.")));
}

bool FetchFailedOnCertificate(const FetchPlain& fetch) {
  if (fetch.failure != FetchFailureKind::kConnect) return false;
  return strstr(fetch.detail, "certificate") != nullptr || strstr(fetch.detail, "SSL") != nullptr ||
         strstr(fetch.detail, "TLS") != nullptr;
}

const char* FetchCertificateAdvice() {
  const bool system_bundle = setting_http_ca_file == nullptr || setting_http_ca_file[0] == '\0';
  return psprintf(
      "The issuer's certificate is checked against rowguard.http_ca_file (%s): set it to a PEM "
      "file that holds the CA that signed the certificate, and reload. Nothing was changed; the "
      "keys stored before keep working.",
      system_bundle ? "now empty: the system's CA bundle" : setting_http_ca_file);
}

}  // namespace rowguard::pg

using namespace rowguard::pg;

namespace {

// The elements of a text[] argument as C strings (NULL elements are an error).
char** TextArray(ArrayType* array, int* count, const char* what) {
  Datum* elements;
  bool* nulls;
  deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, count);
  char** out = static_cast<char**>(palloc(sizeof(char*) * (*count + 1)));
  for (int i = 0; i < *count; ++i) {
    if (nulls[i]) {
      ereport(ERROR,
              (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain NULL", what)));
    }
    out[i] = TextDatumGetCString(elements[i]);
  }
  return out;
}

}  // namespace

// rowguard._plan_jwks_sync(stored_kids, stored_algs, stored_jwks, jwks, public_only)
//   -> setof (kid, action, key_alg, jwk)
ROWGUARD_SQL_FUNCTION(rowguard_plan_jwks_sync) {
  for (int i = 0; i < 5; ++i) {
    if (PG_ARGISNULL(i)) {
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("arguments of rowguard._plan_jwks_sync must not be null")));
    }
  }
  int kid_count, alg_count, jwk_count;
  char** kids = TextArray(PG_GETARG_ARRAYTYPE_P(0), &kid_count, "stored_kids");
  char** algs = TextArray(PG_GETARG_ARRAYTYPE_P(1), &alg_count, "stored_algs");
  char** jwks = TextArray(PG_GETARG_ARRAYTYPE_P(2), &jwk_count, "stored_jwks");
  if (kid_count != alg_count || kid_count != jwk_count) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("stored key arrays must have the same length")));
  }
  Jsonb* set_jsonb = PG_GETARG_JSONB_P(3);
  char* set = JsonbToCString(nullptr, &set_jsonb->root, VARSIZE(set_jsonb));
  const bool public_only = PG_GETARG_BOOL(4);

  SyncStepPlain* steps = nullptr;
  int step_count = 0;
  BridgeError error;
  const bool ok = BridgePlanJwksSync(kids, algs, jwks, kid_count, set, strlen(set), public_only,
                                     &steps, &step_count, &error);
  if (!ok) {
    if (error.kind == FailureKind::kOutOfMemory) {
      ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
    }
    if (error.kind == FailureKind::kInternal) {
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("%s", error.detail)));
    }
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid JWK Set: %s", error.detail),
             errdetail("Nothing was changed.")));
  }
  // Copy out of malloc'ed memory before anything can ereport.
  struct Row {
    char* kid;
    char* alg;
    char* jwk;
    const char* action;
  };
  Row* rows = static_cast<Row*>(palloc(sizeof(Row) * (step_count + 1)));
  for (int i = 0; i < step_count; ++i) {
    rows[i].kid = pstrdup(steps[i].kid);
    rows[i].alg = steps[i].alg ? pstrdup(steps[i].alg) : nullptr;
    rows[i].jwk = steps[i].jwk ? pstrdup(steps[i].jwk) : nullptr;
    rows[i].action = steps[i].action;
  }
  BridgeFreeSyncPlan(steps, step_count);

  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int i = 0; i < step_count; ++i) {
    Datum values[4];
    bool nulls[4] = {false, false, rows[i].alg == nullptr, rows[i].jwk == nullptr};
    values[0] = CStringGetTextDatum(rows[i].kid);
    values[1] = CStringGetTextDatum(rows[i].action);
    values[2] = rows[i].alg ? CStringGetTextDatum(rows[i].alg) : static_cast<Datum>(0);
    values[3] = rows[i].jwk ? DirectFunctionCall1(jsonb_in, CStringGetDatum(rows[i].jwk))
                            : static_cast<Datum>(0);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

// rowguard._https_get_json(url text) -> (document jsonb, max_age integer)
ROWGUARD_SQL_FUNCTION(rowguard_https_get_json) {
  char* url = text_to_cstring(PG_GETARG_TEXT_PP(0));
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "return type must be a row type");
  }
  FetchPlain fetch;
  FetchJson(url, &fetch);
  if (fetch.failure != FetchFailureKind::kNone) ReportFetchFailure(url, fetch);
  char* body = pstrdup(fetch.body);
  const long max_age = fetch.max_age;
  std::free(fetch.body);
  Datum values[2];
  bool nulls[2] = {false, max_age < 0};
  values[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(body));
  values[1] = Int32GetDatum(static_cast<int32>(max_age < 0 ? 0 : max_age));
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

// rowguard._is_https_url(url text) -> boolean
ROWGUARD_SQL_FUNCTION(rowguard_is_https_url) {
  char* url = text_to_cstring(PG_GETARG_TEXT_PP(0));
  PG_RETURN_BOOL(BridgeIsHttpsUrl(url));
}
