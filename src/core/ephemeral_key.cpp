#include "rowguard/core/ephemeral_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <string_view>
#include <utility>

#include "key_material.hpp"
#include "rowguard/core/base64url.hpp"

namespace rowguard::core {
namespace {

constexpr std::size_t kEd25519Bytes = 32;
constexpr std::size_t kKidRandomBytes = 16;

// A string whose bytes are wiped when it goes away (it holds the private key's JWK).
struct WipedString {
  std::string text;
  ~WipedString() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

}  // namespace

Result<EphemeralKey> MakeEphemeralKey(const std::string& kid_prefix) {
  unsigned char random_kid[kKidRandomBytes];
  if (RAND_bytes(random_kid, sizeof(random_kid)) != 1) {
    return Fail(ErrorCode::kInternal, "the random number generator failed");
  }
  const std::string kid =
      kid_prefix +
      EncodeBase64Url(std::string_view(reinterpret_cast<char*>(random_kid), sizeof(random_kid)));

  OpenSslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Fail(ErrorCode::kInternal, "could not generate an Ed25519 key");
  }
  OpenSslPtr<EVP_PKEY> pkey(raw);

  unsigned char public_bytes[kEd25519Bytes];
  unsigned char private_bytes[kEd25519Bytes];
  std::size_t public_length = sizeof(public_bytes), private_length = sizeof(private_bytes);
  const bool extracted =
      EVP_PKEY_get_raw_public_key(pkey.get(), public_bytes, &public_length) == 1 &&
      EVP_PKEY_get_raw_private_key(pkey.get(), private_bytes, &private_length) == 1 &&
      public_length == kEd25519Bytes && private_length == kEd25519Bytes;
  if (!extracted) {
    OPENSSL_cleanse(private_bytes, sizeof(private_bytes));
    return Fail(ErrorCode::kInternal, "could not read the generated Ed25519 key");
  }
  const std::string x =
      EncodeBase64Url(std::string_view(reinterpret_cast<char*>(public_bytes), kEd25519Bytes));
  WipedString d{
      EncodeBase64Url(std::string_view(reinterpret_cast<char*>(private_bytes), kEd25519Bytes))};
  OPENSSL_cleanse(private_bytes, sizeof(private_bytes));

  // kid and x are base64url (plus the caller's prefix, which must need no JSON escaping).
  std::string public_jwk =
      R"({"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":")" + kid + R"(","x":")" + x + "\"}";
  WipedString private_jwk{public_jwk.substr(0, public_jwk.size() - 1) + R"(,"d":")" + d.text +
                          "\"}"};
  auto signing = ParseJwk(private_jwk.text, Algorithm::kEdDSA, PrivateKeyCheck::kFull);
  if (!signing.ok()) return std::move(signing).failure();
  return EphemeralKey{std::move(signing).value(), std::move(public_jwk)};
}

}  // namespace rowguard::core
