// rowguard.verify and rowguard.authenticate. authenticate is set_config on
// rowguard.token, so both ways of presenting a token share one mechanism.
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
}

#include "rowguard/pg/citus.hpp"
#include "rowguard/pg/handoff.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/session_state_guard.hpp"
#include "rowguard/pg/sql_function.hpp"
#include "rowguard/pg/token_error.hpp"

using namespace rowguard::pg;

namespace {

Jsonb* ClaimsCopy(const Identity* identity) {
  const auto* claims = static_cast<const Jsonb*>(IdentityJsonb(identity));
  Jsonb* copy = static_cast<Jsonb*>(palloc(VARSIZE(claims)));
  memcpy(copy, claims, VARSIZE(claims));
  return copy;
}

}  // namespace

// rowguard.verify(token text) -> jsonb
ROWGUARD_SQL_FUNCTION(rowguard_verify) {
  char* token = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* detail = nullptr;
  Identity* identity = MakeIdentity(token, &detail, false);
  if (identity == nullptr) ReportInvalidToken(detail, nullptr);
  // The identity block is not palloc'ed: it is released even when the copy fails.
  const auto* claims = static_cast<const Jsonb*>(IdentityJsonb(identity));
  PG_RETURN_JSONB_P(static_cast<Jsonb*>(
      PallocCopyThenRelease(claims, VARSIZE(claims), 0, identity, CompatFreeGucExtra)));
}

// rowguard.authenticate(token text, is_local boolean) -> jsonb
ROWGUARD_SQL_FUNCTION(rowguard_authenticate) {
  if (PG_ARGISNULL(0)) {
    ReportInvalidToken("the token is null", "Use RESET rowguard.token to end an identity.");
  }
  char* token = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const bool is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
  if (token[0] == '\0') {
    ReportInvalidToken("the token is empty", "Use RESET rowguard.token to end an identity.");
  }
  if (is_local && !IsTransactionBlock()) {
    // Like SET LOCAL outside a transaction block: the identity ends with this statement.
    // Counted too: drivers such as psycopg hide WARNINGs unless the application asks.
    ObserveOutsideTransaction();
    ereport(WARNING,
            (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
             errmsg("rowguard.authenticate with is_local can only be used in transaction blocks"),
             errdetail("The identity ends with this statement."),
             errhint("Call it after BEGIN, or pass is_local => false for a session identity.")));
  }
  const TokenScopeHint outer = pending_token_scope;
  pending_token_scope = is_local ? TokenScopeHint::kTransaction : TokenScopeHint::kSession;
  PG_TRY();
  {
    (void)set_config_option("rowguard.token", token, superuser() ? PGC_SUSET : PGC_USERSET,
                            PGC_S_SESSION, is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET, true, 0,
                            false);
  }
  PG_FINALLY();
  { pending_token_scope = outer; }
  PG_END_TRY();
  ForwardTokenToCitus(token);
  if (current_identity == nullptr) PG_RETURN_NULL();
  PG_RETURN_JSONB_P(ClaimsCopy(current_identity));
}
