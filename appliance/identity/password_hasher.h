// Password hashing with scrypt (RFC 7914) through OpenSSL's EVP_PBE_scrypt.
// The stored form carries its parameters and salt,
//   scrypt$<N>$<r>$<p>$<base64 salt>$<base64 hash>
// so that parameters can be raised later and old hashes still verify
// (NeedsRehash tells when to replace one at the next login).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/core/random.h"
#include "appliance/core/status.h"

namespace cloister {

struct ScryptParams {
  uint64_t n = uint64_t{1} << 15;  // CPU/memory cost: 32 MiB with r = 8
  uint64_t r = 8;
  uint64_t p = 1;
};

inline constexpr size_t kMinPasswordLength = 12;

// invalid_argument naming the rule a password breaks (at least 12 characters).
Status CheckPasswordPolicy(std::string_view password);

// A new salted hash of `password` in the stored form.
Result<std::string> HashPassword(std::string_view password, Random& random, const ScryptParams& params);

// Whether `password` matches `stored`, compared in constant time.
// invalid_argument when `stored` is not a hash this module wrote.
Result<bool> VerifyPassword(std::string_view password, std::string_view stored);

// True when `stored` was made with weaker parameters than `params`.
bool NeedsRehash(std::string_view stored, const ScryptParams& params);

// Raw scrypt, exposed for the RFC 7914 test vectors.
Result<std::string> Scrypt(std::string_view password, std::string_view salt, const ScryptParams& params, size_t length);

}  // namespace cloister
