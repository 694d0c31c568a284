#include "rowguard/core/key.hpp"

#include "key_material.hpp"

namespace rowguard::core {

Key::Key(std::string kid, Algorithm alg, bool has_private, std::string thumbprint,
         std::unique_ptr<KeyMaterial> material)
    : kid_(std::move(kid)),
      alg_(alg),
      has_private_(has_private),
      thumbprint_(std::move(thumbprint)),
      material_(std::move(material)) {}
Key::~Key() = default;
Key::Key(Key&&) noexcept = default;
Key& Key::operator=(Key&&) noexcept = default;

Status Key::Verify(std::string_view, std::string_view) const {
  return Fail(ErrorCode::kInternal, "not implemented");
}

Result<std::string> Key::Sign(std::string_view) const {
  return Fail(ErrorCode::kInternal, "not implemented");
}

Result<Key> ParseJwk(std::string_view, std::optional<Algorithm>) {
  return Fail(ErrorCode::kInternal, "not implemented");
}

Result<std::vector<Key>> ParseJwkSet(std::string_view) {
  return Fail(ErrorCode::kInternal, "not implemented");
}

}  // namespace rowguard::core
