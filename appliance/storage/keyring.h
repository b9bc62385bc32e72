// The keyring file (keyring.json, mode 0600, beside the database): the data
// key wrapped with AES-256-GCM under a key-encryption key (KEK), and how the
// KEK is obtained: Shamir shares held by people, or a key file on a separate
// mount. The data key itself is never written in the clear.
//
// Unseal shares are self-checking: each carries the first four bytes of the
// appliance id, the threshold, its x-coordinate, and a 4-byte SHA-256 check,
// so a mistyped share, or one from another appliance, is reported as such
// before it is used. The keyring also keeps a digest of every share it issued
// (shares are 256-bit random, so a digest reveals nothing), so that a
// well-formed share from an earlier initialization is refused at once too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/random.h"
#include "appliance/core/secure_bytes.h"
#include "appliance/storage/key_wrap.h"
#include "appliance/storage/shamir.h"

namespace cloister {

enum class SealType { kShamir, kKeyFile };
std::string_view SealTypeName(SealType type);  // "shamir", "key_file"

struct Keyring {
  std::string appliance_id;  // 32 lowercase hex digits, random at init
  std::string created_at;
  SealType seal_type = SealType::kShamir;
  int shares = 0;                          // shamir
  int threshold = 0;                       // shamir
  std::vector<std::string> share_digests;  // shamir, hex
  std::string key_file;                    // key_file: absolute path
  WrappedKey data_key;

  // Associated data binding the wrapped key to this appliance.
  std::string WrapAad() const { return "cloister-keyring/v1\n" + appliance_id; }
};

// Parses and checks keyring.json; corruption naming the field when damaged.
Result<Keyring> LoadKeyring(const std::string& path);
// Writes atomically with mode 0600.
Status SaveKeyring(const std::string& path, const Keyring& keyring);

// ---- Unseal shares ----

struct DecodedShare {
  std::string appliance_tag;  // 8 hex digits
  int threshold = 0;
  ShamirShare share;
  std::string digest;  // hex, compared with Keyring::share_digests
};

// The printable form of one share (86 lowercase hex digits).
std::string EncodeShare(const std::string& appliance_id, int threshold, const ShamirShare& share);
// Accepts the printable form, ignoring spaces and dashes. invalid_argument
// with reason "invalid_share" for a malformed or mistyped share.
Result<DecodedShare> DecodeShare(std::string_view text);
// The digest kept in the keyring for a share of this appliance.
std::string ShareDigest(const std::string& appliance_id, const ShamirShare& share);

// ---- Key files ----

// The file holds the 32-byte KEK as 64 hex digits and a newline.
std::string EncodeKeyFile(const SecureBytes& kek);
// Reads a key file; refuses one that group or others can read.
Result<SecureBytes> ReadKeyFile(const std::string& path);

}  // namespace cloister
