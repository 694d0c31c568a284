// Test helper: reads third-party vectors (Wycheproof, the JOSE cookbook) from the
// directory ROWGUARD_VECTORS_DIR names: the environment variable when set, else the
// CMake cache variable of the same name, test/vectors by default (docs/testing.md). A
// directory that does not exist skips the tests that need them (ROWGUARD_REQUIRE_VECTORS);
// scripts/test.sh counts a skipped test as a failure.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace rowguard::test {

// The vectors directory in use (environment first, then the build's default).
const std::string& VectorsDir();

// True when VectorsDir() exists.
bool VectorsPresent();

// The whole file at VectorsDir()/relative_path; throws std::runtime_error naming the
// path when it cannot be read, so a missing vector in a present directory fails loudly.
std::string ReadVectorFile(const std::string& relative_path);

// The absolute path of a vector file (for loaders such as simdjson::padded_string::load).
std::string VectorPath(const std::string& relative_path);

}  // namespace rowguard::test

// First statement of every test that reads vectors. scripts/test.sh counts the skips.
#define ROWGUARD_REQUIRE_VECTORS()                                               \
  do {                                                                           \
    if (!::rowguard::test::VectorsPresent()) {                                   \
      GTEST_SKIP() << "vectors: not found in " << ::rowguard::test::VectorsDir() \
                   << " (set ROWGUARD_VECTORS_DIR)";                             \
    }                                                                            \
  } while (false)
