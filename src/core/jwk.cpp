// JWK (RFC 7517, RFC 7518 section 6, RFC 8037) to Key, with the RFC 7638 thumbprint.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "key_material.hpp"
#include "key_roca.hpp"
#include "rowguard/core/base64url.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/quote.hpp"
#include "strict_json.hpp"

namespace rowguard::core {
namespace {

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // OpenSSL's own ceiling for RSA verification

Failure BadKey(std::string detail) {
  ERR_clear_error();
  return Fail(ErrorCode::kBadKey, std::move(detail));
}

// Decoded private (or secret) bytes, wiped when dropped.
class SecretBytes {
 public:
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
  std::string* get() { return &bytes_; }
  const std::string& str() const { return bytes_; }
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes_.data());
  }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  std::string bytes_;
};

struct BnFree {
  void operator()(BIGNUM* bn) const noexcept { BN_clear_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};

// The EVP_PKEY of `type` ("RSA", "EC") made from the parameters pushed into `bld`
// (`pushed`: every push succeeded). A key OpenSSL refuses is BadKey(`invalid`).
Result<OpenSslPtr<EVP_PKEY>> PkeyFromParams(OSSL_PARAM_BLD* bld, bool pushed, const char* type,
                                            bool has_private, std::string_view invalid) {
  std::unique_ptr<OSSL_PARAM, ParamBldFree> params(pushed ? OSSL_PARAM_BLD_to_param(bld) : nullptr);
  if (!params) {
    ERR_clear_error();
    return Fail(ErrorCode::kInternal, std::string("OpenSSL failed: ") + type + " parameters");
  }
  OpenSslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return BadKey(std::string(invalid));
  }
  return OpenSslPtr<EVP_PKEY>(raw);
}

BnPtr ToBn(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// The JWK being read: member lookups with the type rules applied.
class JwkReader {
 public:
  explicit JwkReader(simdjson::dom::object object) : object_(object) {}

  bool Has(const char* name) const { return object_.at_key(name).error() == simdjson::SUCCESS; }

  // An absent member leaves *out untouched and returns true with *present false.
  Status OptionalString(const char* name, std::string_view* out, bool* present) const {
    simdjson::dom::element value;
    *present = false;
    if (object_.at_key(name).get(value) != simdjson::SUCCESS) return Ok{};
    if (value.get(*out) != simdjson::SUCCESS) {
      return BadKey(std::string("JWK \"") + name + "\" is not a string");
    }
    *present = true;
    return Ok{};
  }

  Status RequiredString(const char* name, std::string_view* out) const {
    bool present = false;
    Status status = OptionalString(name, out, &present);
    if (!status.ok()) return status;
    if (!present) return BadKey(std::string("JWK is missing \"") + name + "\"");
    return Ok{};
  }

  // A base64url member decoded strictly; `text` receives the encoded form.
  Status Bytes(const char* name, bool required, std::string_view* text, std::string* out,
               bool* present) const {
    Status status = OptionalString(name, text, present);
    if (!status.ok()) return status;
    if (!*present) {
      if (required) return BadKey(std::string("JWK is missing \"") + name + "\"");
      return Ok{};
    }
    if (!DecodeBase64UrlInto(*text, out)) {
      return BadKey(std::string("JWK \"") + name + "\" is not valid base64url");
    }
    return Ok{};
  }

 private:
  simdjson::dom::object object_;
};

Failure AlgDoesNotFit(Algorithm alg, std::string_view what) {
  return BadKey("algorithm " + std::string(AlgorithmName(alg)) + " does not fit " +
                std::string(what));
}

// What each key type contributes to a Key.
struct TypedKey {
  Algorithm alg;
  bool has_private;
  std::string canonical;  // RFC 7638 input: required members, sorted, no whitespace
  std::unique_ptr<KeyMaterial> material;
};

std::string Thumbprint(const std::string& canonical) {
  unsigned char digest[32];
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return EncodeBase64Url(std::string_view(reinterpret_cast<const char*>(digest), len));
}

// The members read for the canonical JSON are strict base64url or names from a fixed
// set, so none of them needs JSON escaping.
std::string Member(const char* name, std::string_view value, bool last = false) {
  std::string out = "\"";
  out += name;
  out += "\":\"";
  out += value;
  out += last ? "\"" : "\",";
  return out;
}

// ---------------------------------------------------------------- oct

Result<TypedKey> ParseOct(const JwkReader& jwk, std::optional<Algorithm> alg) {
  std::string_view k_text;
  SecretBytes secret;
  bool present = false;
  Status status = jwk.Bytes("k", true, &k_text, secret.get(), &present);
  if (!status.ok()) return std::move(status).failure();
  if (!alg) {
    return BadKey("an oct key needs an algorithm: give the JWK \"alg\" or the alg argument");
  }
  if (!IsHmac(*alg)) return AlgDoesNotFit(*alg, "an oct (HMAC) key");
  const std::size_t min = MinHmacSecretBytes(*alg);
  if (secret.size() < min) {
    return BadKey("HMAC secret is " + std::to_string(secret.size()) + " bytes; " +
                  std::string(AlgorithmName(*alg)) + " needs at least " + std::to_string(min));
  }
  auto material = KeyMaterial::ForHmac(*alg, secret.str());
  if (!material.ok()) return std::move(material).failure();
  return TypedKey{*alg, true, "{" + Member("k", k_text) + Member("kty", "oct", true) + "}",
                  std::move(material).value()};
}

// ---------------------------------------------------------------- RSA

Result<TypedKey> ParseRsa(const JwkReader& jwk, std::optional<Algorithm> alg,
                          PrivateKeyCheck private_check) {
  std::string_view n_text, e_text, unused;
  std::string n, e;
  bool present = false;
  Status status = jwk.Bytes("n", true, &n_text, &n, &present);
  if (status.ok()) status = jwk.Bytes("e", true, &e_text, &e, &present);
  if (!status.ok()) return std::move(status).failure();

  // Base64urlUInt: minimal octets (RFC 7518 section 2), so each key has one thumbprint.
  if (n.empty() || n[0] == '\0') return BadKey("RSA modulus has a leading zero octet");
  if (e.empty() || e[0] == '\0') return BadKey("RSA public exponent has a leading zero octet");
  int bits = static_cast<int>(n.size() - 1) * 8;
  for (auto top = static_cast<unsigned char>(n[0]); top != 0; top >>= 1) ++bits;
  if (bits < kMinRsaBits) {
    return BadKey("RSA modulus is " + std::to_string(bits) + " bits; at least " +
                  std::to_string(kMinRsaBits) + " are required");
  }
  if (bits > kMaxRsaBits) {
    return BadKey("RSA modulus is " + std::to_string(bits) + " bits; at most " +
                  std::to_string(kMaxRsaBits) + " are supported");
  }
  if ((static_cast<unsigned char>(e.back()) & 1) == 0) {
    return BadKey("RSA public exponent is even");
  }
  if (e.size() == 1 && e[0] == '\x01') return BadKey("RSA public exponent is 1");

  const Algorithm bound = alg.value_or(Algorithm::kRS256);
  if (!IsRsa(bound)) return AlgDoesNotFit(bound, "an RSA key");

  BnPtr n_bn = ToBn(n), e_bn = ToBn(e);
  if (!n_bn || !e_bn) throw std::bad_alloc();
  if (HasRocaFingerprint(n_bn.get())) {
    return BadKey("RSA modulus has the ROCA fingerprint (CVE-2017-15361); replace the key");
  }

  // Private members: all of d, p, q, dp, dq, qi, or none; no multi-prime ("oth").
  static const char* const kPrivate[] = {"d", "p", "q", "dp", "dq", "qi"};
  static const char* const kParamNames[] = {
      OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
      OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  if (jwk.Has("oth")) return BadKey("multi-prime RSA keys (\"oth\") are not supported");
  const bool has_private = jwk.Has("d");
  BnPtr private_bn[6];
  for (int i = 0; i < 6; ++i) {
    SecretBytes bytes;
    status = jwk.Bytes(kPrivate[i], false, &unused, bytes.get(), &present);
    if (!status.ok()) return std::move(status).failure();
    if (present != has_private) {
      return BadKey(has_private ? std::string("RSA private key is missing \"") + kPrivate[i] + "\""
                                : std::string("RSA key has \"") + kPrivate[i] + "\" but no \"d\"");
    }
    if (present) {
      private_bn[i] = ToBn(bytes.str());
      if (!private_bn[i]) throw std::bad_alloc();
    }
  }

  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) throw std::bad_alloc();
  bool ok = OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) == 1 &&
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) == 1;
  for (int i = 0; ok && has_private && i < 6; ++i) {
    ok = OSSL_PARAM_BLD_push_BN(bld.get(), kParamNames[i], private_bn[i].get()) == 1;
  }
  auto made = PkeyFromParams(bld.get(), ok, "RSA", has_private, "RSA key is not valid");
  if (!made.ok()) return std::move(made).failure();
  OpenSslPtr<EVP_PKEY> pkey = std::move(made).value();
  if (has_private && private_check == PrivateKeyCheck::kFull) {
    OpenSslPtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
      return BadKey("RSA private key is inconsistent with its public key");
    }
  }
  auto material = KeyMaterial::ForPkey(bound, std::move(pkey));
  if (!material.ok()) return std::move(material).failure();
  return TypedKey{
      bound, has_private,
      "{" + Member("e", e_text) + Member("kty", "RSA") + Member("n", n_text, true) + "}",
      std::move(material).value()};
}

// ---------------------------------------------------------------- EC

struct Curve {
  std::string_view crv;
  const char* group;
  std::size_t field_size;
  Algorithm alg;
};

constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", 32, Algorithm::kES256},
    {"P-384", "secp384r1", 48, Algorithm::kES384},
    {"P-521", "secp521r1", 66, Algorithm::kES512},
};

Result<TypedKey> ParseEc(const JwkReader& jwk, std::optional<Algorithm> alg,
                         PrivateKeyCheck private_check) {
  std::string_view crv;
  Status status = jwk.RequiredString("crv", &crv);
  if (!status.ok()) return std::move(status).failure();
  const Curve* curve = nullptr;
  for (const auto& c : kCurves) {
    if (c.crv == crv) curve = &c;
  }
  if (curve == nullptr) return BadKey("unsupported EC curve " + QuoteForDetail(crv));

  std::string_view x_text, y_text, d_text;
  std::string point = "\x04";  // uncompressed SEC1: 04 || x || y
  SecretBytes d;
  bool present = false, has_private = false;
  for (const char* name : {"x", "y"}) {
    const std::size_t before = point.size();
    status = jwk.Bytes(name, true, name[0] == 'x' ? &x_text : &y_text, &point, &present);
    if (!status.ok()) return std::move(status).failure();
    if (point.size() - before != curve->field_size) {
      return BadKey("EC \"" + std::string(name) + "\" is " + std::to_string(point.size() - before) +
                    " bytes; " + std::string(crv) + " needs " + std::to_string(curve->field_size));
    }
  }
  status = jwk.Bytes("d", false, &d_text, d.get(), &has_private);
  if (!status.ok()) return std::move(status).failure();
  if (has_private && d.size() != curve->field_size) {
    return BadKey("EC \"d\" is " + std::to_string(d.size()) + " bytes; " + std::string(crv) +
                  " needs " + std::to_string(curve->field_size));
  }
  const Algorithm bound = alg.value_or(curve->alg);
  if (bound != curve->alg) return AlgDoesNotFit(bound, "a " + std::string(crv) + " key");

  BnPtr d_bn;
  if (has_private) {
    d_bn = ToBn(d.str());
    if (!d_bn) throw std::bad_alloc();
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) throw std::bad_alloc();
  bool ok = OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group,
                                            0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size()) == 1;
  if (ok && has_private) {
    ok = OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d_bn.get()) == 1;
  }
  const std::string not_on_curve = "EC point is not on the " + std::string(crv) + " curve";
  auto made = PkeyFromParams(bld.get(), ok, "EC", has_private, not_on_curve);
  if (!made.ok()) return std::move(made).failure();
  OpenSslPtr<EVP_PKEY> pkey = std::move(made).value();
  // A reload (kSkip) of a stored key, which passed these checks when it was added,
  // skips them: the public check multiplies the point by the group order, twice the
  // cost of a verification (BM_LoadKeyES256, docs/performance.md). Import alone still
  // refuses a point off the curve, and these curves have cofactor 1.
  if (private_check == PrivateKeyCheck::kFull) {
    OpenSslPtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) return BadKey(not_on_curve);
    if (has_private && EVP_PKEY_pairwise_check(check.get()) != 1) {
      return BadKey("EC private key does not match the public point");
    }
  }
  auto material = KeyMaterial::ForPkey(bound, std::move(pkey));
  if (!material.ok()) return std::move(material).failure();
  return TypedKey{bound, has_private,
                  "{" + Member("crv", crv) + Member("kty", "EC") + Member("x", x_text) +
                      Member("y", y_text, true) + "}",
                  std::move(material).value()};
}

// ---------------------------------------------------------------- OKP

Result<TypedKey> ParseOkp(const JwkReader& jwk, std::optional<Algorithm> alg) {
  std::string_view crv;
  Status status = jwk.RequiredString("crv", &crv);
  if (!status.ok()) return std::move(status).failure();
  const char* type = nullptr;
  std::size_t size = 0;
  if (crv == "Ed25519") {
    type = "ED25519";
    size = 32;
  } else if (crv == "Ed448") {
    type = "ED448";
    size = 57;
  } else if (crv == "X25519" || crv == "X448") {
    return BadKey("OKP curve " + std::string(crv) + " is for key agreement, not signatures");
  } else {
    return BadKey("unsupported OKP curve " + QuoteForDetail(crv));
  }

  std::string_view x_text, d_text;
  std::string x;
  SecretBytes d;
  bool present = false, has_private = false;
  status = jwk.Bytes("x", true, &x_text, &x, &present);
  if (status.ok()) status = jwk.Bytes("d", false, &d_text, d.get(), &has_private);
  if (!status.ok()) return std::move(status).failure();
  if (x.size() != size) {
    return BadKey("OKP \"x\" is " + std::to_string(x.size()) + " bytes; " + std::string(crv) +
                  " needs " + std::to_string(size));
  }
  if (has_private && d.size() != size) {
    return BadKey("OKP \"d\" is " + std::to_string(d.size()) + " bytes; " + std::string(crv) +
                  " needs " + std::to_string(size));
  }
  const Algorithm bound = alg.value_or(Algorithm::kEdDSA);
  if (bound != Algorithm::kEdDSA) return AlgDoesNotFit(bound, "an OKP key");

  const auto* x_bytes = reinterpret_cast<const unsigned char*>(x.data());
  OpenSslPtr<EVP_PKEY> pkey(
      has_private ? EVP_PKEY_new_raw_private_key_ex(nullptr, type, nullptr, d.data(), d.size())
                  : EVP_PKEY_new_raw_public_key_ex(nullptr, type, nullptr, x_bytes, x.size()));
  if (!pkey) return BadKey(std::string(crv) + " is not available in this OpenSSL");
  if (has_private) {
    // OpenSSL derives the public key from d; it must be the one the JWK states.
    unsigned char derived[57];
    std::size_t derived_len = sizeof derived;
    if (EVP_PKEY_get_raw_public_key(pkey.get(), derived, &derived_len) != 1 ||
        derived_len != size || CRYPTO_memcmp(derived, x_bytes, size) != 0) {
      return BadKey("OKP private key does not match \"x\"");
    }
  }
  auto material = KeyMaterial::ForPkey(bound, std::move(pkey));
  if (!material.ok()) return std::move(material).failure();
  return TypedKey{bound, has_private,
                  "{" + Member("crv", crv) + Member("kty", "OKP") + Member("x", x_text, true) + "}",
                  std::move(material).value()};
}

// ---------------------------------------------------------------- common members

Result<Key> ParseJwkObject(simdjson::dom::object object, std::optional<Algorithm> default_alg,
                           PrivateKeyCheck private_check) {
  JwkReader jwk(object);
  std::string_view kty, text;
  bool present = false;
  Status status = jwk.RequiredString("kty", &kty);
  if (!status.ok()) return std::move(status).failure();

  std::optional<Algorithm> alg = default_alg;
  status = jwk.OptionalString("alg", &text, &present);
  if (!status.ok()) return std::move(status).failure();
  if (present) {
    std::optional<Algorithm> named = AlgorithmFromName(text);
    if (!named)
      return BadKey("JWK \"alg\" " + QuoteForDetail(text) + " is not a supported algorithm");
    if (default_alg && *default_alg != *named) {
      return BadKey("JWK \"alg\" is " + std::string(text) + " but " +
                    std::string(AlgorithmName(*default_alg)) + " was given");
    }
    alg = named;
  }

  status = jwk.OptionalString("use", &text, &present);
  if (!status.ok()) return std::move(status).failure();
  if (present && text != "sig") return BadKey("JWK \"use\" is not \"sig\"");

  simdjson::dom::element ops;
  if (object.at_key("key_ops").get(ops) == simdjson::SUCCESS) {
    simdjson::dom::array array;
    if (ops.get(array) != simdjson::SUCCESS) return BadKey("JWK \"key_ops\" is not an array");
    bool usable = false;
    std::vector<std::string_view> seen;
    for (auto item : array) {
      std::string_view op;
      if (item.get(op) != simdjson::SUCCESS) {
        return BadKey("JWK \"key_ops\" holds a value that is not a string");
      }
      for (auto other : seen) {
        if (other == op) return BadKey("JWK \"key_ops\" repeats a value");
      }
      seen.push_back(op);
      if (op == "verify" || op == "sign") usable = true;
    }
    if (!usable) return BadKey("JWK \"key_ops\" allows neither \"verify\" nor \"sign\"");
  }

  std::string_view kid;
  bool has_kid = false;
  status = jwk.OptionalString("kid", &kid, &has_kid);
  if (!status.ok()) return std::move(status).failure();
  if (has_kid && kid.empty()) return BadKey("JWK \"kid\" is empty");

  Result<TypedKey> typed = Fail(ErrorCode::kBadKey, "");
  if (kty == "oct") {
    typed = ParseOct(jwk, alg);
  } else if (kty == "RSA") {
    typed = ParseRsa(jwk, alg, private_check);
  } else if (kty == "EC") {
    typed = ParseEc(jwk, alg, private_check);
  } else if (kty == "OKP") {
    typed = ParseOkp(jwk, alg);
  } else {
    return BadKey("unsupported key type " + QuoteForDetail(kty));
  }
  if (!typed.ok()) return std::move(typed).failure();
  TypedKey& key = typed.value();
  std::string thumbprint = Thumbprint(key.canonical);
  if (thumbprint.empty()) return Fail(ErrorCode::kInternal, "OpenSSL failed: SHA-256");
  std::string id = has_kid ? std::string(kid) : thumbprint;
  return Key(std::move(id), key.alg, key.has_private, std::move(thumbprint),
             std::move(key.material));
}

// JSON problems in a JWK are key errors (SQLSTATE 22023), not token errors.
Failure AsKeyError(Failure failure) {
  failure.code = ErrorCode::kBadKey;
  return failure;
}

}  // namespace

Result<Key> ParseJwk(std::string_view json, std::optional<Algorithm> default_alg,
                     PrivateKeyCheck private_check) {
  auto object = json::ParseObject(json::ThreadParser(), json, false, "JWK");
  if (!object.ok()) return AsKeyError(std::move(object).failure());
  return ParseJwkObject(object.value(), default_alg, private_check);
}

Result<std::vector<Key>> ParseJwkSet(std::string_view json) {
  auto object = json::ParseObject(json::ThreadParser(), json, false, "JWK Set");
  if (!object.ok()) return AsKeyError(std::move(object).failure());
  simdjson::dom::array array;
  if (object.value().at_key("keys").get(array) != simdjson::SUCCESS) {
    return BadKey("not a JWK Set: it needs a \"keys\" array");
  }
  std::vector<Key> keys;
  keys.reserve(array.size());
  std::size_t index = 0;
  for (auto item : array) {
    const std::string where = "JWK Set key at index " + std::to_string(index);
    simdjson::dom::object jwk;
    if (item.get(jwk) != simdjson::SUCCESS) return BadKey(where + " is not a JSON object");
    auto key = ParseJwkObject(jwk, std::nullopt, PrivateKeyCheck::kFull);
    if (!key.ok()) {
      Failure failure = std::move(key).failure();
      failure.detail = where + ": " + failure.detail;
      return failure;
    }
    // Ambiguity is refused: one kid must name one key, and a set is either all
    // public keys (a published JWKS) or all secrets and private keys.
    for (std::size_t j = 0; j < keys.size(); ++j) {
      if (keys[j].kid() == key.value().kid()) {
        return BadKey(where + " repeats the kid of the key at index " + std::to_string(j));
      }
    }
    if (!keys.empty() && keys.front().can_sign() != key.value().can_sign()) {
      return BadKey(where + ": a JWK Set must not mix public keys with private or secret ones");
    }
    keys.push_back(std::move(key).value());
    ++index;
  }
  return keys;
}

}  // namespace rowguard::core
