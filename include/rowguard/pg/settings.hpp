// The rowguard.* settings (CONTRACT.md, "Settings"), defined in one place.
#pragma once

#include <cstdint>

namespace rowguard::pg {

enum LogAuthentications { kLogOff, kLogFailures, kLogAll };

extern char* setting_audience;
extern int setting_cache_size;
extern int setting_leeway;
extern int setting_log_authentications;
extern int setting_max_token_bytes;
extern bool setting_require_exp;
extern char* setting_roles_claim;
extern char* setting_tenant_claim;
extern char* setting_token;

// Bumped whenever a setting that verification depends on changes, so cached
// verifications made under the old value are not reused.
extern std::uint64_t verification_settings_epoch;

void DefineSettings();

}  // namespace rowguard::pg
