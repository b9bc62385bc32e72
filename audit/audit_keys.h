// The audit ledger's keys: the Ed25519 key that signs checkpoints and the
// HMAC key for sensitive values that auditors may need to match. Both are
// created at initialization and live only inside the encrypted database.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/core/secure_bytes.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct AuditKeys {
  SecureBytes signing_seed;  // 32 bytes, Ed25519 private key
  SecureBytes hmac_key;      // 32 bytes
};

// Creates the keys inside `tx` unless they exist.
Status EnsureAuditKeys(Transaction& tx, Random& random, const Clock& clock);
// corruption when missing, or naming the appliance_keys row when a key is
// not 32 bytes.
Result<AuditKeys> LoadAuditKeys(ReadView db);

// "hmac-sha256:" + lowercase hex(HMAC-SHA256(key, value)), as audit-format.md
// section 1 writes sensitive matchable values.
std::string AuditHmac(const SecureBytes& key, std::string_view value);

}  // namespace cloister
