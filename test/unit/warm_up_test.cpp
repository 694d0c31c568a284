// The warm-up a preloaded server runs in the postmaster: its built-in tokens verify
// (so the work it is meant to do is done), and running it twice is harmless.
#include "rowguard/core/warm_up.hpp"

#include <gtest/gtest.h>

namespace rowguard::core {
namespace {

TEST(WarmUp, VerifiesEveryBuiltInToken) {
  EXPECT_TRUE(WarmUp());
  EXPECT_TRUE(WarmUp());
}

}  // namespace
}  // namespace rowguard::core
