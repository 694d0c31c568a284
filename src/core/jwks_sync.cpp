// rowguard.sync_jwks in plain C++: fingerprint both sides, then diff by kid.
#include "rowguard/core/jwks_sync.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "rowguard/core/algorithm.hpp"
#include "rowguard/core/enum_table.hpp"
#include "rowguard/core/key.hpp"
#include "strict_json.hpp"

namespace rowguard::core {

namespace {

// In the order of SyncAction; jwks_sync_test.cpp pins every name.
constexpr const char* kSyncActionNames[] = {"added", "kept", "replaced", "removed"};
static_assert(static_cast<int>(std::size(kSyncActionNames)) == kSyncActionCount,
              "one name per SyncAction");

}  // namespace

const char* SyncActionName(SyncAction action) noexcept {
  return ValueAt(kSyncActionNames, action, "unknown");
}

Result<std::vector<SyncStep>> DiffKeySets(const std::vector<KeyFingerprint>& stored,
                                          const std::vector<KeyFingerprint>& incoming) {
  if (incoming.empty()) {
    return Fail(ErrorCode::kBadKey,
                "the JWK Set holds no signing key: the issuer would be left without keys");
  }
  std::map<std::string_view, int> incoming_by_kid;
  for (std::size_t i = 0; i < incoming.size(); ++i) {
    if (!incoming_by_kid.emplace(incoming[i].kid, static_cast<int>(i)).second) {
      return Fail(ErrorCode::kBadKey, "the JWK Set repeats the kid \"" + incoming[i].kid + "\"");
    }
  }
  std::vector<SyncStep> steps;
  std::map<std::string_view, const KeyFingerprint*> stored_by_kid;
  for (const KeyFingerprint& key : stored) stored_by_kid.emplace(key.kid, &key);
  for (const auto& [kid, index] : incoming_by_kid) {
    const KeyFingerprint& in = incoming[index];
    auto it = stored_by_kid.find(kid);
    SyncAction action = SyncAction::kAdded;
    if (it != stored_by_kid.end()) {
      const KeyFingerprint& old = *it->second;
      const bool same =
          !old.thumbprint.empty() && old.thumbprint == in.thumbprint && old.alg == in.alg;
      action = same ? SyncAction::kKept : SyncAction::kReplaced;
    }
    steps.push_back(SyncStep{in.kid, action, index});
  }
  for (const auto& [kid, key] : stored_by_kid) {
    if (incoming_by_kid.count(kid) == 0)
      steps.push_back(SyncStep{key->kid, SyncAction::kRemoved, -1});
  }
  std::sort(steps.begin(), steps.end(),
            [](const SyncStep& a, const SyncStep& b) { return a.kid < b.kid; });
  return steps;
}

namespace {

// The members of "keys" that are not marked as encryption keys, as compact JSON.
Result<std::vector<std::string>> SigningMembers(std::string_view jwks, int* skipped) {
  simdjson::dom::parser parser;  // not ThreadParser(): ParseJwkSet reuses that one
  auto object = json::ParseObject(parser, jwks, false, "JWK Set");
  if (!object.ok()) {
    Failure failure = std::move(object).failure();
    failure.code = ErrorCode::kBadKey;
    return failure;
  }
  simdjson::dom::array array;
  if (object.value().at_key("keys").get(array) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kBadKey, "not a JWK Set: it needs a \"keys\" array");
  }
  std::vector<std::string> members;
  for (auto item : array) {
    simdjson::dom::object jwk;
    if (item.get(jwk) == simdjson::SUCCESS) {
      std::string_view use;
      if (jwk.at_key("use").get(use) == simdjson::SUCCESS && use == "enc") {
        ++*skipped;
        continue;
      }
    }
    // Anything else, valid or not, is judged by ParseJwkSet below.
    members.push_back(simdjson::minify(item));
  }
  return members;
}

}  // namespace

Result<SyncPlan> PlanJwksSync(const std::vector<StoredKeyRow>& stored, std::string_view jwks,
                              bool public_only) {
  SyncPlan plan;
  auto members = SigningMembers(jwks, &plan.skipped_encryption_keys);
  if (!members.ok()) return std::move(members).failure();
  std::string set = "{\"keys\":[";
  for (std::size_t i = 0; i < members.value().size(); ++i) {
    if (i > 0) set += ',';
    set += members.value()[i];
  }
  set += "]}";
  auto keys = ParseJwkSet(set);
  if (!keys.ok()) return std::move(keys).failure();

  std::vector<KeyFingerprint> incoming;
  for (std::size_t i = 0; i < keys.value().size(); ++i) {
    const Key& key = keys.value()[i];
    if (public_only && key.can_sign()) {
      return Fail(ErrorCode::kBadKey,
                  "the published JWK Set holds a secret or private key (kid \"" + key.kid() +
                      "\"); it is not stored");
    }
    KeyFingerprint fingerprint{key.kid(), std::string(AlgorithmName(key.algorithm())),
                               key.thumbprint()};
    incoming.push_back(fingerprint);
    plan.incoming.push_back(IncomingKey{std::move(fingerprint), members.value()[i]});
  }

  std::vector<KeyFingerprint> old;
  for (const StoredKeyRow& row : stored) {
    KeyFingerprint fingerprint{row.kid, row.alg, ""};
    auto key = ParseJwk(row.jwk, AlgorithmFromName(row.alg), PrivateKeyCheck::kSkip);
    if (key.ok()) fingerprint.thumbprint = key.value().thumbprint();
    old.push_back(std::move(fingerprint));
  }
  auto steps = DiffKeySets(old, incoming);
  if (!steps.ok()) return std::move(steps).failure();
  plan.steps = std::move(steps).value();
  return plan;
}

}  // namespace rowguard::core
