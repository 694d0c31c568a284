// The one boundary between PostgreSQL glue and the C++ core (docs/design.md, "Two
// regimes"). Translation only: every function here is noexcept, calls no PostgreSQL
// function, takes and returns plain data only (the trust store travels as an opaque
// pointer owned by the key store), and reports failures in a fixed buffer, so the
// caller may ereport afterwards with nothing but plain data alive on its stack.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rowguard/core/failure_class.hpp"
#include "rowguard/pg/identity_block.hpp"

namespace rowguard::core {
class Key;
class TrustStore;
}  // namespace rowguard::core

namespace rowguard::pg {

constexpr std::size_t kDetailSize = 256;
// Holds any quoted fact (core::kMaxQuotedLength bytes and a NUL; checked in the bridge).
constexpr std::size_t kFactSize = 272;

// Kinds of failure the glue maps to SQLSTATEs.
enum class FailureKind { kNone, kToken, kKey, kNotFound, kInternal, kOutOfMemory };

struct BridgeError {
  FailureKind kind = FailureKind::kNone;
  // For token failures, the core::FailureClass that rowguard.stats() counts.
  int failure_class = static_cast<int>(core::FailureClass::kOther);
  char detail[kDetailSize] = {0};
  // BridgeVerify: no stored key matched the token's kid (or algorithm); the token's
  // iss, if it has one, for waking the key refresher (docs/keys.md).
  bool unknown_key = false;
  char unknown_key_iss[kFactSize] = {0};
};

// What could be read of a token, for log lines: each fact already quoted by
// BridgeQuote (so a hostile claim cannot forge log lines); never the token.
struct TokenFactsPlain {
  char kid[kFactSize], iss[kFactSize], sub[kFactSize], jti[kFactSize];
};

// `src` quoted by the core's one rule for untrusted text (core::QuoteForDetail: in
// double quotes, unprintable bytes escaped, cut after 64 bytes), truncated to size - 1.
void BridgeQuote(char* dst, std::size_t size, const char* src, std::size_t length) noexcept;
// The same without the surrounding quotes (core::EscapeForDetail).
void BridgeEscape(char* dst, std::size_t size, const char* src, std::size_t length) noexcept;

// ---- keys ----

struct KeyRow {
  const char* kid;
  const char* alg;
  const char* issuer;  // nullptr: any issuer
  const char* jwk;     // JSON text
};

struct IssuerRow {
  const char* iss;
  const char* const* audiences;  // nullptr when no audience rule
  int audience_count;
  bool has_leeway;
  std::int64_t leeway_seconds;
  bool has_max_lifetime;
  std::int64_t max_lifetime_seconds;
};

// What ParseJwk made of one JWK: the kid it will be stored under and its algorithm.
struct KeyDescription {
  char kid[kDetailSize];
  char alg[16];
  bool can_sign;
};

// Parses one JWK as add_key would store it (alg may be nullptr).
bool BridgeDescribeJwk(const char* jwk, std::size_t length, const char* alg, KeyDescription* out,
                       BridgeError* error) noexcept;
// Parses a JWK Set; on success *count keys and their descriptions (malloc'ed array,
// released with std::free) are returned in *out.
bool BridgeDescribeJwks(const char* jwks, std::size_t length, KeyDescription** out, int* count,
                        BridgeError* error) noexcept;

// Builds a trust store from the rows into *store (release with BridgeFreeStore). A
// stored row that no longer parses is left out; its kid is reported through `skipped`
// (called once per such row).
bool BridgeBuildStore(const KeyRow* keys, int key_count, const IssuerRow* issuers, int issuer_count,
                      void (*skipped)(const char* kid, const char* detail),
                      core::TrustStore** store, BridgeError* error) noexcept;
void BridgeFreeStore(core::TrustStore* store) noexcept;
// Adds one stored row to `store` (the lazy key store loads keys one kid at a time); a
// row that no longer parses is left out and reported through `skipped`.
bool BridgeAddKey(core::TrustStore* store, const KeyRow& row,
                  void (*skipped)(const char* kid, const char* detail),
                  BridgeError* error) noexcept;
int BridgeStoreKeyCount(const core::TrustStore* store) noexcept;
// `store` may be nullptr (no keys).
bool BridgeStoreHasKey(const core::TrustStore* store, const char* kid) noexcept;
// True when the key stored under `kid` is the material with this RFC 7638 thumbprint.
bool BridgeStoreHasKeyMaterial(const core::TrustStore* store, const char* kid,
                               const char* thumbprint) noexcept;

// Signs `claims_json` with the stored key `kid`; the token is malloc'ed into *token.
bool BridgeSign(const core::TrustStore* store, const char* claims_json, std::size_t length,
                const char* kid, char** token, BridgeError* error) noexcept;

// ---- test identities (test_identity.cpp) ----

// A new in-memory Ed25519 signing key (core::MakeEphemeralKey) into *key (release with
// BridgeFreeKey); its kid and the public half as JWK text are malloc'ed into *kid and
// *public_jwk (the private part stays inside *key).
bool BridgeMakeEphemeralKey(const char* kid_prefix, core::Key** key, char** kid, char** public_jwk,
                            BridgeError* error) noexcept;
void BridgeFreeKey(core::Key* key) noexcept;
// Signs `claims_json` with `key`; the token is malloc'ed into *token.
bool BridgeSignWithKey(const core::Key* key, const char* claims_json, std::size_t length,
                       char** token, BridgeError* error) noexcept;

// ---- tokens ----

// What a token's header names, read before verification so that only its key need be
// loaded: kNoKid (every key of its algorithm is a candidate), kKid (the kid is in the
// caller's buffer), kKidTooLong (longer than the buffer) or kUnreadable (the token
// does not parse; verification will say why). The token is parsed once, here, and
// BridgeVerify uses that parse (core::ParseTokenOnce).
enum class TokenKey { kUnreadable, kNoKid, kKid, kKidTooLong };
TokenKey BridgeTokenKid(const char* token, std::size_t length, std::size_t max_token_bytes,
                        char* kid, std::size_t kid_size) noexcept;

// core::WarmUp: OpenSSL's and the JSON parser's one-time work, done now. Returns false
// when the warm-up did not verify everything (harmless: the first real token then
// does that work).
bool BridgeWarmUp() noexcept;

struct VerifySettings {
  std::int64_t now;
  std::size_t max_token_bytes;
  std::int64_t leeway_seconds;
  bool require_exp;
  const char* audience_list;  // rowguard.audience, comma separated; "" for none
};

// A verified token in plain data; release with BridgeFreeVerified.
struct VerifiedPlain {
  char* claims_json;  // malloc'ed, NUL-terminated
  std::size_t claims_length;
  std::uint32_t flags;  // IdentityFlags
  std::int64_t exp, nbf, iat, leeway;
  char* kid;  // malloc'ed
  char* sub;  // malloc'ed or nullptr
  std::size_t sub_length;
  char* iss;                // malloc'ed, "" when absent
  char* jti;                // malloc'ed, "" when absent
  char key_thumbprint[48];  // of the key that verified it; "" when decoded only
};
void BridgeFreeVerified(VerifiedPlain* verified) noexcept;

// Verifies `token` against `store` (nullptr: no keys). `facts` may be nullptr.
bool BridgeVerify(const core::TrustStore* store, const char* token, std::size_t length,
                  const VerifySettings& settings, VerifiedPlain* out, TokenFactsPlain* facts,
                  BridgeError* error) noexcept;

// Decodes the payload of a token a parallel worker received from its leader, which
// verified that exact value; nothing is verified here (no keys exist in a worker).
bool BridgeDecodeFromLeader(const char* token, std::size_t length, std::size_t max_token_bytes,
                            VerifiedPlain* out, BridgeError* error) noexcept;

// exp/nbf of an identity against `now`; false with the reason in *error.
bool BridgeCheckTimes(const Identity* identity, std::int64_t now, BridgeError* error) noexcept;

// ---- OAuth sign-in (oauth_login.cpp) ----

struct OAuthLoginPlain {
  const char* token;
  const char* hba_issuer;
  const char* hba_scope;  // "" when the pg_hba line has none
  const char* role;       // the requested login role
  bool delegate_ident_mapping;
  const char* authn_claim;
  const char* role_claim;
  std::int64_t now;
  std::size_t max_token_bytes;
  std::int64_t leeway_seconds;
  const char* audience_list;  // rowguard.audience, comma separated; "" for none
};

struct OAuthVerdictPlain {
  bool authorized;
  int failure_class;  // core::FailureClass, when refused
  char reason[kDetailSize];
  char* authn_id;  // malloc'ed or nullptr; the caller frees it
};

// core::CheckOAuthLogin against a store built from the rows (keys not bound to an issuer
// are loaded too; the core refuses them for a sign-in). Returns out->authorized.
bool BridgeOAuthLogin(const KeyRow* keys, int key_count, const IssuerRow* issuers, int issuer_count,
                      const OAuthLoginPlain& in, OAuthVerdictPlain* out) noexcept;

}  // namespace rowguard::pg
