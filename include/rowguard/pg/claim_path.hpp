// Claim paths: finding a claim inside the identity's Jsonb image without parsing or
// copying it.
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/jsonb.h"
}

namespace rowguard::pg {

// Looks `path` up in the claims: a top-level name, a dotted path, or an RFC 6901
// JSON Pointer when it starts with '/'. False when absent (or the path does not fit
// the claims' shape). *value may be jbvBinary for objects and arrays.
bool FindClaim(const Jsonb* claims, const char* path, int path_length, JsonbValue* value);

}  // namespace rowguard::pg
