#include "appliance/core/secure_bytes.h"

#include <openssl/crypto.h>

namespace cloister {

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    bytes_ = std::move(other.bytes_);
    other.Clear();
  }
  return *this;
}

Result<SecureBytes> SecureBytes::Generate(Random& random, size_t size) {
  SecureBytes out(size);
  CL_RETURN_IF_ERROR(random.Fill(out.data(), out.size()));
  return out;
}

void SecureBytes::Clear() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
  bytes_.shrink_to_fit();
}

bool SecureBytes::Equals(const SecureBytes& other) const {
  return size() == other.size() && CRYPTO_memcmp(data(), other.data(), size()) == 0;
}

}  // namespace cloister
