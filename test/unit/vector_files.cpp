#include "vector_files.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rowguard::test {

std::string VectorPath(const std::string& relative_path) {
  return std::string(ROWGUARD_VECTORS_DIR) + "/" + relative_path;
}

std::string ReadVectorFile(const std::string& relative_path) {
  const std::string path = VectorPath(relative_path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read vector file " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace rowguard::test
