#include "rowguard/core/key.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>  // ECDSA_SIG
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <cstring>
#include <utility>

#include "key_material.hpp"

namespace rowguard::core {
namespace {

// Drops whatever OpenSSL queued so that no later caller sees a stale error.
Failure OpenSslFailure(const char* what) {
  ERR_clear_error();
  return Fail(ErrorCode::kInternal, std::string("OpenSSL failed: ") + what);
}

Failure BadSignature() {
  ERR_clear_error();
  return Fail(ErrorCode::kBadSignature, "signature does not match");
}

bool IsZero(const unsigned char* bytes, std::size_t n) {
  unsigned char acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc |= bytes[i];
  return acc == 0;
}

// Appends one DER INTEGER holding the unsigned big-endian `bytes` (not all zero).
std::size_t PutDerInteger(const unsigned char* bytes, std::size_t n, unsigned char* out) {
  while (n > 1 && bytes[0] == 0) {
    ++bytes;
    --n;
  }
  const bool pad = (bytes[0] & 0x80) != 0;
  std::size_t pos = 0;
  out[pos++] = 0x02;
  out[pos++] = static_cast<unsigned char>(n + (pad ? 1 : 0));
  if (pad) out[pos++] = 0x00;
  std::memcpy(out + pos, bytes, n);
  return pos + n;
}

// Raw r||s (both already range-checked) to the DER SEQUENCE OpenSSL verifies; written
// by hand because it is a few bytes and saves three allocations per verification.
std::size_t EcdsaRawToDer(const unsigned char* raw, std::size_t field, unsigned char* out) {
  unsigned char body[2 * (66 + 3)];
  std::size_t body_len = PutDerInteger(raw, field, body);
  body_len += PutDerInteger(raw + field, field, body + body_len);
  std::size_t pos = 0;
  out[pos++] = 0x30;
  if (body_len >= 0x80) out[pos++] = 0x81;
  out[pos++] = static_cast<unsigned char>(body_len);
  std::memcpy(out + pos, body, body_len);
  return pos + body_len;
}

}  // namespace

std::optional<std::string_view> EcGroupOrder(std::string_view group_name) {
  static constexpr unsigned char kP256[] = {
      0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
      0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
  static constexpr unsigned char kP384[] = {
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
      0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73};
  static constexpr unsigned char kP521[] = {
      0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
      0xFF, 0xFA, 0x51, 0x86, 0x87, 0x83, 0xBF, 0x2F, 0x96, 0x6B, 0x7F, 0xCC, 0x01, 0x48, 0xF7, 0x09,
      0xA5, 0xD0, 0x3B, 0xB5, 0xC9, 0xB8, 0x89, 0x9C, 0x47, 0xAE, 0xBB, 0x6F, 0xB7, 0x1E, 0x91, 0x38,
      0x64, 0x09};
  auto view = [](const unsigned char* p, std::size_t n) {
    return std::string_view(reinterpret_cast<const char*>(p), n);
  };
  if (group_name == "prime256v1") return view(kP256, sizeof kP256);
  if (group_name == "secp384r1") return view(kP384, sizeof kP384);
  if (group_name == "secp521r1") return view(kP521, sizeof kP521);
  return std::nullopt;
}

// ---------------------------------------------------------------- KeyMaterial

Result<std::unique_ptr<KeyMaterial>> KeyMaterial::ForHmac(Algorithm alg, std::string_view secret) {
  std::unique_ptr<KeyMaterial> m(new KeyMaterial());
  m->kind_ = Kind::kHmac;
  m->alg_ = alg;
  OpenSslPtr<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return OpenSslFailure("HMAC unavailable");
  m->mac_ctx_.reset(EVP_MAC_CTX_new(mac.get()));
  if (!m->mac_ctx_) return OpenSslFailure("EVP_MAC_CTX_new");
  char digest[16];
  std::strncpy(digest, DigestName(alg), sizeof digest - 1);
  digest[sizeof digest - 1] = '\0';
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(m->mac_ctx_.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                   secret.size(), params) != 1) {
    return OpenSslFailure("EVP_MAC_init");
  }
  m->signature_size_ = EVP_MAC_CTX_get_mac_size(m->mac_ctx_.get());
  return m;
}

Result<std::unique_ptr<KeyMaterial>> KeyMaterial::ForPkey(Algorithm alg,
                                                          OpenSslPtr<EVP_PKEY> pkey) {
  std::unique_ptr<KeyMaterial> m(new KeyMaterial());
  m->alg_ = alg;
  m->pkey_ = std::move(pkey);
  m->md_ctx_.reset(EVP_MD_CTX_new());
  if (!m->md_ctx_) return OpenSslFailure("EVP_MD_CTX_new");
  m->kind_ = FamilyOf(alg);
  if (m->kind_ == Kind::kHmac) {
    return Fail(ErrorCode::kInternal, "an HMAC algorithm given an asymmetric key");
  }

  if (m->kind_ == Kind::kEdDSA) {
    // Ed25519 and Ed448 signatures are twice the public key size.
    std::size_t pub_len = 0;
    if (EVP_PKEY_get_raw_public_key(m->pkey_.get(), nullptr, &pub_len) != 1) {
      return OpenSslFailure("EVP_PKEY_get_raw_public_key");
    }
    m->signature_size_ = 2 * pub_len;
    return m;
  }

  m->md_.reset(EVP_MD_fetch(nullptr, DigestName(alg), nullptr));
  if (!m->md_) return OpenSslFailure("EVP_MD_fetch");
  m->verify_ctx_.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, m->pkey_.get(), nullptr));
  if (!m->verify_ctx_) return OpenSslFailure("EVP_PKEY_CTX_new_from_pkey");
  EVP_PKEY_CTX* ctx = m->verify_ctx_.get();
  if (EVP_PKEY_verify_init(ctx) != 1) return OpenSslFailure("EVP_PKEY_verify_init");
  if (EVP_PKEY_CTX_set_signature_md(ctx, m->md_.get()) != 1) {
    return OpenSslFailure("EVP_PKEY_CTX_set_signature_md");
  }

  if (m->kind_ == Kind::kEcdsa) {
    const int bits = EVP_PKEY_get_bits(m->pkey_.get());
    m->field_size_ = static_cast<std::size_t>((bits + 7) / 8);
    if (m->field_size_ == 0 || m->field_size_ > sizeof m->order_) {
      return Fail(ErrorCode::kInternal, "unexpected EC field size");
    }
    m->signature_size_ = 2 * m->field_size_;
    char group_name[64];
    if (EVP_PKEY_get_utf8_string_param(m->pkey_.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name,
                                       sizeof group_name, nullptr) != 1) {
      return OpenSslFailure("EC group name");
    }
    const std::optional<std::string_view> order = EcGroupOrder(group_name);
    if (!order || order->size() != m->field_size_) {
      return Fail(ErrorCode::kInternal, "unexpected EC group");
    }
    std::memcpy(m->order_, order->data(), order->size());
    return m;
  }

  // RSA: every signature is exactly the modulus length.
  m->signature_size_ = static_cast<std::size_t>(EVP_PKEY_get_size(m->pkey_.get()));
  if (m->kind_ == Kind::kRsaPss) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, m->md_.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return OpenSslFailure("RSA-PSS parameters");
    }
  } else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
    return OpenSslFailure("RSA padding");
  }
  return m;
}

bool KeyMaterial::Digest(std::string_view input, unsigned char* out, unsigned int* out_len) {
  EVP_MD_CTX* ctx = md_ctx_.get();
  return EVP_DigestInit_ex2(ctx, md_.get(), nullptr) == 1 &&
         EVP_DigestUpdate(ctx, input.data(), input.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out, out_len) == 1;
}

Status KeyMaterial::Verify(std::string_view input, std::string_view signature) {
  if (signature.size() != signature_size_) {
    return Fail(ErrorCode::kBadSignature, "signature has the wrong length");
  }
  switch (kind_) {
    case Kind::kHmac:
      return VerifyHmac(input, signature);
    case Kind::kEcdsa:
      return VerifyEcdsa(input, signature);
    case Kind::kEdDSA:
      return VerifyEdDsa(input, signature);
    case Kind::kRsaPkcs1:
    case Kind::kRsaPss:
      return VerifyDigested(input, reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size());
  }
  return Fail(ErrorCode::kInternal, "unknown key kind");
}

Status KeyMaterial::VerifyHmac(std::string_view input, std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  EVP_MAC_CTX* ctx = mac_ctx_.get();
  // A null key re-initialises with the key already set (OpenSSL keeps its pads).
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
          1 ||
      EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) != 1) {
    return OpenSslFailure("HMAC");
  }
  const bool match =
      mac_len == signature.size() && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
  OPENSSL_cleanse(mac, sizeof mac);
  if (!match) return BadSignature();
  return Ok{};
}

Status KeyMaterial::VerifyEcdsa(std::string_view input, std::string_view signature) {
  const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
  const std::size_t n = field_size_;
  // r and s must lie in [1, order-1]; same-length big-endian compares like numbers.
  for (const unsigned char* part : {raw, raw + n}) {
    if (IsZero(part, n) || std::memcmp(part, order_, n) >= 0) {
      return Fail(ErrorCode::kBadSignature, "ECDSA signature value out of range");
    }
  }
  unsigned char der[2 * (66 + 3) + 3];
  const std::size_t der_len = EcdsaRawToDer(raw, n, der);
  return VerifyDigested(input, der, der_len);
}

Status KeyMaterial::VerifyDigested(std::string_view input, const unsigned char* sig,
                                   std::size_t sig_len) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (!Digest(input, digest, &digest_len)) return OpenSslFailure("digest");
  // 1 is a match; 0 and negative values are every kind of mismatch or malformation.
  if (EVP_PKEY_verify(verify_ctx_.get(), sig, sig_len, digest, digest_len) != 1) {
    return BadSignature();
  }
  return Ok{};
}

Status KeyMaterial::VerifyEdDsa(std::string_view input, std::string_view signature) {
  EVP_MD_CTX* ctx = md_ctx_.get();
  EVP_MD_CTX_reset(ctx);
  if (EVP_DigestVerifyInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, pkey_.get(), nullptr) != 1) {
    return OpenSslFailure("EVP_DigestVerifyInit_ex");
  }
  if (EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
    return BadSignature();
  }
  return Ok{};
}

Result<std::string> KeyMaterial::Sign(std::string_view input) {
  if (kind_ == Kind::kHmac) return SignHmac(input);
  return SignAsymmetric(input);
}

Result<std::string> KeyMaterial::SignHmac(std::string_view input) {
  std::string mac(signature_size_, '\0');
  std::size_t mac_len = 0;
  EVP_MAC_CTX* ctx = mac_ctx_.get();
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
          1 ||
      EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(mac.data()), &mac_len, mac.size()) != 1 ||
      mac_len != mac.size()) {
    return OpenSslFailure("HMAC");
  }
  return mac;
}

Result<std::string> KeyMaterial::SignAsymmetric(std::string_view input) {
  // Signing is rare (service tokens, tests): a fresh context keeps Verify's state intact.
  OpenSslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslFailure("EVP_MD_CTX_new");
  EVP_PKEY_CTX* pctx = nullptr;
  const char* md_name = kind_ == Kind::kEdDSA ? nullptr : DigestName(alg_);
  if (EVP_DigestSignInit_ex(ctx.get(), &pctx, md_name, nullptr, nullptr, pkey_.get(), nullptr) !=
      1) {
    return OpenSslFailure("EVP_DigestSignInit_ex");
  }
  if (kind_ == Kind::kRsaPss &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_.get()) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return OpenSslFailure("RSA-PSS parameters");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t sig_len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &sig_len, data, input.size()) != 1) {
    return OpenSslFailure("EVP_DigestSign");
  }
  std::string sig(sig_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, data,
                     input.size()) != 1) {
    return OpenSslFailure("EVP_DigestSign");
  }
  sig.resize(sig_len);
  if (kind_ != Kind::kEcdsa) return sig;

  // OpenSSL signs ECDSA in DER; JWS wants fixed-size r||s (RFC 7518 section 3.4).
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> parsed(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())), &ECDSA_SIG_free);
  if (!parsed) return OpenSslFailure("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  std::string raw(2 * field_size_, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const int n = static_cast<int>(field_size_);
  if (BN_bn2binpad(r, out, n) != n || BN_bn2binpad(s, out + n, n) != n) {
    return OpenSslFailure("BN_bn2binpad");
  }
  return raw;
}

// ---------------------------------------------------------------- Key

Key::Key(std::string kid, Algorithm alg, bool has_private, std::string thumbprint,
         std::unique_ptr<KeyMaterial> material)
    : kid_(std::move(kid)),
      alg_(alg),
      has_private_(has_private),
      thumbprint_(std::move(thumbprint)),
      material_(std::move(material)) {}
Key::~Key() = default;
Key::Key(Key&&) noexcept = default;
Key& Key::operator=(Key&&) noexcept = default;

Status Key::Verify(std::string_view signing_input, std::string_view signature) const {
  if (!material_) return Fail(ErrorCode::kInternal, "key has no material");
  return material_->Verify(signing_input, signature);
}

Result<std::string> Key::Sign(std::string_view signing_input) const {
  if (!has_private_) {
    return Fail(ErrorCode::kBadKey, "key has no private part; it can only verify");
  }
  if (!material_) return Fail(ErrorCode::kInternal, "key has no material");
  return material_->Sign(signing_input);
}

}  // namespace rowguard::core
