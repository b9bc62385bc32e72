#include "audit/audit_keys.h"

#include <openssl/hmac.h>

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

constexpr char kSigning[] = "audit.signing_key";
constexpr char kHmac[] = "audit.hmac_key";

Result<bool> Exists(Transaction& tx, const char* name) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("SELECT 1 FROM appliance_keys WHERE name = ?"));
  s->Bind(1, name);
  return s->Step();
}

Result<SecureBytes> Read(Connection& conn, const char* name) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT material FROM appliance_keys WHERE name = ?"));
  s->Bind(1, name);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  if (!row) return Status::Corruption(std::string("the database has no ") + name);
  std::string material = s->ColumnBlob(0);
  s->Reset();
  SecureBytes out(reinterpret_cast<const uint8_t*>(material.data()), material.size());
  std::fill(material.begin(), material.end(), '\0');
  if (out.size() != 32) return Status::Corruption(std::string(name) + " is not 32 bytes");
  return out;
}

}  // namespace

Status EnsureAuditKeys(Transaction& tx, Random& random, const Clock& clock) {
  for (const char* name : {kSigning, kHmac}) {
    CL_ASSIGN_OR_RETURN(const bool exists, Exists(tx, name));
    if (exists) continue;
    CL_ASSIGN_OR_RETURN(SecureBytes key, SecureBytes::Generate(random, 32));
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT INTO appliance_keys (name, material, created_at) VALUES (?, ?, ?)"));
    CL_RETURN_IF_ERROR(s->Bind(1, name).BindBlob(2, key.view()).Bind(3, FormatTimestamp(clock.Now())).Run());
  }
  return Status::Ok();
}

Result<AuditKeys> LoadAuditKeys(Connection& conn) {
  AuditKeys keys;
  CL_ASSIGN_OR_RETURN(keys.signing_seed, Read(conn, kSigning));
  CL_ASSIGN_OR_RETURN(keys.hmac_key, Read(conn, kHmac));
  return keys;
}

std::string AuditHmac(const SecureBytes& key, std::string_view value) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(value.data()),
       value.size(), mac, &len);
  return "hmac-sha256:" + HexEncode(mac, len);
}

}  // namespace cloister
