#include "rowguard/core/trust_store.hpp"

#include "token_internal.hpp"

namespace rowguard::core {
namespace {

Failure SignatureMismatch() { return Fail(ErrorCode::kBadSignature, "signature does not match"); }

// Key::Verify may describe a malformed signature in more words; the reason given to
// clients stays the same for every bad signature, so it tells an attacker nothing.
Status NormalizeSignatureFailure(Status status) {
  if (!status.ok() && status.failure().code == ErrorCode::kBadSignature) {
    return SignatureMismatch();
  }
  return status;
}

}  // namespace

void TrustStore::AddKey(Key key, std::string issuer) {
  auto found = by_kid_.find(key.kid());
  if (found != by_kid_.end()) {
    keys_[found->second] = Entry{std::move(key), std::move(issuer)};
    return;
  }
  by_kid_.emplace(key.kid(), keys_.size());
  keys_.push_back(Entry{std::move(key), std::move(issuer)});
}

void TrustStore::SetIssuer(std::string iss, IssuerRule rule) {
  issuers_.insert_or_assign(std::move(iss), std::move(rule));
}

const Key* TrustStore::FindKey(std::string_view kid) const {
  auto found = by_kid_.find(std::string(kid));
  return found == by_kid_.end() ? nullptr : &keys_[found->second].key;
}

Status TrustStore::CheckSignature(const CompactJws& jws, const Entry** used) const {
  *used = nullptr;
  const Algorithm alg = jws.header.alg;
  if (jws.header.has_kid) {
    auto found = by_kid_.find(jws.header.kid);
    if (found == by_kid_.end()) {
      return Fail(ErrorCode::kUnknownKey,
                  "unknown key id " + internal::QuoteForDetail(jws.header.kid));
    }
    const Entry& entry = keys_[found->second];
    if (entry.key.algorithm() != alg) {
      return Fail(ErrorCode::kAlgorithmMismatch,
                  "key " + internal::QuoteForDetail(entry.key.kid()) + " is for " +
                      std::string(AlgorithmName(entry.key.algorithm())) + ", not " +
                      std::string(AlgorithmName(alg)));
    }
    Status verified = NormalizeSignatureFailure(entry.key.Verify(jws.signing_input, jws.signature));
    if (!verified.ok()) return verified;
    *used = &entry;
    return Ok{};
  }

  // No kid: every key bound to the token's algorithm is a candidate.
  bool any_candidate = false;
  Status last_error = SignatureMismatch();
  for (const Entry& entry : keys_) {
    if (entry.key.algorithm() != alg) continue;
    any_candidate = true;
    Status verified = entry.key.Verify(jws.signing_input, jws.signature);
    if (verified.ok()) {
      *used = &entry;
      return Ok{};
    }
    if (verified.failure().code != ErrorCode::kBadSignature) last_error = std::move(verified);
  }
  if (!any_candidate) {
    return Fail(ErrorCode::kUnknownKey, "no key for algorithm " + std::string(AlgorithmName(alg)));
  }
  return last_error;
}

bool TrustStore::AcceptsIssuer(const Entry& entry, const RegisteredClaims& claims) {
  return entry.issuer.empty() || (claims.iss && *claims.iss == entry.issuer);
}

const TrustStore::Entry* TrustStore::NextAccepting(const Entry* after, const CompactJws& jws,
                                                   const RegisteredClaims& claims) const {
  for (std::size_t i = static_cast<std::size_t>(after - keys_.data()) + 1; i < keys_.size(); ++i) {
    const Entry& entry = keys_[i];
    // The issuer first: a string comparison before any signature work.
    if (entry.key.algorithm() != jws.header.alg || !AcceptsIssuer(entry, claims)) continue;
    if (entry.key.Verify(jws.signing_input, jws.signature).ok()) return &entry;
  }
  return nullptr;
}

Result<CompactJws> TrustStore::VerifySignature(std::string_view token, std::size_t max_token_bytes,
                                               TokenFacts* facts) const {
  if (facts != nullptr) *facts = TokenFacts{};
  CompactJws jws;
  // Every header rule is checked here, before any signature work.
  Status status = ParseCompactInto(StripBearer(token), max_token_bytes, &jws);
  if (facts != nullptr && jws.header.has_kid) facts->kid = jws.header.kid;
  if (!status.ok()) return std::move(status).failure();
  const Entry* used = nullptr;
  status = CheckSignature(jws, &used);
  if (!status.ok()) return std::move(status).failure();
  return jws;
}

Result<VerifiedToken> TrustStore::Verify(std::string_view token, std::int64_t now,
                                         const VerifyOptions& options, TokenFacts* facts) const {
  Result<VerifiedToken> result = VerifiedToken{};
  Status status = VerifyInto(token, now, options, &result.value(), facts);
  if (!status.ok()) result = std::move(status).failure();
  return result;
}

Status TrustStore::VerifyInto(std::string_view token, std::int64_t now,
                              const VerifyOptions& options, VerifiedToken* out,
                              TokenFacts* facts) const {
  // One per thread: a token already parsed for its kid is not decoded again, and the
  // decoded segments reuse their capacity from token to token.
  return VerifyParsedInto(ParseTokenOnce(token, options.max_token_bytes), now, options, out, facts);
}

Status TrustStore::VerifyParsedInto(const ParsedToken& parsed, std::int64_t now,
                                    const VerifyOptions& options, VerifiedToken* out,
                                    TokenFacts* facts) const {
  if (facts != nullptr) *facts = TokenFacts{};
  const CompactJws& jws = parsed.jws;
  // Every header rule was checked by the parse, before any signature work.
  if (facts != nullptr && jws.header.has_kid) facts->kid = jws.header.kid;
  if (!parsed.status.ok()) return parsed.status;
  const Entry* used = nullptr;
  Status status = CheckSignature(jws, &used);
  if (!status.ok()) return status;

  // Only now, with the signature good, is anything in the payload read.
  RegisteredClaims& claims = out->claims;
  status = internal::ParseRegisteredClaimsInto(jws.payload_json, true, &claims);
  if (facts != nullptr) {
    if (claims.iss) facts->iss = *claims.iss;
    if (claims.sub) facts->sub = *claims.sub;
    if (claims.jti) facts->jti = *claims.jti;
  }
  if (!status.ok()) return status;

  if (!AcceptsIssuer(*used, claims)) {
    // A token without kid: another key bound to its algorithm that verifies it may be
    // the one bound to its issuer (the same secret registered for two issuers, as
    // Supabase's user tokens and API keys need). Keys after `used` only: those before it
    // did not verify. The first key's refusal stands when none accepts.
    const Entry* accepting = jws.header.has_kid ? nullptr : NextAccepting(used, jws, claims);
    if (accepting != nullptr) used = accepting;
  }
  if (!AcceptsIssuer(*used, claims)) {
    return Fail(ErrorCode::kIssuerMismatch,
                "key " + internal::QuoteForDetail(used->key.kid()) + " accepts only issuer " +
                    internal::QuoteForDetail(used->issuer) +
                    (claims.iss ? ", not " + internal::QuoteForDetail(*claims.iss)
                                : std::string(", and the token has no \"iss\"")));
  }

  const IssuerRule* rule = nullptr;
  if (claims.iss && !issuers_.empty()) {
    auto found = issuers_.find(*claims.iss);
    if (found != issuers_.end()) rule = &found->second;
  }
  internal::ClaimRulesRef rules;
  rules.require_exp = options.require_exp;
  rules.leeway_seconds = options.leeway_seconds;
  if (options.default_audiences) rules.audiences = &*options.default_audiences;
  if (rule != nullptr) {
    if (rule->leeway_seconds) rules.leeway_seconds = *rule->leeway_seconds;
    // An issuer's own audience list replaces rowguard.audience; without one the
    // default still applies (trust_store.hpp: "when the token's issuer has no
    // audience rule").
    if (rule->audiences) rules.audiences = &*rule->audiences;
    rules.max_lifetime_seconds = rule->max_lifetime_seconds;
  }
  status = internal::CheckClaimsRef(claims, rules, now);
  if (!status.ok()) return status;

  out->claims_json.assign(jws.payload_json);
  out->kid.assign(used->key.kid());
  out->key_thumbprint.assign(used->key.thumbprint());
  out->key_has_issuer = !used->issuer.empty();
  out->alg = jws.header.alg;
  out->leeway_seconds = rules.leeway_seconds;
  return Ok{};
}

}  // namespace rowguard::core
