// rowguard_oauth.so: PostgreSQL's OAuth validator module (PostgreSQL 18 and later;
// docs/oauth.md). A thin shell: it reads the pg_hba line and the startup packet, hands
// them with the token to rowguard.so through the rendezvous variable of
// include/rowguard/pg/oauth_handoff.hpp (rowguard must be in shared_preload_libraries),
// and reports its verdict. Everything that reads the token is in rowguard.so and its core.
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "libpq/hba.h"
#include "libpq/libpq-be.h"
#include "libpq/oauth.h"
#include "miscadmin.h"

PG_MODULE_MAGIC;
}

#include "rowguard/pg/oauth_handoff.hpp"

namespace {

using rowguard::pg::OAuthEntry;
using rowguard::pg::OAuthSignIn;
using rowguard::pg::OAuthVerdict;

#if PG_VERSION_NUM >= 190000
// pg_hba options of this validator (PostgreSQL 19): validator.authn_claim=...,
// validator.role_claim=... override rowguard.oauth_authn_claim / oauth_role_claim.
const char* kHbaOptions[] = {"authn_claim", "role_claim"};
#endif

void Startup(ValidatorModuleState* state) {
#if PG_VERSION_NUM >= 190000
  RegisterOAuthHBAOptions(state, 2, kHbaOptions);
#endif
}

bool Validate(const ValidatorModuleState* state, const char* token, const char* role,
              ValidatorModuleResult* result) {
  result->authorized = false;
  result->authn_id = nullptr;
  auto* entry = static_cast<const OAuthEntry*>(
      *find_rendezvous_variable(rowguard::pg::kOAuthRendezvous));
  if (entry == nullptr || entry->magic != rowguard::pg::kOAuthEntryMagic) {
    static const char kReason[] =
        "rowguard is not in shared_preload_libraries (or is another build than rowguard_oauth)";
    ereport(LOG, (errmsg("rowguard: OAuth sign-in refused for user \"%s\": %s", role, kReason)));
#if PG_VERSION_NUM >= 190000
    result->error_detail = pstrdup(kReason);
#endif
    return true;
  }
  const HbaLine* hba = MyProcPort->hba;
  OAuthSignIn sign_in;
  sign_in.token = token;
  sign_in.role = role;
  sign_in.database = MyProcPort->database_name != nullptr ? MyProcPort->database_name : "";
  sign_in.hba_issuer = hba->oauth_issuer;
  sign_in.hba_scope = hba->oauth_scope;
  sign_in.delegate_ident_mapping = hba->oauth_skip_usermap;
#if PG_VERSION_NUM >= 190000
  sign_in.authn_claim = GetOAuthHBAOption(state, "authn_claim");
  sign_in.role_claim = GetOAuthHBAOption(state, "role_claim");
#else
  sign_in.authn_claim = nullptr;
  sign_in.role_claim = nullptr;
#endif
  OAuthVerdict verdict = {false, nullptr, nullptr};
  entry->validate(&sign_in, &verdict);
  result->authorized = verdict.authorized;
  result->authn_id = verdict.authn_id;
#if PG_VERSION_NUM >= 190000
  if (!verdict.authorized && verdict.reason != nullptr) result->error_detail = verdict.reason;
#endif
  return true;
}

const OAuthValidatorCallbacks kCallbacks = {PG_OAUTH_VALIDATOR_MAGIC, Startup, nullptr, Validate};

}  // namespace

extern "C" PGDLLEXPORT const OAuthValidatorCallbacks* _PG_oauth_validator_module_init(void) {
  return &kCallbacks;
}
