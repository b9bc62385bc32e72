// Byte encodings and digests shared by every module. Decoders are strict:
// they reject anything that is not exactly their alphabet and layout.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"

namespace cloister {

using Bytes = std::vector<uint8_t>;
using Sha256Digest = std::array<uint8_t, 32>;

inline std::string_view AsChars(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

std::string HexEncode(std::string_view bytes);  // lowercase
inline std::string HexEncode(const uint8_t* data, size_t size) {
  return HexEncode(AsChars(data, size));
}
// Accepts upper and lower case; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

// RFC 4648 section 4, with padding.
std::string Base64Encode(std::string_view bytes);
Result<Bytes> Base64Decode(std::string_view text);
// RFC 4648 section 5, without padding (for tokens).
std::string Base64UrlEncode(std::string_view bytes);

Sha256Digest Sha256(std::string_view bytes);
std::string Sha256Hex(std::string_view bytes);
// HMAC-SHA256 of `message` under `key`, as lowercase hex.
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// Constant-time equality for secrets of public length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace cloister
