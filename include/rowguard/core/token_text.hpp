// Finding bearer tokens inside free text (a statement, a log line) so they can be
// masked before anyone else reads the text. See docs/security-model.md, "Where a token
// can be seen".
#pragma once

#include <cstddef>

namespace rowguard::core {

// A run is JWS-shaped when it is three base64url segments joined by two dots, the
// first starting with "ey" or "ew" (the base64url of a JSON object's opening brace
// followed by a quote, a space or a line break) and at least 12 characters long, the
// second at least 2, the third possibly empty; a run must not continue a longer
// identifier (the character before it is not base64url or a dot).
//
// Returns the offset of the first JWS-shaped run at or after `from` in text[0, length)
// and its length in *run_length, or `length` when there is none. Allocation-free and
// noexcept, so the glue may call it anywhere, including inside emit_log_hook.
std::size_t FindTokenRun(const char* text, std::size_t length, std::size_t from,
                         std::size_t* run_length) noexcept;

// Overwrites every JWS-shaped run in text[0, length) with a marker of the same length
// ("[redacted]" followed by '*'s, or only '*'s when the run is shorter), so byte
// offsets into the text (error positions, statement locations) stay valid. Returns the
// number of runs masked.
std::size_t MaskTokensInPlace(char* text, std::size_t length) noexcept;

// True when text[0, length) holds a JWS-shaped run.
bool HasTokenRun(const char* text, std::size_t length) noexcept;

}  // namespace rowguard::core
