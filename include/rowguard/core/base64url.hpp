#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rowguard::core {

// RFC 4648 section 5 without padding, decoded strictly: only [A-Za-z0-9_-], no '=',
// no whitespace, a length that is not 1 mod 4, and unused trailing bits zero, so every
// byte string has exactly one accepted encoding. Returns nullopt on any violation.
std::optional<std::string> DecodeBase64Url(std::string_view text);

// Appends the decoding to *out (reusing its capacity); false on any violation.
bool DecodeBase64UrlInto(std::string_view text, std::string* out);

std::string EncodeBase64Url(std::string_view bytes);

}  // namespace rowguard::core
