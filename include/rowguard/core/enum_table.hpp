// Tables over a scoped enum whose values run 0, 1, 2, ... in declaration order: an enum's
// names or a mapping to another enum kept as data, one entry per value, instead of a
// switch. What a switch without a default gave - the compiler points at a new
// enumerator - the static_assert beside each table gives (the enum's header defines its
// count):
// - keyed rows (EnumRow): CoversInOrder holds only when row i is enumerator i and there
//   are exactly `count` rows;
// - a plain array of names in declaration order: its size must be the count, and a unit
//   test pins every name.
#pragma once

#include <cstddef>

namespace rowguard::core {

template <typename Enum, typename Value>
struct EnumRow {
  Enum key;
  Value value;
};

// Row i of `rows` has enumerator i as its `key` member (any table with such a member).
template <typename Row, std::size_t N, typename Enum>
constexpr bool InEnumOrder(const Row (&rows)[N], Enum Row::*key) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(rows[i].*key) != i) return false;
  }
  return true;
}

template <typename Enum, typename Value, std::size_t N>
constexpr bool CoversInOrder(const EnumRow<Enum, Value> (&rows)[N], int count) {
  return static_cast<int>(N) == count && InEnumOrder(rows, &EnumRow<Enum, Value>::key);
}

// The value of `key`'s row; `fallback` for a value outside the enum (a cast integer).
template <typename Enum, typename Value, std::size_t N>
constexpr Value ValueOf(const EnumRow<Enum, Value> (&rows)[N], Enum key, Value fallback) {
  const auto i = static_cast<std::size_t>(key);
  return i < N ? rows[i].value : fallback;
}

// The entry of `key` in a plain array in declaration order; `fallback` as above.
template <typename Enum, typename Value, std::size_t N>
constexpr Value ValueAt(const Value (&values)[N], Enum key, Value fallback) {
  const auto i = static_cast<std::size_t>(key);
  return i < N ? values[i] : fallback;
}

}  // namespace rowguard::core
