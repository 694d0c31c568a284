// Hand-rolled on purpose: a regular-expression library would allocate, and this scan
// runs inside emit_log_hook and on every statement's text, where nothing may allocate
// or throw and the common case (no "ey"/"ew" at all) must cost one pass of memchr.
#include "rowguard/core/token_text.hpp"

#include <cstring>

namespace rowguard::core {
namespace {

// The shortest header that names an algorithm, {"alg":"x"}, is 15 characters long.
constexpr std::size_t kMinFirstSegment = 12;
constexpr std::size_t kMinSecondSegment = 2;
constexpr char kMarker[] = "[redacted]";

bool IsBase64Url(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::size_t SegmentEnd(const char* text, std::size_t length, std::size_t at) noexcept {
  while (at < length && IsBase64Url(text[at])) ++at;
  return at;
}

// The length of a JWS-shaped run starting at `start`, or 0.
std::size_t RunAt(const char* text, std::size_t length, std::size_t start) noexcept {
  if (start > 0 && (IsBase64Url(text[start - 1]) || text[start - 1] == '.')) return 0;
  const std::size_t first_end = SegmentEnd(text, length, start);
  if (first_end - start < kMinFirstSegment || first_end >= length || text[first_end] != '.') {
    return 0;
  }
  const std::size_t second_end = SegmentEnd(text, length, first_end + 1);
  if (second_end - (first_end + 1) < kMinSecondSegment || second_end >= length ||
      text[second_end] != '.') {
    return 0;
  }
  const std::size_t third_end = SegmentEnd(text, length, second_end + 1);
  if (third_end < length && text[third_end] == '.') return 0;  // four segments: not a JWS
  return third_end - start;
}

}  // namespace

std::size_t FindTokenRun(const char* text, std::size_t length, std::size_t from,
                         std::size_t* run_length) noexcept {
  if (text == nullptr) return length;
  std::size_t at = from;
  while (at + 1 < length) {
    const void* found = std::memchr(text + at, 'e', length - at - 1);
    if (found == nullptr) break;
    at = static_cast<std::size_t>(static_cast<const char*>(found) - text);
    const char next = text[at + 1];
    if (next == 'y' || next == 'w') {
      const std::size_t run = RunAt(text, length, at);
      if (run > 0) {
        *run_length = run;
        return at;
      }
    }
    ++at;
  }
  *run_length = 0;
  return length;
}

std::size_t MaskTokensInPlace(char* text, std::size_t length) noexcept {
  std::size_t masked = 0, at = 0, run = 0;
  while ((at = FindTokenRun(text, length, at, &run)) < length) {
    const std::size_t marker = sizeof(kMarker) - 1;
    if (run >= marker) {
      std::memcpy(text + at, kMarker, marker);
      std::memset(text + at + marker, '*', run - marker);
    } else {
      std::memset(text + at, '*', run);
    }
    at += run;
    ++masked;
  }
  return masked;
}

bool HasTokenRun(const char* text, std::size_t length) noexcept {
  std::size_t run = 0;
  return FindTokenRun(text, length, 0, &run) < length;
}

}  // namespace rowguard::core
