#include "appliance/identity/password_hasher.h"

#include <charconv>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

struct Parsed {
  ScryptParams params;
  std::string salt;
  std::string hash;
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool ParseUint(std::string_view s, uint64_t* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

Result<Parsed> Parse(std::string_view stored) {
  const Status bad = Status::InvalidArgument("stored password hash is not in the scrypt$N$r$p$salt$hash form");
  const auto parts = Split(stored, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") return bad;
  Parsed p;
  if (!ParseUint(parts[1], &p.params.n) || !ParseUint(parts[2], &p.params.r) || !ParseUint(parts[3], &p.params.p)) {
    return bad;
  }
  auto salt = Base64Decode(parts[4]);
  auto hash = Base64Decode(parts[5]);
  if (!salt.ok() || !hash.ok() || hash->empty()) return bad;
  p.salt.assign(salt->begin(), salt->end());
  p.hash.assign(hash->begin(), hash->end());
  return p;
}

}  // namespace

Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return Status::InvalidArgument("password must be at least " + std::to_string(kMinPasswordLength) +
                                   " characters long")
        .WithReason("weak_password");
  }
  return Status::Ok();
}

Result<std::string> Scrypt(std::string_view password, std::string_view salt, const ScryptParams& params, size_t length) {
  std::string out(length, '\0');
  // Room for scrypt's 128 * N * r bytes of working memory, with margin.
  const uint64_t maxmem = 2 * 128 * params.n * params.r * params.p + (uint64_t{1} << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                     params.n, params.r, params.p, maxmem, reinterpret_cast<unsigned char*>(out.data()), length) != 1) {
    return Status::InvalidArgument("scrypt failed (N must be a power of two above 1, and r * p below 2^30)");
  }
  return out;
}

Result<std::string> HashPassword(std::string_view password, Random& random, const ScryptParams& params) {
  std::string salt(kSaltBytes, '\0');
  CL_RETURN_IF_ERROR(random.Fill(reinterpret_cast<uint8_t*>(salt.data()), salt.size()));
  CL_ASSIGN_OR_RETURN(std::string hash, Scrypt(password, salt, params, kHashBytes));
  std::string stored = "scrypt$" + std::to_string(params.n) + "$" + std::to_string(params.r) + "$" +
                       std::to_string(params.p) + "$" + Base64Encode(salt) + "$" + Base64Encode(hash);
  OPENSSL_cleanse(hash.data(), hash.size());
  return stored;
}

Result<bool> VerifyPassword(std::string_view password, std::string_view stored) {
  CL_ASSIGN_OR_RETURN(Parsed p, Parse(stored));
  CL_ASSIGN_OR_RETURN(std::string computed, Scrypt(password, p.salt, p.params, p.hash.size()));
  const bool match = CRYPTO_memcmp(computed.data(), p.hash.data(), p.hash.size()) == 0;
  OPENSSL_cleanse(computed.data(), computed.size());
  return match;
}

bool NeedsRehash(std::string_view stored, const ScryptParams& params) {
  auto p = Parse(stored);
  return !p.ok() || p->params.n < params.n || p->params.r < params.r || p->params.p < params.p;
}

}  // namespace cloister
