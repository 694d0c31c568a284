#include "rowguard/core/lookup_cache.hpp"

#include <gtest/gtest.h>

#include <string>

using rowguard::core::LookupCache;

TEST(LookupCache, RemembersAnswersPerKindIssuerAndValue) {
  LookupCache cache(1 << 20);
  EXPECT_FALSE(cache.Find('j', "iss", "a").has_value());
  cache.Insert('j', "iss", "a", 1);
  cache.Insert('s', "iss", "a", 42);
  cache.Insert('j', "other", "a", 0);
  EXPECT_EQ(cache.Find('j', "iss", "a"), 1);
  EXPECT_EQ(cache.Find('s', "iss", "a"), 42);
  EXPECT_EQ(cache.Find('j', "other", "a"), 0);
  EXPECT_FALSE(cache.Find('j', "", "a").has_value());
  EXPECT_EQ(cache.size(), 3u);
}

TEST(LookupCache, IssuerAndValueBoundaryIsUnambiguous) {
  LookupCache cache(1 << 20);
  cache.Insert('j', "ab", "c", 1);
  EXPECT_FALSE(cache.Find('j', "a", "bc").has_value());
  cache.Insert('j', "a", "bc", 2);
  EXPECT_EQ(cache.Find('j', "ab", "c"), 1);
  EXPECT_EQ(cache.Find('j', "a", "bc"), 2);
}

TEST(LookupCache, ReplacingAnAnswerKeepsOneEntry) {
  LookupCache cache(1 << 20);
  cache.Insert('s', "i", "u", 1);
  const auto bytes = cache.bytes();
  cache.Insert('s', "i", "u", 2);
  EXPECT_EQ(cache.Find('s', "i", "u"), 2);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), bytes);
}

TEST(LookupCache, StaysWithinItsByteBoundEvictingLeastRecentlyUsed) {
  const std::size_t bound = 10 * (LookupCache::kEntryOverhead + 20);
  LookupCache cache(bound);
  for (int i = 0; i < 1000; ++i) {
    cache.Insert('j', "issuer", "jti-" + std::to_string(i), i);
    ASSERT_LE(cache.bytes(), bound);
    // Touch entry 0 so it stays the most recently used one.
    if (i > 0) {
      ASSERT_EQ(cache.Find('j', "issuer", "jti-0"), 0) << i;
    }
  }
  EXPECT_GT(cache.size(), 5u);
  EXPECT_LE(cache.size(), 10u);
  EXPECT_EQ(cache.Find('j', "issuer", "jti-999"), 999);
  EXPECT_FALSE(cache.Find('j', "issuer", "jti-500").has_value());
}

TEST(LookupCache, RefusesAnEntryLargerThanTheBound) {
  LookupCache cache(LookupCache::kEntryOverhead + 8);
  cache.Insert('j', "i", std::string(100, 'x'), 1);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  cache.Insert('j', "i", "x", 1);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(LookupCache, ClearForgetsEverything) {
  LookupCache cache(1 << 20);
  cache.Insert('j', "i", "x", 1);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_FALSE(cache.Find('j', "i", "x").has_value());
}
