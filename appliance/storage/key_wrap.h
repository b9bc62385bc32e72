// AES-256-GCM key wrapping for the keyring: the data key is stored only
// encrypted under a key-encryption key (KEK), bound to associated data that
// names the appliance, so a wrapped key moved to another keyring fails.
#pragma once

#include <string_view>

#include "appliance/core/encoding.h"
#include "appliance/core/random.h"
#include "appliance/core/secure_bytes.h"

namespace cloister {

struct WrappedKey {
  Bytes nonce;       // 12 bytes, random per wrap
  Bytes ciphertext;  // same length as the wrapped key
  Bytes tag;         // 16 bytes
};

// Encrypts `key` under the 32-byte `kek`.
Result<WrappedKey> WrapKey(const SecureBytes& kek, const SecureBytes& key, std::string_view aad, Random& random);

// Decrypts and authenticates. A wrong KEK, altered bytes or different `aad`
// all fail authentication: permission_denied with reason "key_mismatch".
Result<SecureBytes> UnwrapKey(const SecureBytes& kek, const WrappedKey& wrapped, std::string_view aad);

}  // namespace cloister
