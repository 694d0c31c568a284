// The noexcept boundary (include/rowguard/pg/core_bridge.hpp): translation between
// plain data and the core, nothing else. No PostgreSQL header may be included here
// (cpp_only.hpp enforces it): nothing in this file can longjmp.
#include "rowguard/pg/core_bridge.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "rowguard/core/ephemeral_key.hpp"
#include "rowguard/core/failure_class.hpp"
#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/oauth_login.hpp"
#include "rowguard/core/quote.hpp"
#include "rowguard/core/trust_store.hpp"
#include "rowguard/core/warm_up.hpp"

// Last: fails the build if any header above pulled in a PostgreSQL header.
#include "rowguard/pg/cpp_only.hpp"

namespace rowguard::pg {
namespace {

void SetError(BridgeError* error, FailureKind kind, std::string_view detail) {
  if (error == nullptr) return;
  error->kind = kind;
  const std::size_t n = std::min(detail.size(), kDetailSize - 1);
  std::memcpy(error->detail, detail.data(), n);
  error->detail[n] = '\0';
}

static_assert(kFactSize > core::kMaxQuotedLength, "a quoted fact must fit");

void CopyFact(char (&dst)[kFactSize], const std::string& src) {
  BridgeQuote(dst, kFactSize, src.data(), src.size());
}

char* MallocCopy(std::string_view s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// Runs `body`, turning any escaping exception into a BridgeError. Core failures are
// values; an exception here means out of memory or a bug.
template <typename Body>
bool Guarded(BridgeError* error, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    SetError(error, FailureKind::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    SetError(error, FailureKind::kInternal, e.what());
  } catch (...) {
    SetError(error, FailureKind::kInternal, "unexpected exception in rowguard core");
  }
  return false;
}

void Describe(const core::Key& key, KeyDescription* out) {
  const std::string& kid = key.kid();
  const std::size_t n = std::min(kid.size(), sizeof(out->kid) - 1);
  std::memcpy(out->kid, kid.data(), n);
  out->kid[n] = '\0';
  const std::string_view alg = core::AlgorithmName(key.algorithm());
  std::memcpy(out->alg, alg.data(), alg.size());
  out->alg[alg.size()] = '\0';
  out->can_sign = key.can_sign();
}

std::vector<std::string> SplitAudienceList(std::string_view list) {
  std::vector<std::string> result;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) result.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return result;
}

void FillVerified(const core::VerifiedToken& token, VerifiedPlain* out) {
  *out = VerifiedPlain{};
  try {
    out->claims_json = MallocCopy(token.claims_json);
    out->claims_length = token.claims_json.size();
    out->kid = MallocCopy(token.kid);
    out->iss = MallocCopy(token.claims.iss ? *token.claims.iss : std::string());
    out->jti = MallocCopy(token.claims.jti ? *token.claims.jti : std::string());
    if (token.key_thumbprint.size() < sizeof(out->key_thumbprint)) {
      std::memcpy(out->key_thumbprint, token.key_thumbprint.c_str(),
                  token.key_thumbprint.size() + 1);
    }
    if (token.claims.sub) {
      out->sub = MallocCopy(*token.claims.sub);
      out->sub_length = token.claims.sub->size();
      out->flags |= kIdentityHasSub;
    }
  } catch (...) {
    BridgeFreeVerified(out);
    throw;
  }
  if (token.claims.exp) out->flags |= kIdentityHasExp, out->exp = *token.claims.exp;
  if (token.claims.nbf) out->flags |= kIdentityHasNbf, out->nbf = *token.claims.nbf;
  if (token.claims.iat) out->flags |= kIdentityHasIat, out->iat = *token.claims.iat;
  if (token.key_has_issuer) out->flags |= kIdentityKeyHasIssuer;
  out->leeway = token.leeway_seconds;
}

// One stored row into `store`; a row that no longer parses is reported to `skipped`.
// An issuer row of rowguard.issuers (or of the shared key snapshot) as the core's rule.
core::IssuerRule RuleOf(const IssuerRow& row) {
  core::IssuerRule rule;
  if (row.audiences != nullptr) {
    rule.audiences.emplace(row.audiences, row.audiences + row.audience_count);
  }
  if (row.has_leeway) rule.leeway_seconds = row.leeway_seconds;
  if (row.has_max_lifetime) rule.max_lifetime_seconds = row.max_lifetime_seconds;
  return rule;
}

void AddRow(core::TrustStore* store, const KeyRow& row, void (*skipped)(const char*, const char*)) {
  auto alg = core::AlgorithmFromName(row.alg);
  // Stored keys passed the full check in add_key; a reload must stay cheap.
  auto key =
      alg ? core::ParseJwk(row.jwk, alg, core::PrivateKeyCheck::kSkip)
          : core::Result<core::Key>(core::Fail(core::ErrorCode::kBadKey, "unknown algorithm"));
  if (!key.ok()) {
    if (skipped) skipped(row.kid, key.failure().detail.c_str());
    return;
  }
  // Compared as string_views: std::string's compare(const char*) lives in libstdc++, whose
  // calls are bound lazily (PostgreSQL loads it at exec time, through ICU), so its first
  // use in every new backend paid a symbol lookup across all loaded libraries, about
  // 80 us of a new connection (docs/performance.md).
  if (std::string_view(key.value().kid()) != std::string_view(row.kid) ||
      key.value().algorithm() != *alg) {
    if (skipped) skipped(row.kid, "the stored row disagrees with its JWK");
    return;
  }
  store->AddKey(std::move(key).value(), row.issuer ? row.issuer : "");
}

}  // namespace

namespace {
template <typename Rule>
void CopyRuled(char* dst, std::size_t size, const char* src, std::size_t length,
               Rule rule) noexcept {
  if (size == 0) return;
  dst[0] = '\0';
  try {
    const std::string ruled = rule(std::string_view(src, length));
    const std::size_t n = std::min(ruled.size(), size - 1);
    std::memcpy(dst, ruled.data(), n);
    dst[n] = '\0';
  } catch (...) {
    // Out of memory: the fact is left empty rather than shown unquoted.
  }
}
}  // namespace

void BridgeQuote(char* dst, std::size_t size, const char* src, std::size_t length) noexcept {
  CopyRuled(dst, size, src, length, core::QuoteForDetail);
}

void BridgeEscape(char* dst, std::size_t size, const char* src, std::size_t length) noexcept {
  CopyRuled(dst, size, src, length, core::EscapeForDetail);
}

bool BridgeDescribeJwk(const char* jwk, std::size_t length, const char* alg, KeyDescription* out,
                       BridgeError* error) noexcept {
  return Guarded(error, [&] {
    std::optional<core::Algorithm> default_alg;
    if (alg != nullptr) {
      default_alg = core::AlgorithmFromName(alg);
      if (!default_alg) {
        SetError(error, FailureKind::kKey, std::string("unsupported algorithm \"") + alg + "\"");
        return false;
      }
    }
    auto key = core::ParseJwk(std::string_view(jwk, length), default_alg);
    if (!key.ok()) {
      SetError(error, FailureKind::kKey, key.failure().detail);
      return false;
    }
    Describe(key.value(), out);
    return true;
  });
}

bool BridgeDescribeJwks(const char* jwks, std::size_t length, KeyDescription** out, int* count,
                        BridgeError* error) noexcept {
  *out = nullptr;
  *count = 0;
  return Guarded(error, [&] {
    auto keys = core::ParseJwkSet(std::string_view(jwks, length));
    if (!keys.ok()) {
      SetError(error, FailureKind::kKey, keys.failure().detail);
      return false;
    }
    const auto& list = keys.value();
    auto* descriptions = static_cast<KeyDescription*>(
        std::calloc(std::max<std::size_t>(list.size(), 1), sizeof(KeyDescription)));
    if (descriptions == nullptr) throw std::bad_alloc();
    for (std::size_t i = 0; i < list.size(); ++i) Describe(list[i], &descriptions[i]);
    *out = descriptions;
    *count = static_cast<int>(list.size());
    return true;
  });
}

bool BridgeBuildStore(const KeyRow* keys, int key_count, const IssuerRow* issuers, int issuer_count,
                      void (*skipped)(const char*, const char*), core::TrustStore** built,
                      BridgeError* error) noexcept {
  *built = nullptr;
  return Guarded(error, [&] {
    auto store = std::make_unique<core::TrustStore>();
    for (int i = 0; i < key_count; ++i) AddRow(store.get(), keys[i], skipped);
    for (int i = 0; i < issuer_count; ++i) {
      store->SetIssuer(issuers[i].iss, RuleOf(issuers[i]));
    }
    *built = store.release();
    return true;
  });
}

void BridgeFreeStore(core::TrustStore* store) noexcept { delete store; }

bool BridgeAddKey(core::TrustStore* store, const KeyRow& row,
                  void (*skipped)(const char*, const char*), BridgeError* error) noexcept {
  return Guarded(error, [&] {
    AddRow(store, row, skipped);
    return true;
  });
}

int BridgeStoreKeyCount(const core::TrustStore* store) noexcept {
  return store == nullptr ? 0 : static_cast<int>(store->key_count());
}

bool BridgeStoreHasKey(const core::TrustStore* store, const char* kid) noexcept {
  // Out of memory reports the key as absent: the caller then ends the identity (fails
  // closed).
  try {
    return store != nullptr && store->FindKey(kid) != nullptr;
  } catch (...) {
    return false;
  }
}

bool BridgeStoreHasKeyMaterial(const core::TrustStore* store, const char* kid,
                               const char* thumbprint) noexcept {
  // Out of memory reports the material as absent: the identity ends (fails closed).
  try {
    const core::Key* key = store != nullptr ? store->FindKey(kid) : nullptr;
    return key != nullptr && key->thumbprint() == thumbprint;
  } catch (...) {
    return false;
  }
}

bool BridgeSign(const core::TrustStore* store, const char* claims_json, std::size_t length,
                const char* kid, char** token, BridgeError* error) noexcept {
  *token = nullptr;
  return Guarded(error, [&] {
    const core::Key* key = store ? store->FindKey(kid) : nullptr;
    if (key == nullptr) {
      SetError(error, FailureKind::kNotFound, std::string("no key with kid \"") + kid + "\"");
      return false;
    }
    auto signed_token = core::SignCompact(*key, std::string_view(claims_json, length));
    if (!signed_token.ok()) {
      SetError(error, FailureKind::kKey, signed_token.failure().detail);
      return false;
    }
    *token = MallocCopy(signed_token.value());
    return true;
  });
}

bool BridgeMakeEphemeralKey(const char* kid_prefix, core::Key** key, char** kid, char** public_jwk,
                            BridgeError* error) noexcept {
  *key = nullptr;
  *kid = nullptr;
  *public_jwk = nullptr;
  return Guarded(error, [&] {
    auto made = core::MakeEphemeralKey(kid_prefix);
    if (!made.ok()) {
      SetError(error, FailureKind::kInternal, made.failure().detail);
      return false;
    }
    // Copies first, so that nothing is left half-made when one of them fails.
    std::unique_ptr<char, decltype(&std::free)> kid_copy(MallocCopy(made.value().signing.kid()),
                                                         std::free);
    std::unique_ptr<char, decltype(&std::free)> jwk_copy(MallocCopy(made.value().public_jwk),
                                                         std::free);
    *key = new core::Key(std::move(made.value().signing));
    *kid = kid_copy.release();
    *public_jwk = jwk_copy.release();
    return true;
  });
}

void BridgeFreeKey(core::Key* key) noexcept { delete key; }

bool BridgeSignWithKey(const core::Key* key, const char* claims_json, std::size_t length,
                       char** token, BridgeError* error) noexcept {
  *token = nullptr;
  return Guarded(error, [&] {
    auto signed_token = core::SignCompact(*key, std::string_view(claims_json, length));
    if (!signed_token.ok()) {
      SetError(error, FailureKind::kKey, signed_token.failure().detail);
      return false;
    }
    *token = MallocCopy(signed_token.value());
    return true;
  });
}

void BridgeFreeVerified(VerifiedPlain* verified) noexcept {
  std::free(verified->claims_json);
  std::free(verified->kid);
  std::free(verified->sub);
  std::free(verified->iss);
  std::free(verified->jti);
  *verified = VerifiedPlain{};
}

// Only on the failure path: the iss of the token just verified, from its parsed form
// (the same thread-local ParsedToken VerifyInto used: nothing is decoded again; only
// the payload is read, which verification never reached).
static void NoteUnknownKey(const char* token, std::size_t length, std::size_t max_token_bytes,
                           BridgeError* error) {
  error->unknown_key = true;
  const core::ParsedToken& parsed =
      core::ParseTokenOnce(std::string_view(token, length), max_token_bytes);
  if (!parsed.status.ok()) return;
  auto claims = core::ParseRegisteredClaims(parsed.jws.payload_json);
  // The issuer as it is (compared with stored issuers, never logged): not quoted. One
  // that does not fit is left empty, which wakes a refresh of every issuer.
  if (claims.ok() && claims.value().iss && claims.value().iss->size() < kFactSize) {
    const std::string& iss = *claims.value().iss;
    std::memcpy(error->unknown_key_iss, iss.data(), iss.size());
    error->unknown_key_iss[iss.size()] = '\0';
  }
}

bool BridgeVerify(const core::TrustStore* store, const char* token, std::size_t length,
                  const VerifySettings& settings, VerifiedPlain* out, TokenFactsPlain* facts,
                  BridgeError* error) noexcept {
  *out = VerifiedPlain{};
  if (facts) {
    // Shown as "" when nothing could be read.
    for (char* fact : {facts->kid, facts->iss, facts->sub, facts->jti})
      BridgeQuote(fact, kFactSize, "", 0);
  }
  return Guarded(error, [&] {
    static const core::TrustStore empty_store;
    // rowguard.audience rarely changes: keep its parsed form between calls.
    static std::string last_list;
    static std::optional<std::vector<std::string>> last_audiences;
    if (last_list != settings.audience_list) {
      last_list = settings.audience_list;
      auto parsed = SplitAudienceList(last_list);
      last_audiences = parsed.empty() ? std::nullopt : std::optional(std::move(parsed));
    }
    core::VerifyOptions options;
    options.max_token_bytes = settings.max_token_bytes;
    options.leeway_seconds = settings.leeway_seconds;
    options.require_exp = settings.require_exp;
    options.default_audiences = last_audiences;

    core::TokenFacts token_facts;
    const core::TrustStore& keys = store ? *store : empty_store;
    // Kept between calls: its buffers are reused, so a verification allocates nothing
    // in the core for its result.
    static core::VerifiedToken verified;
    const core::Status status = keys.VerifyInto(std::string_view(token, length), settings.now,
                                                options, &verified, facts ? &token_facts : nullptr);
    if (facts) {
      CopyFact(facts->kid, token_facts.kid);
      CopyFact(facts->iss, token_facts.iss);
      CopyFact(facts->sub, token_facts.sub);
      CopyFact(facts->jti, token_facts.jti);
    }
    if (!status.ok()) {
      SetError(error, FailureKind::kToken, status.failure().detail);
      if (status.failure().code == core::ErrorCode::kUnknownKey)
        NoteUnknownKey(token, length, settings.max_token_bytes, error);
      error->failure_class = static_cast<int>(core::ClassOf(status.failure().code));
      return false;
    }
    FillVerified(verified, out);
    return true;
  });
}

TokenKey BridgeTokenKid(const char* token, std::size_t length, std::size_t max_token_bytes,
                        char* kid, std::size_t kid_size) noexcept {
  try {
    // The whole token is parsed here, once: BridgeVerify's VerifyInto finds it parsed
    // (core::ParseTokenOnce). A token that does not parse needs no key: verification
    // reports the parse's failure before it looks for one.
    const core::ParsedToken& parsed =
        core::ParseTokenOnce(std::string_view(token, length), max_token_bytes);
    if (!parsed.status.ok()) return TokenKey::kUnreadable;
    const core::JwsHeader& header = parsed.jws.header;
    if (!header.has_kid) return TokenKey::kNoKid;
    if (header.kid.size() >= kid_size) return TokenKey::kKidTooLong;
    std::memcpy(kid, header.kid.data(), header.kid.size());
    kid[header.kid.size()] = '\0';
    return TokenKey::kKid;
  } catch (...) {
    return TokenKey::kUnreadable;
  }
}

bool BridgeWarmUp() noexcept { return core::WarmUp(); }

bool BridgeDecodeFromLeader(const char* token, std::size_t length, std::size_t max_token_bytes,
                            VerifiedPlain* out, BridgeError* error) noexcept {
  *out = VerifiedPlain{};
  return Guarded(error, [&] {
    const std::string_view text = core::StripBearer(std::string_view(token, length));
    auto jws = core::ParseCompact(text, max_token_bytes);
    if (!jws.ok()) {
      SetError(error, FailureKind::kToken, jws.failure().detail);
      return false;
    }
    auto claims = core::ParseRegisteredClaims(jws.value().payload_json);
    if (!claims.ok()) {
      SetError(error, FailureKind::kToken, claims.failure().detail);
      return false;
    }
    core::VerifiedToken decoded{jws.value().payload_json, std::move(claims).value(),
                                jws.value().header.kid, jws.value().header.alg, 0};
    FillVerified(decoded, out);
    return true;
  });
}

bool BridgeCheckTimes(const Identity* identity, std::int64_t now, BridgeError* error) noexcept {
  return Guarded(error, [&] {
    core::RegisteredClaims claims;
    if (identity->flags & kIdentityHasExp) claims.exp = identity->exp;
    if (identity->flags & kIdentityHasNbf) claims.nbf = identity->nbf;
    auto status = core::CheckTimes(claims, identity->leeway, now);
    if (!status.ok()) {
      SetError(error, FailureKind::kToken, status.failure().detail);
      error->failure_class = static_cast<int>(core::ClassOf(status.failure().code));
      return false;
    }
    return true;
  });
}

// ---- OAuth sign-in (oauth_login.cpp) ----

bool BridgeOAuthLogin(const KeyRow* keys, int key_count, const IssuerRow* issuers, int issuer_count,
                      const OAuthLoginPlain& in, OAuthVerdictPlain* out) noexcept {
  *out = OAuthVerdictPlain{};
  out->failure_class = static_cast<int>(core::FailureClass::kOther);
  BridgeError error;
  const bool ran = Guarded(&error, [&] {
    core::TrustStore store;
    for (int i = 0; i < key_count; ++i) AddRow(&store, keys[i], nullptr);
    core::OAuthLoginRequest request;
    for (int i = 0; i < issuer_count; ++i) {
      core::IssuerRule rule = RuleOf(issuers[i]);
      if (std::strcmp(issuers[i].iss, in.hba_issuer) == 0) request.issuer_rule = rule;
      store.SetIssuer(issuers[i].iss, std::move(rule));
    }
    core::VerifyOptions options;
    options.max_token_bytes = in.max_token_bytes;
    options.leeway_seconds = in.leeway_seconds;
    options.require_exp = true;
    auto audiences = SplitAudienceList(in.audience_list);
    if (!audiences.empty()) options.default_audiences = std::move(audiences);
    request.token = in.token;
    request.hba_issuer = in.hba_issuer;
    request.hba_scope = in.hba_scope;
    request.requested_role = in.role;
    request.delegate_ident_mapping = in.delegate_ident_mapping;
    request.authn_claim = in.authn_claim;
    request.role_claim = in.role_claim;
    core::OAuthLoginOutcome outcome = core::CheckOAuthLogin(store, request, in.now, options);
    out->authorized = outcome.authorized;
    out->failure_class = static_cast<int>(outcome.failure_class);
    std::snprintf(out->reason, sizeof(out->reason), "%s", outcome.reason.c_str());
    if (!outcome.authn_id.empty()) {
      out->authn_id = static_cast<char*>(std::malloc(outcome.authn_id.size() + 1));
      if (out->authn_id != nullptr) {
        std::memcpy(out->authn_id, outcome.authn_id.c_str(), outcome.authn_id.size() + 1);
      }
    }
    return true;
  });
  if (!ran) {
    out->authorized = false;
    std::snprintf(out->reason, sizeof(out->reason), "%s", error.detail);
  }
  return out->authorized;
}

}  // namespace rowguard::pg
