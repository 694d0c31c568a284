// The rowguard.* settings (docs/settings.md), all defined in settings.cpp.
#pragma once

namespace rowguard::pg {

enum LogAuthentications { kLogOff, kLogFailures, kLogAll };

extern char* setting_audience;
extern int setting_cache_size;
extern int setting_failure_delay;  // milliseconds
extern char* setting_http_ca_file;  // "" = the system's CA bundle
extern int setting_http_timeout;    // ms
extern int setting_leeway;
extern int setting_log_authentications;
extern bool setting_log_identity;
extern int setting_max_token_bytes;
extern char* setting_oauth_authn_claim;
extern char* setting_oauth_role_claim;
extern int setting_oauth_snapshot_wait;  // milliseconds
extern char* setting_refresh_databases;
extern bool setting_require_exp;
extern char* setting_role_binding_claim;
extern char* setting_roles_claim;
extern int setting_shared_key_store_size;  // kB; read once, by the postmaster
extern char* setting_tenant_claim;
extern char* setting_token;
extern int setting_unknown_key_wait;  // milliseconds

// Set at load when a superuser-only rowguard setting had been given a connection-time
// value (PGOPTIONS, a startup option) by a role without the privilege; names that
// setting. Verification then fails closed in this session (see DefineSettings).
extern const char* setting_overridden_at_connection;

void DefineSettings();

}  // namespace rowguard::pg
