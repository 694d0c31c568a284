// Keys and issuer rules as a backend holds them, and the full verification path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rowguard/core/claims.hpp"
#include "rowguard/core/defaults.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core {

struct IssuerRule {
  std::optional<std::vector<std::string>> audiences;
  std::optional<std::int64_t> leeway_seconds;
  std::optional<std::int64_t> max_lifetime_seconds;
};

struct VerifyOptions {
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
  std::int64_t leeway_seconds = kDefaultLeewaySeconds;
  bool require_exp = true;
  // rowguard.audience: applies when the token's issuer has no audience rule.
  std::optional<std::vector<std::string>> default_audiences;
};

struct VerifiedToken {
  std::string claims_json;  // the payload exactly as signed
  RegisteredClaims claims;
  std::string kid;
  Algorithm alg;
  std::int64_t leeway_seconds;  // the leeway that applied, for re-checks on reuse
  // RFC 7638 thumbprint of the key that verified it: an identity is bound to this key
  // material, not only to its kid (see docs/security-model.md).
  std::string key_thumbprint;
  // True when the key that verified it is registered for an issuer, so its iss was
  // checked against that issuer; a key without an issuer accepts any iss (role bindings
  // of an issuer require this, docs/roles.md).
  bool key_has_issuer = false;
};

// What could be read of a token, verified or not, for log lines; never the token.
struct TokenFacts {
  std::string kid, iss, sub, jti;
};

class TrustStore {
 public:
  // `issuer` empty: the key accepts any issuer. A key whose kid is already present
  // replaces it.
  void AddKey(Key key, std::string issuer = {});
  void SetIssuer(std::string iss, IssuerRule rule);
  std::size_t key_count() const noexcept { return keys_.size(); }
  // The key stored under `kid`, or nullptr.
  const Key* FindKey(std::string_view kid) const;

  // The whole path: ParseCompact, key by kid (or, without kid, every key bound to the
  // token's alg: the first that verifies it and accepts its issuer decides), signature,
  // claims against the issuer's rule or the options.
  // `facts`, when given, receives what was read even on failure.
  Result<VerifiedToken> Verify(std::string_view token, std::int64_t now,
                               const VerifyOptions& options, TokenFacts* facts = nullptr) const;

  // Verify into *out, reusing its buffers (a caller keeping one VerifiedToken between
  // tokens allocates nothing for the result after the first). On failure *out is
  // unspecified.
  Status VerifyInto(std::string_view token, std::int64_t now, const VerifyOptions& options,
                    VerifiedToken* out, TokenFacts* facts = nullptr) const;

  // VerifyInto for a token already parsed (ParseTokenOnce / ParseTokenInto): nothing
  // is split or decoded again. VerifyInto is ParseTokenOnce and this.
  Status VerifyParsedInto(const ParsedToken& parsed, std::int64_t now, const VerifyOptions& options,
                          VerifiedToken* out, TokenFacts* facts = nullptr) const;

  // The signature half of Verify (Bearer, ParseCompact, key choice, signature) without
  // reading the payload, for JWS whose payload is not a claims set (test vectors).
  Result<CompactJws> VerifySignature(std::string_view token, std::size_t max_token_bytes,
                                     TokenFacts* facts = nullptr) const;

 private:
  struct Entry {
    Key key;
    std::string issuer;
  };
  // Key choice and signature of a parsed token.
  Status CheckSignature(const CompactJws& jws, const Entry** used) const;
  static bool AcceptsIssuer(const Entry& entry, const RegisteredClaims& claims);
  // For a token without kid: the first key after `after`, bound to the token's algorithm
  // and accepting its issuer, whose signature matches; nullptr if none.
  const Entry* NextAccepting(const Entry* after, const CompactJws& jws,
                             const RegisteredClaims& claims) const;
  std::vector<Entry> keys_;
  std::unordered_map<std::string, std::size_t> by_kid_;
  std::unordered_map<std::string, IssuerRule> issuers_;
};

}  // namespace rowguard::core
