// Claim paths (include/rowguard/pg/claim_path.hpp): names, dotted paths and RFC 6901
// JSON Pointers, walked over the Jsonb image in place.
#include "rowguard/pg/claim_path.hpp"

namespace rowguard::pg {
namespace {

constexpr int kMaxSegment = 1024;

bool Step(JsonbValue* current, const char* name, int length, bool pointer) {
  if (current->type != jbvBinary) return false;
  JsonbContainer* container = current->val.binary.data;
  if (JsonContainerIsObject(container)) {
    JsonbValue next;
    if (getKeyJsonValueFromContainer(container, name, length, &next) == nullptr) return false;
    *current = next;
    return true;
  }
  if (pointer && JsonContainerIsArray(container) && length > 0 && length <= 9) {
    // RFC 6901: an array index is 0 or digits without a leading zero.
    if (length > 1 && name[0] == '0') return false;
    uint32 index = 0;
    for (int i = 0; i < length; ++i) {
      if (name[i] < '0' || name[i] > '9') return false;
      index = index * 10 + static_cast<uint32>(name[i] - '0');
    }
    JsonbValue* element = getIthJsonbValueFromContainer(container, index);
    if (element == nullptr) return false;
    *current = *element;
    pfree(element);
    return true;
  }
  return false;
}

}  // namespace

bool FindClaim(const Jsonb* claims, const char* path, int path_length, JsonbValue* value) {
  value->type = jbvBinary;
  value->val.binary.data = const_cast<JsonbContainer*>(&claims->root);
  value->val.binary.len = VARSIZE(claims) - VARHDRSZ;

  if (path_length > 0 && path[0] == '/') {
    char segment[kMaxSegment];
    int position = 1;
    while (true) {
      int length = 0;
      while (position < path_length && path[position] != '/') {
        char c = path[position++];
        if (c == '~') {
          if (position >= path_length) return false;
          const char escaped = path[position++];
          if (escaped == '0')
            c = '~';
          else if (escaped == '1')
            c = '/';
          else
            return false;
        }
        if (length >= kMaxSegment) return false;
        segment[length++] = c;
      }
      if (!Step(value, segment, length, true)) return false;
      if (position >= path_length) return true;
      ++position;  // the '/'
    }
  }

  int start = 0;
  for (int i = 0; i <= path_length; ++i) {
    if (i == path_length || path[i] == '.') {
      if (!Step(value, path + start, i - start, false)) return false;
      start = i + 1;
    }
  }
  return true;
}

}  // namespace rowguard::pg
