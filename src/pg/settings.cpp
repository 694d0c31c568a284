// Every rowguard setting, alphabetically. All but rowguard.token are PGC_SUSET so a
// client session cannot loosen verification; the prefix is reserved so a typo or an
// unknown rowguard.* name is refused rather than silently kept as a placeholder.
extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

#include "rowguard/pg/settings.hpp"

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/token_guc.hpp"

namespace rowguard::pg {

char* setting_audience = nullptr;
int setting_cache_size = 1024;
int setting_leeway = 30;
int setting_log_authentications = kLogOff;
int setting_max_token_bytes = 16384;
bool setting_require_exp = true;
char* setting_roles_claim = nullptr;
char* setting_tenant_claim = nullptr;
char* setting_token = nullptr;

std::uint64_t verification_settings_epoch = 1;

namespace {

const struct config_enum_entry kLogAuthenticationsOptions[] = {
    {"off", kLogOff, false},
    {"failures", kLogFailures, false},
    {"all", kLogAll, false},
    {nullptr, 0, false},
};

// A change to a verification setting makes every cached verification stale.
void ForgetVerificationsString(const char*, void*) {
  ++verification_settings_epoch;
  CacheClear();
}
void ForgetVerificationsInt(int, void*) {
  ++verification_settings_epoch;
  CacheClear();
}
void ForgetVerificationsBool(bool, void*) {
  ++verification_settings_epoch;
  CacheClear();
}

bool CheckClaimPath(char** newval, void**, GucSource) {
  if (**newval == '\0') {
    GUC_check_errdetail("A claim name must not be empty.");
    return false;
  }
  return true;
}

}  // namespace

void DefineSettings() {
  DefineCustomStringVariable(
      "rowguard.audience", gettext_noop("Accepted token audiences when no issuer rule applies."),
      gettext_noop("A comma-separated list; a token must name at least one of them in aud. "
                   "Empty means no audience check."),
      &setting_audience, "", PGC_SUSET, 0, nullptr, ForgetVerificationsString, nullptr);

  DefineCustomIntVariable(
      "rowguard.cache_size", gettext_noop("Verified tokens kept per backend."),
      gettext_noop("0 disables the cache; time claims are re-checked on every use."),
      &setting_cache_size, 1024, 0, 1000000, PGC_SUSET, 0, nullptr, ForgetVerificationsInt,
      nullptr);

  DefineCustomIntVariable("rowguard.leeway",
                          gettext_noop("Clock skew allowed on exp, nbf and iat."), nullptr,
                          &setting_leeway, 30, 0, 86400, PGC_SUSET, GUC_UNIT_S, nullptr,
                          ForgetVerificationsInt, nullptr);

  DefineCustomEnumVariable(
      "rowguard.log_authentications", gettext_noop("Logs token authentications."),
      gettext_noop("off, failures or all; lines carry kid, iss, sub, jti and the reason, "
                   "never the token."),
      &setting_log_authentications, kLogOff, kLogAuthenticationsOptions, PGC_SUSET, 0, nullptr,
      nullptr, nullptr);

  DefineCustomIntVariable(
      "rowguard.max_token_bytes", gettext_noop("Longest token accepted."),
      gettext_noop("Longer tokens are rejected before any parsing."), &setting_max_token_bytes,
      16384, 64, 1048576, PGC_SUSET, GUC_UNIT_BYTE, nullptr, ForgetVerificationsInt, nullptr);

  DefineCustomBoolVariable("rowguard.require_exp",
                           gettext_noop("Rejects tokens without an exp claim."), nullptr,
                           &setting_require_exp, true, PGC_SUSET, 0, nullptr,
                           ForgetVerificationsBool, nullptr);

  DefineCustomStringVariable("rowguard.roles_claim",
                             gettext_noop("Claim read by rowguard.has_role."), nullptr,
                             &setting_roles_claim, "roles", PGC_SUSET, 0, CheckClaimPath,
                             nullptr, nullptr);

  DefineCustomStringVariable("rowguard.tenant_claim",
                             gettext_noop("Default claim of the tenant policy template."),
                             nullptr, &setting_tenant_claim, "tenant_id", PGC_SUSET, 0,
                             CheckClaimPath, nullptr, nullptr);

  DefineCustomStringVariable(
      "rowguard.token", gettext_noop("The bearer token that is this session's identity."),
      gettext_noop("Setting it verifies the token; SHOW never prints it."), &setting_token, "",
      PGC_USERSET, GUC_NOT_IN_SAMPLE, CheckTokenHook, AssignTokenHook,
      ShowTokenHook);

  MarkGUCPrefixReserved("rowguard");
}

}  // namespace rowguard::pg
