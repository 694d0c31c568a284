#include "vector_files.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rowguard::test {

const std::string& VectorsDir() {
  static const std::string dir = [] {
    const char* from_environment = std::getenv("ROWGUARD_VECTORS_DIR");
    return std::string(from_environment != nullptr && *from_environment != '\0'
                           ? from_environment
                           : ROWGUARD_VECTORS_DIR);
  }();
  return dir;
}

bool VectorsPresent() {
  struct stat info;
  return stat(VectorsDir().c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string VectorPath(const std::string& relative_path) {
  return VectorsDir() + "/" + relative_path;
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
