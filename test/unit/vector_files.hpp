// Test helper: reads third-party vectors below ROWGUARD_VECTORS_DIR (set by CMake).
#pragma once

#include <string>

namespace rowguard::test {

// The whole file at ROWGUARD_VECTORS_DIR/relative_path; throws std::runtime_error
// naming the path when it cannot be read, so a missing vector fails the test loudly.
std::string ReadVectorFile(const std::string& relative_path);

// The absolute path of a vector file (for loaders such as simdjson::padded_string::load).
std::string VectorPath(const std::string& relative_path);

}  // namespace rowguard::test
