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

#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/session_state_guard.hpp"
#include "rowguard/pg/sql_function.hpp"
#include "rowguard/pg/token_guc.hpp"

using namespace rowguard::pg;

namespace {

Jsonb* ClaimsCopy(const Identity* identity) {
  const auto* claims = static_cast<const Jsonb*>(IdentityJsonb(identity));
  Jsonb* copy = static_cast<Jsonb*>(palloc(VARSIZE(claims)));
  memcpy(copy, claims, VARSIZE(claims));
  return copy;
}

}  // namespace

ROWGUARD_SQL_FUNCTION(rowguard_verify_token) {
  char* token = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* detail = nullptr;
  Identity* identity = MakeIdentity(token, &detail, false);
  if (identity == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("invalid token"),
                    errdetail("%s", detail), errhidestmt(true)));
  }
  Jsonb* claims = ClaimsCopy(identity);
  free(identity);
  PG_RETURN_JSONB_P(claims);
}

ROWGUARD_SQL_FUNCTION(rowguard_authenticate_token) {
  if (PG_ARGISNULL(0)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("invalid token"),
                    errdetail("the token is null"),
                    errhint("Use RESET rowguard.token to end an identity.")));
  }
  char* token = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const bool is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
  if (token[0] == '\0') {
    ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("invalid token"),
                    errdetail("the token is empty"),
                    errhint("Use RESET rowguard.token to end an identity.")));
  }
  if (is_local && !IsTransactionBlock()) {
    // Like SET LOCAL outside a transaction block: the identity ends with this statement.
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
  if (current_identity == nullptr) PG_RETURN_NULL();
  PG_RETURN_JSONB_P(ClaimsCopy(current_identity));
}
