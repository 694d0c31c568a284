// Hand-rolled on purpose: OpenSSL's EVP_DecodeBlock/EVP_DecodeUpdate speak padded
// standard base64 and skip whitespace, and JWS needs the opposite: the URL alphabet,
// no padding, nothing skipped, and one canonical encoding per byte string.
#include "rowguard/core/base64url.hpp"

#include <array>
#include <cstdint>

namespace rowguard::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// One table per position in a 4-character group, each holding the 6-bit value already
// shifted into place, so a group decodes with four loads and three ORs. Bytes outside
// the alphabet carry kBad, which survives the ORs and is tested once per group.
constexpr std::uint32_t kBad = 0x80000000u;

constexpr std::array<std::uint32_t, 256> MakeTable(int shift) {
  std::array<std::uint32_t, 256> table{};
  for (auto& entry : table) entry = kBad;
  for (std::uint32_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = i << shift;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kAt18 = MakeTable(18);
constexpr std::array<std::uint32_t, 256> kAt12 = MakeTable(12);
constexpr std::array<std::uint32_t, 256> kAt6 = MakeTable(6);
constexpr std::array<std::uint32_t, 256> kAt0 = MakeTable(0);

}  // namespace

bool DecodeBase64UrlInto(std::string_view text, std::string* out) {
  const std::size_t n = text.size();
  if (n % 4 == 1) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t start = out->size();
  out->resize(start + n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1));
  auto* dst = reinterpret_cast<unsigned char*>(out->data() + start);

  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const std::uint32_t v = kAt18[in[i]] | kAt12[in[i + 1]] | kAt6[in[i + 2]] | kAt0[in[i + 3]];
    if (v & kBad) return false;
    dst[0] = static_cast<unsigned char>(v >> 16);
    dst[1] = static_cast<unsigned char>(v >> 8);
    dst[2] = static_cast<unsigned char>(v);
    dst += 3;
  }
  const std::size_t rest = n - i;
  if (rest >= 2) {
    const std::uint32_t v = kAt18[in[i]] | kAt12[in[i + 1]] | (rest == 3 ? kAt6[in[i + 2]] : 0);
    if (v & kBad) return false;
    // Canonical form: the bits past the last whole byte must be zero.
    if (rest == 2 && (v & 0xffff)) return false;
    if (rest == 3 && (v & 0xff)) return false;
    *dst++ = static_cast<unsigned char>(v >> 16);
    if (rest == 3) *dst = static_cast<unsigned char>(v >> 8);
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
