// Hand-rolled on purpose: OpenSSL's EVP_DecodeBlock/EVP_DecodeUpdate speak padded
// standard base64 and skip whitespace, and JWS needs the opposite: the URL alphabet,
// no padding, nothing skipped, and one canonical encoding per byte string.
#include "rowguard/core/base64url.hpp"

#include <array>
#include <cstdint>

namespace rowguard::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> MakeDecodeTable() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

bool DecodeBase64UrlInto(std::string_view text, std::string* out) {
  const std::size_t n = text.size();
  if (n % 4 == 1) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t start = out->size();
  out->resize(start + n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1));
  char* dst = out->data() + start;

  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const std::uint32_t a = kDecode[in[i]], b = kDecode[in[i + 1]], c = kDecode[in[i + 2]],
                        d = kDecode[in[i + 3]];
    if ((a | b | c | d) == kInvalid || ((a | b | c | d) & 0xc0)) return false;
    const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
    *dst++ = static_cast<char>(v >> 16);
    *dst++ = static_cast<char>(v >> 8);
    *dst++ = static_cast<char>(v);
  }
  const std::size_t rest = n - i;
  if (rest >= 2) {
    const std::uint32_t a = kDecode[in[i]], b = kDecode[in[i + 1]];
    const std::uint32_t c = rest == 3 ? kDecode[in[i + 2]] : 0;
    if ((a | b | c) & 0xc0) return false;
    // Canonical form: the bits past the last whole byte must be zero.
    if (rest == 2 && (b & 0x0f)) return false;
    if (rest == 3 && (c & 0x03)) return false;
    const std::uint32_t v = a << 18 | b << 12 | c << 6;
    *dst++ = static_cast<char>(v >> 16);
    if (rest == 3) *dst++ = static_cast<char>(v >> 8);
  }
  return true;
}

std::optional<std::string> DecodeBase64Url(std::string_view text) {
  std::string out;
  if (!DecodeBase64UrlInto(text, &out)) return std::nullopt;
  return out;
}

std::string EncodeBase64Url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const std::uint32_t v = in[i] << 16 | (rest == 2 ? in[i + 1] << 8 : 0);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    if (rest == 2) out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

}  // namespace rowguard::core
