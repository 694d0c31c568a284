// The interface between rowguard_oauth.so, PostgreSQL's OAuth validator module (src/oauth,
// built for PostgreSQL 18 and later), and rowguard.so, which does the work (oauth_login.cpp;
// docs/oauth.md). rowguard.so, loaded by shared_preload_libraries in the postmaster, puts
// an OAuthEntry in the rendezvous variable kOAuthRendezvous; every backend inherits it by
// fork, and the validator finds it there. Without the preload the variable is empty and
// the validator refuses every sign-in. Plain data only; the name carries a version, so a
// validator from another build finds nothing rather than calling other structs.
#pragma once

namespace rowguard::pg {

inline constexpr const char* kOAuthRendezvous = "rowguard_oauth_v1";
inline constexpr unsigned int kOAuthEntryMagic = 0x52474f31;  // "RGO1"

struct OAuthSignIn {
  const char* token;       // the bearer token (PostgreSQL checked its alphabet)
  const char* role;        // the role the client asks to log in as
  const char* database;    // the database named in the startup packet
  const char* hba_issuer;  // the pg_hba line's issuer
  const char* hba_scope;   // its scope, or nullptr
  bool delegate_ident_mapping;
  const char* authn_claim;  // pg_hba validator.authn_claim (PostgreSQL 19), or nullptr
  const char* role_claim;   // pg_hba validator.role_claim (PostgreSQL 19), or nullptr
};

struct OAuthVerdict {
  bool authorized;
  char* authn_id;  // palloc'ed, or nullptr
  char* reason;    // palloc'ed when refused: one line for the log, never the token
};

struct OAuthEntry {
  unsigned int magic;  // kOAuthEntryMagic
  // May ereport only for internal errors (out of memory); a refusal is a verdict.
  void (*validate)(const OAuthSignIn* sign_in, OAuthVerdict* verdict);
};

}  // namespace rowguard::pg
