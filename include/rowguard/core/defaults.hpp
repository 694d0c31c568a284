// The built-in defaults of verification, in one place: the core's option structs and
// the glue's settings (rowguard.leeway, rowguard.max_token_bytes) both start from them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rowguard::core {

// Clock skew allowed on exp, nbf and iat, in seconds.
constexpr std::int64_t kDefaultLeewaySeconds = 30;
// Longest token accepted, in bytes; longer ones are refused before any parsing.
constexpr std::size_t kDefaultMaxTokenBytes = 16384;

}  // namespace rowguard::core
