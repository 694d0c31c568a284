#include "rowguard/core/jws.hpp"

#include "rowguard/core/base64url.hpp"
#include "strict_json.hpp"
#include "token_internal.hpp"

namespace rowguard::core {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 7515 section 4.1.9: media types compare case-insensitively, and "application/"
// may be left out. So "JWT", "jwt", "application/jwt" are one type.
bool IsMediaType(std::string_view value, std::string_view subtype) noexcept {
  constexpr std::string_view kPrefix = "application/";
  if (value.size() > kPrefix.size() && EqualsIgnoreCase(value.substr(0, kPrefix.size()), kPrefix)) {
    value.remove_prefix(kPrefix.size());
  }
  return EqualsIgnoreCase(value, subtype);
}

Failure HeaderMemberNotString(const char* name) {
  return Fail(ErrorCode::kBadHeader, std::string("header \"") + name + "\" is not a string");
}

// The header rules, in a fixed order so that a header with several problems always
// gets the same code. kid is stored before any rule fails, for log lines.
Status ParseHeader(std::string_view header_json, bool padded, JwsHeader* out) {
  auto parsed = json::ParseObject(json::ThreadParser(), header_json, padded, "header");
  if (!parsed.ok()) return std::move(parsed).failure();
  // The header's JSON text must begin with the object's brace: no leading whitespace.
  // JSON allows it, but then the first segment would not begin with "ey" or "ew", and
  // that is how the statement and log masking (token_text.hpp) recognises a token. With
  // this rule, every token that verifies is one the masker finds: '{' followed by
  // whitespace or '"' (the only bytes that may follow it in an object with members)
  // encodes to "ey" or "ew".
  if (header_json.front() != '{') {
    return Fail(ErrorCode::kMalformedJson, "header does not begin with \"{\"");
  }

  simdjson::dom::element alg, typ, cty;
  bool has_alg = false, has_typ = false, has_cty = false, has_crit = false, has_b64 = false;
  const char* offered_key = nullptr;
  for (auto field : parsed.value()) {
    const std::string_view name = field.key;
    if (name == "alg") {
      alg = field.value;
      has_alg = true;
    } else if (name == "kid") {
      std::string_view kid;
      if (field.value.get_string().get(kid) != simdjson::SUCCESS) {
        return HeaderMemberNotString("kid");
      }
      out->kid.assign(kid.data(), kid.size());
      out->has_kid = true;
    } else if (name == "typ") {
      typ = field.value;
      has_typ = true;
    } else if (name == "cty") {
      cty = field.value;
      has_cty = true;
    } else if (name == "crit") {
      has_crit = true;
    } else if (name == "b64") {
      has_b64 = true;
    } else if (name == "jwk" || name == "jku" || name == "x5u" || name == "x5c") {
      // Keys offered by the token are never used; a token that offers one is refused
      // (docs/functions.md lists it among the rejection reasons), so no caller can be misled into
      // trusting what it names.
      offered_key = name == "jwk" ? "jwk" : name == "jku" ? "jku" : name == "x5u" ? "x5u" : "x5c";
    }
  }

  if (!has_alg) return Fail(ErrorCode::kBadHeader, "header has no \"alg\"");
  std::string_view alg_name;
  if (alg.get_string().get(alg_name) != simdjson::SUCCESS) return HeaderMemberNotString("alg");
  if (EqualsIgnoreCase(alg_name, "none")) {
    return Fail(ErrorCode::kUnsupportedAlgorithm, "algorithm \"none\" is not accepted");
  }
  const std::optional<Algorithm> algorithm = AlgorithmFromName(alg_name);
  if (!algorithm) {
    return Fail(ErrorCode::kUnsupportedAlgorithm,
                "unsupported algorithm " + internal::QuoteForDetail(alg_name));
  }
  out->alg = *algorithm;

  if (has_crit) {
    return Fail(ErrorCode::kBadHeader, "header has \"crit\", and no extension is understood");
  }
  if (has_b64) {
    return Fail(ErrorCode::kBadHeader, "header has \"b64\"; unencoded payloads are not accepted");
  }
  if (offered_key != nullptr) {
    return Fail(ErrorCode::kBadHeader, std::string("header offers a key (\"") + offered_key +
                                           "\"); keys are never taken from tokens");
  }
  if (has_typ) {
    std::string_view value;
    if (typ.get_string().get(value) != simdjson::SUCCESS) return HeaderMemberNotString("typ");
    if (!IsMediaType(value, "jwt") && !IsMediaType(value, "at+jwt")) {
      return Fail(ErrorCode::kBadHeader,
                  "header \"typ\" " + internal::QuoteForDetail(value) + " is not JWT or at+jwt");
    }
  }
  if (has_cty) {
    std::string_view value;
    if (cty.get_string().get(value) != simdjson::SUCCESS) return HeaderMemberNotString("cty");
    if (IsMediaType(value, "jwt")) {
      return Fail(ErrorCode::kBadHeader, "nested tokens (header \"cty\" JWT) are not accepted");
    }
  }
  return Ok{};
}

Failure MalformedSegment(const char* segment) {
  return Fail(ErrorCode::kMalformedToken,
              std::string(segment) + " segment is not canonical unpadded base64url");
}

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += ch;
    } else if (c < 0x20) {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    } else {
      *out += ch;
    }
  }
  *out += '"';
}

}  // namespace

std::string_view StripBearer(std::string_view token) noexcept {
  constexpr std::string_view kPrefix = "Bearer ";
  if (token.substr(0, kPrefix.size()) == kPrefix) token.remove_prefix(kPrefix.size());
  return token;
}

namespace {

// Tokens of one issuer and key share their header byte for byte, so the last header
// that passed every rule is remembered per thread: the same segment text decodes to
// the same bytes and gets the same verdict. Failures are never remembered.
struct HeaderMemo {
  std::string text;
  JwsHeader header;
  std::string json;  // reused: no allocation after warm-up
};
thread_local HeaderMemo header_memo;

}  // namespace

Status PeekHeader(std::string_view token, std::size_t max_bytes, JwsHeader* out) {
  out->has_kid = false;
  out->kid.clear();
  if (token.size() > max_bytes) {
    return Fail(ErrorCode::kTokenTooLarge, "token is over the size limit");
  }
  const std::string_view header_text = token.substr(0, token.find('.'));
  if (header_text.size() == token.size() || header_text.empty()) {
    return Fail(ErrorCode::kMalformedToken, "token has no header segment");
  }
  if (!header_memo.text.empty() && header_text == header_memo.text) {
    *out = header_memo.header;
    return Ok{};
  }
  // Not remembered: ParseCompactInto remembers the header once the whole token parsed.
  std::string json;
  json::ReservePadding(&json, header_text.size());
  if (!DecodeBase64UrlInto(header_text, &json)) return MalformedSegment("header");
  return ParseHeader(json, true, out);
}

Status ParseCompactInto(std::string_view token, std::size_t max_bytes, CompactJws* out) {
  out->header.has_kid = false;
  out->header.kid.clear();
  out->signing_input = {};
  out->payload_json.clear();
  out->signature.clear();

  if (token.size() > max_bytes) {
    return Fail(ErrorCode::kTokenTooLarge, "token is " + std::to_string(token.size()) +
                                               " bytes, over the limit of " +
                                               std::to_string(max_bytes));
  }
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Fail(ErrorCode::kMalformedToken, "token does not have exactly three segments");
  }
  const std::string_view header_text = token.substr(0, first);
  const std::string_view payload_text = token.substr(first + 1, second - first - 1);
  const std::string_view signature_text = token.substr(second + 1);
  if (header_text.empty()) return Fail(ErrorCode::kMalformedToken, "header segment is empty");

  std::string& last_header_text = header_memo.text;
  JwsHeader& last_header = header_memo.header;
  std::string& header_json = header_memo.json;
  const bool header_known = !last_header_text.empty() && header_text == last_header_text;
  if (!header_known) {
    header_json.clear();
    json::ReservePadding(&header_json, header_text.size());
    if (!DecodeBase64UrlInto(header_text, &header_json)) return MalformedSegment("header");
  }
  json::ReservePadding(&out->payload_json, payload_text.size());
  if (!DecodeBase64UrlInto(payload_text, &out->payload_json)) {
    return MalformedSegment("payload");
  }
  if (!DecodeBase64UrlInto(signature_text, &out->signature)) {
    return MalformedSegment("signature");
  }

  if (header_known) {
    out->header.alg = last_header.alg;
    out->header.has_kid = last_header.has_kid;
    out->header.kid.assign(last_header.kid);
  } else {
    last_header_text.clear();
    if (Status header = ParseHeader(header_json, true, &out->header); !header.ok()) return header;
    last_header = out->header;
    last_header_text.assign(header_text.data(), header_text.size());
  }
  // Checked after the header so that an unsigned "alg":"none" token is refused for
  // its algorithm, the reason an operator needs to see.
  if (signature_text.empty()) {
    return Fail(ErrorCode::kMalformedToken, "signature segment is empty");
  }
  out->signing_input = token.substr(0, second);
  return Ok{};
}

const ParsedToken& ParseTokenInto(std::string_view token, std::size_t max_bytes, ParsedToken* out) {
  token = StripBearer(token);
  if (out->valid && out->max_bytes == max_bytes && out->text == token) return *out;
  out->valid = false;
  out->max_bytes = max_bytes;
  ++out->parses;
  if (token.size() > max_bytes) {
    // Refused before anything is decoded; not copied, so never matched again either.
    out->text.clear();
    out->status = ParseCompactInto(token, max_bytes, &out->jws);
    out->jws.signing_input = {};
    return *out;
  }
  out->text.assign(token.data(), token.size());
  out->status = ParseCompactInto(out->text, max_bytes, &out->jws);
  out->valid = true;
  return *out;
}

const ParsedToken& ParseTokenOnce(std::string_view token, std::size_t max_bytes) {
  thread_local ParsedToken parsed;
  return ParseTokenInto(token, max_bytes, &parsed);
}

Result<CompactJws> ParseCompact(std::string_view token, std::size_t max_bytes) {
  CompactJws jws;
  Status status = ParseCompactInto(token, max_bytes, &jws);
  if (!status.ok()) return std::move(status).failure();
  return jws;
}

Result<std::string> SignCompact(const Key& key, std::string_view claims_json) {
  auto parsed = json::ParseObject(json::ThreadParser(), claims_json, false, "claims");
  if (!parsed.ok()) return std::move(parsed).failure();

  std::string header = "{\"alg\":";
  AppendJsonString(&header, AlgorithmName(key.algorithm()));
  header += ",\"typ\":\"JWT\"";
  if (!key.kid().empty()) {
    header += ",\"kid\":";
    AppendJsonString(&header, key.kid());
  }
  header += '}';

  std::string token = EncodeBase64Url(header);
  token += '.';
  token += EncodeBase64Url(claims_json);
  auto signature = key.Sign(token);
  if (!signature.ok()) return std::move(signature).failure();
  token += '.';
  token += EncodeBase64Url(signature.value());
  return token;
}

}  // namespace rowguard::core
