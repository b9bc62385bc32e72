// SecureBytes holds key material: the data key, key-encryption keys, Shamir
// shares, token secrets. Its bytes are zeroed (OPENSSL_cleanse) when it is
// destroyed, cleared or moved from, and it is never printed: there is no
// stream operator. Copies must be explicit (Copy()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "appliance/core/random.h"
#include "appliance/core/status.h"

namespace cloister {

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size) : bytes_(size, 0) {}
  SecureBytes(const uint8_t* data, size_t size) : bytes_(data, data + size) {}
  ~SecureBytes() { Clear(); }

  SecureBytes(SecureBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.Clear(); }
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  // `size` random bytes, or the entropy source's error.
  static Result<SecureBytes> Generate(Random& random, size_t size);

  SecureBytes Copy() const { return SecureBytes(data(), size()); }
  void Clear();

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  uint8_t& operator[](size_t i) { return bytes_[i]; }
  uint8_t operator[](size_t i) const { return bytes_[i]; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

  // Constant-time comparison of equal-length contents.
  bool Equals(const SecureBytes& other) const;

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace cloister
