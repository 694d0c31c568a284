#include "strict_json.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rowguard::core::json {
namespace {

// Small objects (every JOSE header and almost every payload) are compared pairwise;
// larger ones are sorted, so a hostile payload cannot make this quadratic.
constexpr std::size_t kPairwiseLimit = 16;

// A name's length and first and last bytes in one integer: two names that differ in any
// of them cannot be equal, so the pairwise check below compares bytes (memcmp) only for
// names that agree on all three. JWT claim names mostly share a length (iss, sub, aud,
// exp, iat, jti), so comparing lengths alone would call memcmp for most pairs.
std::uint64_t NameSignature(std::string_view name) {
  if (name.empty()) return 0;
  return (static_cast<std::uint64_t>(name.size()) << 16) |
         (static_cast<std::uint64_t>(static_cast<unsigned char>(name.front())) << 8) |
         static_cast<unsigned char>(name.back());
}

// Objects above kPairwiseLimit members: the names sorted, then neighbours compared.
bool HasDuplicateNamesSorted(simdjson::dom::object object) {
  std::vector<std::string_view> names;
  names.reserve(object.size());
  for (auto field : object) names.push_back(field.key);
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

// Returns a problem description, or nullptr when the subtree is acceptable. Strings
// are searched for NUL only when `check_nul`: simdjson refuses raw control characters,
// so a decoded NUL can only come from a \u0000 escape, and the caller looks for that
// in the raw text once instead of searching every string.
const char* CheckElement(simdjson::dom::element element, std::size_t depth, bool check_nul) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      if (depth >= kMaxDepth) return "nested too deeply";
      simdjson::dom::object object;
      if (element.get(object) != simdjson::SUCCESS) return "is not valid JSON";
      // One pass per object: names are checked against the earlier ones (pairwise in
      // small objects) in the same loop that descends into the values.
      const bool pairwise = object.size() <= kPairwiseLimit;
      if (!pairwise && HasDuplicateNamesSorted(object)) return "has a duplicate member name";
      std::string_view names[kPairwiseLimit];
      std::uint64_t signatures[kPairwiseLimit];
      std::size_t count = 0;
      for (auto field : object) {
        const std::string_view name = field.key;
        if (pairwise) {
          const std::uint64_t signature = NameSignature(name);
          for (std::size_t i = 0; i < count; ++i) {
            if (signatures[i] == signature && names[i] == name) {
              return "has a duplicate member name";
            }
          }
          names[count] = name;
          signatures[count++] = signature;
        }
        if (check_nul && name.find('\0') != std::string_view::npos) {
          return "has a NUL character";
        }
        if (const char* problem = CheckElement(field.value, depth + 1, check_nul)) return problem;
      }
      return nullptr;
    }
    case simdjson::dom::element_type::ARRAY: {
      if (depth >= kMaxDepth) return "nested too deeply";
      simdjson::dom::array array;
      if (element.get(array) != simdjson::SUCCESS) return "is not valid JSON";
      for (auto item : array) {
        if (const char* problem = CheckElement(item, depth + 1, check_nul)) return problem;
      }
      return nullptr;
    }
    case simdjson::dom::element_type::STRING: {
      if (!check_nul) return nullptr;
      std::string_view text;
      if (element.get(text) != simdjson::SUCCESS) return "is not valid JSON";
      if (text.find('\0') != std::string_view::npos) return "has a NUL character";
      return nullptr;
    }
    default:
      return nullptr;
  }
}

}  // namespace

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

void ReservePadding(std::string* buffer, std::size_t size) {
  buffer->reserve(size + simdjson::SIMDJSON_PADDING);
}

Result<simdjson::dom::object> ParseObject(simdjson::dom::parser& parser, std::string_view text,
                                          bool padded, const char* what) {
  // A byte order mark is not JSON (RFC 8259 section 8.1: a parser MAY ignore it).
  // simdjson 3.0 refuses it, later releases skip it; refusing it here keeps the verdict
  // the same whichever simdjson the build links (and PostgreSQL's jsonb refuses it too).
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    return Fail(ErrorCode::kMalformedJson, std::string(what) + " is not valid JSON");
  }
  // An empty view may have no data pointer at all, which simdjson would copy from.
  if (text.empty()) return Fail(ErrorCode::kMalformedJson, std::string(what) + " is not valid JSON");
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), !padded).get(root) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kMalformedJson, std::string(what) + " is not valid JSON");
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    return Fail(ErrorCode::kMalformedJson, std::string(what) + " is not a JSON object");
  }
  const bool may_hold_nul = text.find("\\u0000") != std::string_view::npos;
  if (const char* problem = CheckElement(root, 0, may_hold_nul)) {
    return Fail(ErrorCode::kMalformedJson, std::string(what) + " " + problem);
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kMalformedJson, std::string(what) + " is not a JSON object");
  }
  return object;
}

}  // namespace rowguard::core::json
