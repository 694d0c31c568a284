// Finding a claim inside the identity's Jsonb image without parsing or copying it.
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/jsonb.h"
}

namespace rowguard::pg {

// The identity in force, checked for expiry against the statement's start time (an
// expired one raises 28000) and, in the leader, for removal of its key. nullptr when
// unauthenticated.
const struct Identity* RequireCurrentIdentity();

// Looks `path` up in the claims: a top-level name, a dotted path, or an RFC 6901
// JSON Pointer when it starts with '/'. False when absent (or the path does not fit
// the claims' shape). *value may be jbvBinary for objects and arrays.
bool FindClaim(const Jsonb* claims, const char* path, int path_length, JsonbValue* value);

// The claims of the current identity, or nullptr.
const Jsonb* CurrentClaims();

}  // namespace rowguard::pg
