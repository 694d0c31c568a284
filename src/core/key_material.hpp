// Internal to the core: the OpenSSL objects behind a Key.
#pragma once

namespace rowguard::core {

class KeyMaterial {
 public:
  KeyMaterial() = default;
};

}  // namespace rowguard::core
