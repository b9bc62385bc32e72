// Shamir secret sharing over GF(2^8) (the AES field, polynomial x^8+x^4+x^3+x+1),
// byte by byte, as Vault does. Any `threshold` of the `count` shares rebuild
// the secret; fewer reveal nothing about it. Field arithmetic is constant
// time (no table lookups indexed by secret bytes).
#pragma once

#include <cstdint>
#include <vector>

#include "appliance/core/random.h"
#include "appliance/core/secure_bytes.h"

namespace cloister {

struct ShamirShare {
  uint8_t x;      // 1..255, distinct per share
  SecureBytes y;  // one byte per secret byte
};

// Splits `secret` into `count` shares with x = 1..count. Requires
// 2 <= threshold <= count <= 255 (or threshold == count == 1).
Result<std::vector<ShamirShare>> ShamirSplit(const SecureBytes& secret, int count, int threshold, Random& random);

// Rebuilds the secret from shares with distinct, non-zero x and equal length.
// With fewer than the threshold, or a wrong share, the result is simply a
// different secret: callers authenticate it (the keyring's AES-GCM does).
Result<SecureBytes> ShamirCombine(const std::vector<ShamirShare>& shares);

// Field operations, exposed for tests.
uint8_t GfMul(uint8_t a, uint8_t b);
uint8_t GfInverse(uint8_t a);

}  // namespace cloister
