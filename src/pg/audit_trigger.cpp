// The trigger behind rowguard.audit_columns(): fills who-columns from a verified claim.
// Arguments (set by the template): created_by column ('' for none), updated_by column
// ('' for none), claim path. On INSERT both columns get the claim; on UPDATE
// updated_by gets it and created_by keeps the row's old value. Whatever the client
// sent is overwritten; without an identity (or without the claim) the value is NULL.
extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "rowguard/pg/sql_function.hpp"

extern "C" Datum rowguard_claim(PG_FUNCTION_ARGS);

namespace {

// Per trigger call site: the claim path and a call frame for rowguard.claim(), whose
// own per-call-site memo then makes repeated rows cost one comparison.
struct AuditCallSite {
  FmgrInfo claim_function;
  text* path;
};

AuditCallSite* CallSiteOf(FunctionCallInfo fcinfo, const char* path) {
  auto* site = static_cast<AuditCallSite*>(fcinfo->flinfo->fn_extra);
  if (site != nullptr) return site;
  MemoryContext context = fcinfo->flinfo->fn_mcxt;
  site = static_cast<AuditCallSite*>(MemoryContextAllocZero(context, sizeof(AuditCallSite)));
  site->claim_function.fn_addr = rowguard_claim;
  site->claim_function.fn_oid = InvalidOid;
  site->claim_function.fn_nargs = 1;
  site->claim_function.fn_strict = true;
  site->claim_function.fn_retset = false;
  site->claim_function.fn_mcxt = context;
  MemoryContext old_context = MemoryContextSwitchTo(context);
  site->path = cstring_to_text(path);
  MemoryContextSwitchTo(old_context);
  fcinfo->flinfo->fn_extra = site;
  return site;
}

// The claim converted to the column's type (and typmod, so varchar(n) is checked), or
// NULL.
Datum ClaimAs(AuditCallSite* site, Form_pg_attribute column, bool* is_null) {
  const Oid type = column->atttypid;
  LOCAL_FCINFO(call, 1);
  InitFunctionCallInfoData(*call, &site->claim_function, 1, InvalidOid, nullptr, nullptr);
  call->args[0].value = PointerGetDatum(site->path);
  call->args[0].isnull = false;
  const Datum claim = FunctionCallInvoke(call);
  *is_null = call->isnull;
  if (*is_null) return static_cast<Datum>(0);
  if (type == TEXTOID) return claim;
  Oid input_function, io_param;
  getTypeInputInfo(type, &input_function, &io_param);
  return OidInputFunctionCall(input_function, text_to_cstring(DatumGetTextPP(claim)), io_param,
                              column->atttypmod);
}

int ColumnNumber(Relation relation, const char* name) {
  if (name[0] == '\0') return 0;
  const int number = SPI_fnumber(RelationGetDescr(relation), name);
  if (number <= 0) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                    errmsg("column \"%s\" of relation \"%s\" does not exist", name,
                           RelationGetRelationName(relation)),
                    errhint("Run rowguard.audit_columns() again after renaming a column.")));
  }
  return number;
}

}  // namespace

ROWGUARD_SQL_FUNCTION(rowguard_audit_columns_trigger) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("rowguard.audit_columns_trigger() must be called as a trigger")));
  }
  auto* trigger_data = reinterpret_cast<TriggerData*>(fcinfo->context);
  const TriggerEvent event = trigger_data->tg_event;
  const bool is_insert = TRIGGER_FIRED_BY_INSERT(event);
  if (!TRIGGER_FIRED_BEFORE(event) || !TRIGGER_FIRED_FOR_ROW(event) ||
      !(is_insert || TRIGGER_FIRED_BY_UPDATE(event)) || trigger_data->tg_trigger->tgnargs != 3) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("rowguard.audit_columns_trigger() must run BEFORE INSERT OR UPDATE "
                           "FOR EACH ROW with three arguments"),
                    errhint("Install it with rowguard.audit_columns().")));
  }
  char** args = trigger_data->tg_trigger->tgargs;
  Relation relation = trigger_data->tg_relation;
  TupleDesc descriptor = RelationGetDescr(relation);
  const int created_by = ColumnNumber(relation, args[0]);
  const int updated_by = ColumnNumber(relation, args[1]);
  HeapTuple row = is_insert ? trigger_data->tg_trigtuple : trigger_data->tg_newtuple;

  AuditCallSite* site = CallSiteOf(fcinfo, args[2]);
  int columns[2];
  Datum values[2];
  bool nulls[2];
  int count = 0;
  if (created_by > 0) {
    columns[count] = created_by;
    if (is_insert) {
      values[count] = ClaimAs(site, TupleDescAttr(descriptor, created_by - 1), &nulls[count]);
    } else {
      values[count] =
          heap_getattr(trigger_data->tg_trigtuple, created_by, descriptor, &nulls[count]);
    }
    ++count;
  }
  if (updated_by > 0) {
    columns[count] = updated_by;
    values[count] = ClaimAs(site, TupleDescAttr(descriptor, updated_by - 1), &nulls[count]);
    ++count;
  }
  if (count == 0) return PointerGetDatum(row);
  return PointerGetDatum(heap_modify_tuple_by_cols(row, descriptor, count, columns, values, nulls));
}
