#include "audit/audit_keys.h"

#include <openssl/hmac.h>

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

constexpr char kSigning[] = "audit.signing_key";
constexpr char kHmac[] = "audit.hmac_key";

Result<bool> Exists(Transaction& tx, const char* name) {
  CL_ASSIGN_OR_RETURN(
      const int64_t found,
      tx.view()
          .Select("appliance_keys", "SELECT COUNT(*) FROM appliance_keys WHERE name = ?")
          .Bind(1, name)
          .ReadInt());
  return found > 0;
}

// A stored key, straight into SecureBytes (never a plain string):
// corruption naming its appliance_keys row unless it is 32 bytes.
Result<SecureBytes> DecodeKey(const Row& row) {
  const std::string_view m = row.View(1);
  if (m.size() != 32)
    return row.Corrupt("material is " + std::to_string(m.size()) + " bytes, not 32");
  return SecureBytes(reinterpret_cast<const uint8_t*>(m.data()), m.size());
}

Result<SecureBytes> Read(ReadView db, const char* name) {
  CL_ASSIGN_OR_RETURN(
      std::optional<SecureBytes> key,
      db.Select("appliance_keys", "SELECT name, material FROM appliance_keys WHERE name = ?")
          .Bind(1, name)
          .ReadOne(DecodeKey));
  if (!key) return Status::Corruption(std::string("the database has no ") + name);
  return std::move(*key);
}

}  // namespace

Status EnsureAuditKeys(Transaction& tx, Random& random, const Clock& clock) {
  for (const char* name : {kSigning, kHmac}) {
    CL_ASSIGN_OR_RETURN(const bool exists, Exists(tx, name));
    if (exists) continue;
    CL_ASSIGN_OR_RETURN(SecureBytes key, SecureBytes::Generate(random, 32));
    CL_ASSIGN_OR_RETURN(
        Statement * s,
        tx.Prepare("INSERT INTO appliance_keys (name, material, created_at) VALUES (?, ?, ?)"));
    CL_RETURN_IF_ERROR(
        s->Bind(1, name).BindBlob(2, key.view()).Bind(3, FormatTimestamp(clock.Now())).Run());
  }
  return Status::Ok();
}

Result<AuditKeys> LoadAuditKeys(ReadView db) {
  AuditKeys keys;
  CL_ASSIGN_OR_RETURN(keys.signing_seed, Read(db, kSigning));
  CL_ASSIGN_OR_RETURN(keys.hmac_key, Read(db, kHmac));
  return keys;
}

std::string AuditHmac(const SecureBytes& key, std::string_view value) {
  return "hmac-sha256:" + HmacSha256Hex(AsChars(key.data(), key.size()), value);
}

}  // namespace cloister
