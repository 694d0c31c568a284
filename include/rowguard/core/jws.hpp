// Compact JWS (RFC 7515 section 7.1) split and decoded, with the header rules applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rowguard/core/algorithm.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/result.hpp"

namespace rowguard::core {

struct JwsHeader {
  Algorithm alg;
  bool has_kid = false;
  std::string kid;
};

struct CompactJws {
  JwsHeader header;
  std::string_view signing_input;  // "header.payload" inside the caller's token
  std::string payload_json;        // decoded payload bytes (not yet parsed)
  std::string signature;           // decoded signature bytes
};

// Strips an optional leading "Bearer " (exactly that, one space).
std::string_view StripBearer(std::string_view token) noexcept;

// Splits and decodes a compact JWS: size cap first, exactly three segments, strict
// base64url, header a strict JSON object with a supported "alg" (never "none"), no
// "crit", no "b64", "typ" absent/JWT/at+jwt, no "cty" JWT, "kid" a string. "jwk", "jku",
// "x5u" and "x5c" are ignored. `token` must outlive the result (signing_input views it).
Result<CompactJws> ParseCompact(std::string_view token, std::size_t max_bytes);

// ParseCompact into *out, reusing its buffers (the hot path keeps one per thread). On
// failure *out holds what was read so far (header.kid when the header got that far).
Status ParseCompactInto(std::string_view token, std::size_t max_bytes, CompactJws* out);

// The header alone (size cap, header segment, header rules), so a caller can find the
// key a token names before verifying it. Nothing is verified; ParseCompact still
// applies every rule to the whole token.
Status PeekHeader(std::string_view token, std::size_t max_bytes, JwsHeader* out);

// A token split and decoded once, with the verdict of ParseCompactInto: the one form
// that travels from the kid lookup through verification and the claims to the note of
// an unknown key (docs/design.md, "The path a token takes"). Not copyable: jws views text.
struct ParsedToken {
  std::string text;  // the token, "Bearer " stripped (empty when over max_bytes)
  std::size_t max_bytes = 0;
  bool valid = false;  // text, max_bytes, status and jws belong together
  Status status = Ok{};
  CompactJws jws;
  std::uint64_t parses = 0;  // tokens this object decoded (a repeat decodes nothing)

  ParsedToken() = default;
  ParsedToken(const ParsedToken&) = delete;
  ParsedToken& operator=(const ParsedToken&) = delete;
};

// `token` ("Bearer " stripped) parsed into *out with ParseCompactInto, unless *out
// already holds that very token text parsed under the same max_bytes: then nothing is
// decoded again. Returns *out.
const ParsedToken& ParseTokenInto(std::string_view token, std::size_t max_bytes, ParsedToken* out);

// ParseTokenInto the thread's one ParsedToken: the kid lookup before the key is loaded,
// TrustStore::VerifyInto and the failure note of a verification share one parse.
const ParsedToken& ParseTokenOnce(std::string_view token, std::size_t max_bytes);

// Builds header {"alg","typ":"JWT","kid"} and signs: returns the compact token.
// `claims_json` must be a JSON object (checked strictly).
Result<std::string> SignCompact(const Key& key, std::string_view claims_json);

}  // namespace rowguard::core
