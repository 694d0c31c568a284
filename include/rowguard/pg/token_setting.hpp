// rowguard.token: the GUC whose check hook is the only place an Identity is put in
// force (defined with the other settings in settings.cpp; the identity itself is
// identity.cpp's).
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

namespace rowguard::pg {

bool CheckTokenHook(char** newval, void** extra, GucSource source);
void AssignTokenHook(const char* newval, void* extra);
const char* ShowTokenHook();

}  // namespace rowguard::pg
