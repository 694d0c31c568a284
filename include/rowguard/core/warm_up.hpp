// One verification per common algorithm family with built-in public keys, so that
// OpenSSL's one-time work (configuration, provider and algorithm fetches, method
// caches) and the JSON parser's is done before the first real token. Run in the
// postmaster when rowguard is preloaded, its effect is inherited by every backend.
#pragma once

namespace rowguard::core {

// Verifies one built-in token each for ES256, RS256, EdDSA and HS256. Returns true when
// all of them verified (false means only that the warm-up did not happen; no state is
// changed that verification relies on). Never throws.
bool WarmUp() noexcept;

}  // namespace rowguard::core
