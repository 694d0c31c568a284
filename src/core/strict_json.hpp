// Internal to the core: simdjson with the rules every JSON input of rowguard obeys.
// simdjson validates UTF-8 (including surrogates in escapes) and numbers; it accepts
// duplicate member names, which JOSE forbids (RFC 7515 section 5.2), so a walk over the
// parsed document rejects them, caps the depth and rejects NUL inside strings (a
// classic truncation trick against C consumers).
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "rowguard/core/result.hpp"

namespace rowguard::core::json {

inline constexpr std::size_t kMaxDepth = 32;

// One parser per thread, reused so that parsing allocates nothing after warm-up.
simdjson::dom::parser& ThreadParser();

// Reserves the padding simdjson reads past the end, so ParseObject need not copy.
void ReservePadding(std::string* buffer, std::size_t size);

// Parses `text` strictly as a JSON object. The element lives until the next parse on
// `parser`. `padded` says that SIMDJSON_PADDING bytes after the text are readable.
// Failure code: kMalformedJson, with a detail naming `what` ("header", "payload", "JWK").
Result<simdjson::dom::object> ParseObject(simdjson::dom::parser& parser, std::string_view text,
                                          bool padded, const char* what);

}  // namespace rowguard::core::json
