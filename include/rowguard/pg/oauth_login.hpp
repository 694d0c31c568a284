// OAuth sign-in, the rowguard.so side (oauth_login.cpp; docs/oauth.md).
// Glue only: callers include postgres.h first.
#pragma once

namespace rowguard::pg {

// _PG_init, preloaded only: shared memory for the worker rate limit, the transaction
// callback that admits a signed-in token once the database is open, and the rendezvous
// entry the validator module (rowguard_oauth.so) calls.
void OAuthInit();

// This session signed in with an OAuth token.
bool OAuthSignedIn();

// rowguard.token's check hook, first: in a session that signed in with OAuth, any value
// other than its token is refused (28000, set through GUC_check_*). true: refuse.
bool OAuthRefusesTokenChange(const char* newval);

}  // namespace rowguard::pg
