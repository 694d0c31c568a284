// The one rule for showing untrusted text (a kid, an issuer, a claim) in an error detail
// or a log line: it cannot break out of its quotes, forge a line, or grow without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rowguard::core {

// `text` in double quotes: printable ASCII kept, everything else (and '"', '\\')
// escaped as \xNN, cut after kMaxQuotedBytes bytes with "...". Never used on a token.
std::string QuoteForDetail(std::string_view text);
// The same rule without the quotes and the "..." mark (for values shown in their own
// column, e.g. rowguard.sessions).
std::string EscapeForDetail(std::string_view text);

constexpr std::size_t kMaxQuotedBytes = 64;
// The longest result of QuoteForDetail: every byte escaped, quotes and "...".
constexpr std::size_t kMaxQuotedLength = 4 * kMaxQuotedBytes + 2 + 3;

}  // namespace rowguard::core
