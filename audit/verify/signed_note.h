// C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures, and the
// tlog-checkpoint text they carry (audit-format.md, section 3).
//
// Part of the standalone verifier library: depends on OpenSSL only.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/verify/merkle.h"

namespace cloister::verify {

using PublicKey = std::array<uint8_t, 32>;

// RFC 4648 section 4 base64 with padding; decoding is strict.
std::string Base64(std::string_view bytes);
bool FromBase64(std::string_view text, std::string* out);

// SHA-256(name || 0x0A || 0x01 || key)[:4], big-endian.
uint32_t KeyId(std::string_view name, const PublicKey& key);

struct VerifierKey {
  std::string name;
  uint32_t id = 0;
  PublicKey key{};
};
// "<name>+<8 hex key id>+<base64(0x01 || key)>"; checks that the id matches.
bool ParseVerifierKey(std::string_view text, VerifierKey* out, std::string* error);
std::string FormatVerifierKey(std::string_view name, const PublicKey& key);

// An Ed25519 signer from its 32-byte private seed.
class NoteSigner {
 public:
  // False (with *error) when the seed is not a usable key.
  bool Init(std::string_view name, const std::array<uint8_t, 32>& seed, std::string* error);
  // Go's signer-key form: "PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>".
  bool InitFromSignerKey(std::string_view signer_key, std::string* error);

  // The signed note: text (ending in '\n'), a blank line and one signature line.
  std::string Sign(std::string_view text) const;
  const std::string& name() const { return name_; }
  const PublicKey& public_key() const { return public_key_; }
  std::string verifier_key() const { return FormatVerifierKey(name_, public_key_); }

 private:
  std::string name_;
  std::array<uint8_t, 32> seed_{};
  PublicKey public_key_{};
};

// Splits a signed note and checks the signature made by `key`. On success,
// *text is the note text (with its final newline). Errors name what is wrong:
// malformed note, no signature by this key name and id, bad signature.
bool VerifyNote(std::string_view note, const VerifierKey& key, std::string* text, std::string* error);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};
std::string FormatCheckpoint(const Checkpoint& checkpoint);
// Exactly three lines: origin, decimal size without leading zeros, base64 root.
bool ParseCheckpoint(std::string_view text, Checkpoint* out, std::string* error);

}  // namespace cloister::verify
