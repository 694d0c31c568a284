// The install guard (install_guard.cpp): CREATE EXTENSION rowguard and ALTER EXTENSION
// rowguard UPDATE refuse a schema rowguard that, as committed before their transaction,
// roles other than superusers could create objects in.
#pragma once

namespace rowguard::pg {

// Installs the utility hook that runs the check at the first utility statement of
// rowguard's install or update script the module sees (from _PG_init).
void InstallInstallGuard();

}  // namespace rowguard::pg
