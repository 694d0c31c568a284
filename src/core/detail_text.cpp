#include <algorithm>
#include <ctime>
#include <limits>

#include "rowguard/core/quote.hpp"
#include "token_internal.hpp"

namespace rowguard::core {

std::string EscapeForDetail(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const std::size_t shown = std::min(text.size(), kMaxQuotedBytes);
  out.reserve(shown + 3);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string QuoteForDetail(std::string_view text) {
  std::string out = "\"" + EscapeForDetail(text) + "\"";
  if (text.size() > kMaxQuotedBytes) out += "...";
  return out;
}

namespace internal {

std::string FormatUtc(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char buffer[64];
  if (static_cast<std::int64_t>(t) == seconds && gmtime_r(&t, &tm) != nullptr &&
      std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S+00", &tm) > 0) {
    return buffer;
  }
  return std::to_string(seconds) + " (seconds since 1970)";
}

std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}

std::int64_t SaturatingSub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t difference;
  if (!__builtin_sub_overflow(a, b, &difference)) return difference;
  return b < 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}

}  // namespace internal
}  // namespace rowguard::core
