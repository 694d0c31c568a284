// Every rowguard setting, alphabetically. All but rowguard.token are PGC_SUSET so a
// client session cannot loosen verification; the prefix is reserved so a typo or an
// unknown rowguard.* name is refused rather than silently kept as a placeholder.
extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
}

#include <cstring>

#include "rowguard/pg/settings.hpp"

#include "rowguard/core/defaults.hpp"
#include "rowguard/pg/identity_cache.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/token_before_load.hpp"
#include "rowguard/pg/token_setting.hpp"

namespace rowguard::pg {

char* setting_audience = nullptr;
constexpr int kDefaultCacheSize = 1024;
int setting_cache_size = kDefaultCacheSize;
int setting_failure_delay = 0;
char* setting_http_ca_file = nullptr;
int setting_http_timeout = 5000;
int setting_leeway = static_cast<int>(core::kDefaultLeewaySeconds);
constexpr int kDefaultSharedKeyStoreKb = 8192;
int setting_shared_key_store_size = kDefaultSharedKeyStoreKb;
int setting_log_authentications = kLogOff;
bool setting_log_identity = false;
int setting_max_token_bytes = static_cast<int>(core::kDefaultMaxTokenBytes);
char* setting_oauth_authn_claim = nullptr;
char* setting_oauth_role_claim = nullptr;
int setting_oauth_snapshot_wait = 2000;
char* setting_refresh_databases = nullptr;
bool setting_require_exp = true;
char* setting_role_binding_claim = nullptr;
char* setting_roles_claim = nullptr;
char* setting_tenant_claim = nullptr;
char* setting_token = nullptr;
int setting_unknown_key_wait = 2000;

const char* setting_overridden_at_connection = nullptr;

namespace {

const struct config_enum_entry kLogAuthenticationsOptions[] = {
    {"off", kLogOff, false},
    {"failures", kLogFailures, false},
    {"all", kLogAll, false},
    {nullptr, 0, false},
};

// A change to a verification setting makes every cached verification stale.
void ForgetVerificationsString(const char*, void*) { CacheClear(); }
void ForgetVerificationsInt(int, void*) { CacheClear(); }
void ForgetVerificationsBool(bool, void*) { CacheClear(); }

bool CheckClaimPath(char** newval, void**, GucSource) {
  if (**newval == '\0') {
    GUC_check_errdetail("A claim name must not be empty.");
    return false;
  }
  return true;
}

// PostgreSQL keeps one base value per placeholder. A value a client sends at connection
// (PGOPTIONS) for a not-yet-loaded rowguard.* setting replaces the administrator's
// postgresql.conf value; when rowguard then loads, PostgreSQL rightly discards the
// client's value (it lacks the privilege) - but the file's value is already gone, and
// the setting falls back to its built-in default (an audience check or audit logging
// silently switched off). That is detected here, before the settings are defined.
bool IsUnprivilegedBaseValue(const struct config_generic* variable) {
  if ((variable->flags & GUC_CUSTOM_PLACEHOLDER) == 0) return false;
  // Setting names compare case-insensitively: "ROWGUARD.leeway" is rowguard.leeway.
  if (pg_strncasecmp(variable->name, "rowguard.", 9) != 0) return false;
  if (pg_strcasecmp(variable->name, "rowguard.token") == 0) return false;  // USERSET
  const bool unprivileged =
      variable->reset_scontext == PGC_USERSET || variable->reset_scontext == PGC_BACKEND;
  return unprivileged && variable->reset_source > PGC_S_DEFAULT;
}

const char* FindUnprivilegedBaseValue() { return CompatFindGucVariable(IsUnprivilegedBaseValue); }

}  // namespace

void DefineSettings() {
  if (const char* name = FindUnprivilegedBaseValue()) {
    setting_overridden_at_connection = MemoryContextStrdup(TopMemoryContext, name);
    ereport(WARNING,
            (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
             errmsg("rowguard will not verify tokens in this session"),
             errdetail("The superuser-only setting \"%s\" was given a value at connection by a "
                       "role without the privilege, which displaced the server's value.",
                       name),
             errhint("Reconnect without setting rowguard.* options, or load rowguard with "
                     "shared_preload_libraries so such connections are refused.")));
  }

  DefineCustomStringVariable(
      "rowguard.audience", gettext_noop("Accepted token audiences when no issuer rule applies."),
      gettext_noop("A comma-separated list; a token must name at least one of them in aud. "
                   "Empty means no audience check."),
      &setting_audience, "", PGC_SUSET, 0, nullptr, ForgetVerificationsString, nullptr);

  DefineCustomIntVariable(
      "rowguard.cache_size", gettext_noop("Verified tokens kept per backend."),
      gettext_noop("0 disables the cache; time claims are re-checked on every use."),
      &setting_cache_size, kDefaultCacheSize, 0, 1000000, PGC_SUSET, 0, nullptr,
      ForgetVerificationsInt, nullptr);

  DefineCustomIntVariable(
      "rowguard.failure_delay", gettext_noop("Time a rejected token costs its session."),
      gettext_noop("The session waits this long before the error is reported; a good token "
                   "costs nothing."),
      &setting_failure_delay, 0, 0, 60000, PGC_SUSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);

  DefineCustomStringVariable(
      "rowguard.http_ca_file",
      gettext_noop("Trust anchors (PEM file) for fetching key sets and discovery documents."),
      gettext_noop("Empty means the system's CA bundle."), &setting_http_ca_file, "", PGC_SIGHUP, 0,
      nullptr, nullptr, nullptr);

  DefineCustomIntVariable("rowguard.http_timeout",
                          gettext_noop("Longest time one HTTPS fetch of keys may take."), nullptr,
                          &setting_http_timeout, 5000, 100, 600000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);

  DefineCustomIntVariable("rowguard.leeway",
                          gettext_noop("Clock skew allowed on exp, nbf and iat."), nullptr,
                          &setting_leeway, static_cast<int>(core::kDefaultLeewaySeconds), 0, 86400,
                          PGC_SUSET, GUC_UNIT_S, nullptr, ForgetVerificationsInt, nullptr);

  DefineCustomEnumVariable(
      "rowguard.log_authentications", gettext_noop("Logs token authentications."),
      gettext_noop("off, failures or all; lines carry kid, iss, sub, jti and the reason, "
                   "never the token."),
      &setting_log_authentications, kLogOff, kLogAuthenticationsOptions, PGC_SUSET, 0, nullptr,
      nullptr, nullptr);

  DefineCustomBoolVariable(
      "rowguard.log_identity",
      gettext_noop("Adds the identity in force to every server log entry."),
      gettext_noop("sub, iss, kid and jti go into the entry's server-only detail; never the "
                   "token."),
      &setting_log_identity, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);

  DefineCustomIntVariable("rowguard.max_token_bytes", gettext_noop("Longest token accepted."),
                          gettext_noop("Longer tokens are rejected before any parsing."),
                          &setting_max_token_bytes, static_cast<int>(core::kDefaultMaxTokenBytes),
                          64, 1048576, PGC_SUSET, GUC_UNIT_BYTE, nullptr, ForgetVerificationsInt,
                          nullptr);

  DefineCustomStringVariable(
      "rowguard.refresh_databases",
      gettext_noop("Databases whose issuers' keys the background worker keeps fresh."),
      gettext_noop("Comma-separated database names; needs shared_preload_libraries."),
      &setting_refresh_databases, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

  DefineCustomBoolVariable(
      "rowguard.require_exp", gettext_noop("Rejects tokens without an exp claim."), nullptr,
      &setting_require_exp, true, PGC_SUSET, 0, nullptr, ForgetVerificationsBool, nullptr);

  // OAuth sign-in (docs/oauth.md): read by the validator before the database is open, so
  // only postgresql.conf (and the command line) can set them.
  DefineCustomStringVariable(
      "rowguard.oauth_authn_claim",
      gettext_noop("Claim that identifies the user of an OAuth sign-in (with @ and the issuer)."),
      nullptr, &setting_oauth_authn_claim, "sub", PGC_SIGHUP, 0, CheckClaimPath, nullptr, nullptr);
  DefineCustomStringVariable(
      "rowguard.oauth_role_claim",
      gettext_noop("Claim that must name the login role of an OAuth sign-in with "
                   "delegate_ident_mapping=1."),
      nullptr, &setting_oauth_role_claim, "role", PGC_SIGHUP, 0, CheckClaimPath, nullptr, nullptr);
  DefineCustomIntVariable(
      "rowguard.oauth_snapshot_wait",
      gettext_noop("Longest time an OAuth sign-in waits for the key snapshot of its database."),
      gettext_noop("0 refuses at once when the database has no current key snapshot."),
      &setting_oauth_snapshot_wait, 2000, 0, 60000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);

  DefineCustomStringVariable(
      "rowguard.role_binding_claim",
      gettext_noop("Claim that names the database role a token makes current_user."),
      gettext_noop("Empty turns role binding off. Only roles allowed with rowguard.allow_role "
                   "can be named."),
      &setting_role_binding_claim, "", PGC_SUSET, 0, nullptr, ForgetVerificationsString,
      nullptr);

  DefineCustomStringVariable(
      "rowguard.roles_claim", gettext_noop("Claim read by rowguard.has_role."), nullptr,
      &setting_roles_claim, "roles", PGC_SUSET, 0, CheckClaimPath, nullptr, nullptr);

  // PostgreSQL creates PGC_POSTMASTER settings only while preloading; without the
  // preload there is no shared key store and no such setting.
  if (process_shared_preload_libraries_in_progress) {
    DefineCustomIntVariable(
        "rowguard.shared_key_store_size",
        gettext_noop("Shared memory for the key tables of every database (the shared key "
                     "store)."),
        gettext_noop("Needs shared_preload_libraries; 0 turns it off and new backends read the "
                     "tables."),
        &setting_shared_key_store_size, kDefaultSharedKeyStoreKb, 0, 1048576, PGC_POSTMASTER,
        GUC_UNIT_KB, nullptr, nullptr, nullptr);
  }

  DefineCustomStringVariable(
      "rowguard.tenant_claim", gettext_noop("Default claim of the tenant policy template."),
      nullptr, &setting_tenant_claim, "tenant_id", PGC_SUSET, 0, CheckClaimPath, nullptr, nullptr);

  // PostgreSQL applies the values the placeholder received before the module loaded
  // while the setting is defined; the check hook refuses those a statement set
  // (token_before_load.cpp).
  defining_token_setting = true;
  DefineCustomStringVariable(
      "rowguard.token", gettext_noop("The bearer token that is this session's identity."),
      gettext_noop("Setting it verifies the token; SHOW never prints it."), &setting_token, "",
      PGC_USERSET, GUC_NOT_IN_SAMPLE, CheckTokenHook, AssignTokenHook, ShowTokenHook);
  defining_token_setting = false;

  DefineCustomIntVariable(
      "rowguard.unknown_key_wait",
      gettext_noop("Longest time a token with an unknown kid waits for the key refresher."),
      gettext_noop("When the token's issuer has a jwks_uri and a key refresher runs for the "
                   "database, the call waits for it to fetch the issuer's key set and verifies "
                   "again. 0 refuses at once."),
      &setting_unknown_key_wait, 2000, 0, 60000, PGC_SUSET, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);

  MarkGUCPrefixReserved("rowguard");
}

}  // namespace rowguard::pg
