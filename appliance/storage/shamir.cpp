#include "appliance/storage/shamir.h"

namespace cloister {

uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int i = 0; i < 8; ++i) {
    product ^= static_cast<uint8_t>(-(b & 1) & a);
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1b));
    b >>= 1;
  }
  return product;
}

uint8_t GfInverse(uint8_t a) {
  // a^254 = a^-1 in GF(2^8) (and 0 -> 0); square-and-multiply, fixed sequence.
  uint8_t result = 1;
  uint8_t base = a;
  for (int e = 254; e > 0; e >>= 1) {
    if (e & 1) result = GfMul(result, base);
    base = GfMul(base, base);
  }
  return result;
}

Result<std::vector<ShamirShare>> ShamirSplit(const SecureBytes& secret, int count, int threshold, Random& random) {
  if (secret.empty()) return Status::InvalidArgument("cannot split an empty secret");
  if (count < 1 || count > 255) return Status::InvalidArgument("shares must be between 1 and 255");
  if (threshold < 1 || threshold > count) return Status::InvalidArgument("threshold must be between 1 and shares");
  if (threshold == 1 && count > 1) {
    return Status::InvalidArgument("threshold 1 with several shares would make every share the whole key; "
                                   "use a threshold of at least 2");
  }
  std::vector<ShamirShare> shares(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    shares[i].x = static_cast<uint8_t>(i + 1);
    shares[i].y = SecureBytes(secret.size());
  }
  // coefficients[0] = secret byte; the rest uniformly random.
  SecureBytes coefficients(static_cast<size_t>(threshold));
  for (size_t b = 0; b < secret.size(); ++b) {
    coefficients[0] = secret[b];
    if (threshold > 1) CL_RETURN_IF_ERROR(random.Fill(coefficients.data() + 1, coefficients.size() - 1));
    for (auto& share : shares) {
      uint8_t acc = 0;  // Horner's rule from the highest coefficient
      for (int k = threshold - 1; k >= 0; --k) acc = GfMul(acc, share.x) ^ coefficients[static_cast<size_t>(k)];
      share.y[b] = acc;
    }
  }
  return shares;
}

Result<SecureBytes> ShamirCombine(const std::vector<ShamirShare>& shares) {
  if (shares.empty()) return Status::InvalidArgument("no shares to combine");
  const size_t len = shares[0].y.size();
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].x == 0) return Status::InvalidArgument("share x-coordinate 0 is invalid");
    if (shares[i].y.size() != len) return Status::InvalidArgument("shares have different lengths");
    for (size_t j = 0; j < i; ++j) {
      if (shares[j].x == shares[i].x) return Status::InvalidArgument("two shares have the same x-coordinate");
    }
  }
  // Lagrange basis at zero: l_i = prod_{j != i} x_j / (x_j - x_i); minus is xor.
  std::vector<uint8_t> basis(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) {
    uint8_t num = 1, den = 1;
    for (size_t j = 0; j < shares.size(); ++j) {
      if (j == i) continue;
      num = GfMul(num, shares[j].x);
      den = GfMul(den, shares[j].x ^ shares[i].x);
    }
    basis[i] = GfMul(num, GfInverse(den));
  }
  SecureBytes secret(len);
  for (size_t b = 0; b < len; ++b) {
    uint8_t acc = 0;
    for (size_t i = 0; i < shares.size(); ++i) acc ^= GfMul(shares[i].y[b], basis[i]);
    secret[b] = acc;
  }
  return secret;
}

}  // namespace cloister
