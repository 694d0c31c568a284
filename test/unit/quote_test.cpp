#include "rowguard/core/quote.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rowguard::core {
namespace {

TEST(QuoteTest, PrintableAsciiIsKeptInQuotes) {
  EXPECT_EQ(QuoteForDetail("kid-1 /x:y"), "\"kid-1 /x:y\"");
  EXPECT_EQ(QuoteForDetail(""), "\"\"");
}

TEST(QuoteTest, QuotesBackslashesAndControlBytesAreEscaped) {
  EXPECT_EQ(QuoteForDetail("a\"b\\c\nd"), "\"a\\x22b\\x5cc\\x0ad\"");
  EXPECT_EQ(QuoteForDetail(std::string("\0\x7f\xff", 3)), "\"\\x00\\x7f\\xff\"");
}

TEST(QuoteTest, LongValuesAreCutAndBounded) {
  const std::string long_text(kMaxQuotedBytes + 10, 'x');
  EXPECT_EQ(QuoteForDetail(long_text), "\"" + std::string(kMaxQuotedBytes, 'x') + "\"...");
  const std::string worst(kMaxQuotedBytes + 10, '\n');
  EXPECT_EQ(QuoteForDetail(worst).size(), kMaxQuotedLength);
}

}  // namespace
}  // namespace rowguard::core
