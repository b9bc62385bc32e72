#include "appliance/identity/session_store.h"

#include "appliance/core/encoding.h"
#include "appliance/core/secure_bytes.h"
#include "appliance/identity/user_store.h"

namespace cloister {
namespace {

constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

Result<std::string> RandomText(Random& random, size_t bytes) {
  CL_ASSIGN_OR_RETURN(SecureBytes raw, SecureBytes::Generate(random, bytes));
  return Base64UrlEncode(raw.view());
}

}  // namespace

Result<IssuedSession> CreateSession(Transaction& tx, Random& random, const Clock& clock, const SessionPolicy& policy,
                                    const std::string& user_id, const std::string& method,
                                    const std::string& remote_ip) {
  CL_ASSIGN_OR_RETURN(SecureBytes raw_id, SecureBytes::Generate(random, 12));
  IssuedSession out;
  out.id = "ses_" + HexEncode(raw_id.data(), raw_id.size());
  CL_ASSIGN_OR_RETURN(std::string secret, RandomText(random, 32));
  out.secret = std::string(kSessionPrefix) + secret;
  CL_ASSIGN_OR_RETURN(out.csrf_token, RandomText(random, 32));
  const auto now = clock.Now();
  out.expires_at = FormatTimestamp(now + policy.absolute);
  const std::string created = FormatTimestamp(now);
  // Sessions past the absolute timeout can never be used again: drop them.
  CL_ASSIGN_OR_RETURN(Statement * prune, tx.Prepare("DELETE FROM sessions WHERE created_at <= ?"));
  CL_RETURN_IF_ERROR(prune->Bind(1, FormatTimestamp(now - policy.absolute)).Run());
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(
      "INSERT INTO sessions (id, secret_hash, user_id, csrf_token, method, remote_ip, created_at, last_seen_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  CL_RETURN_IF_ERROR(s->Bind(1, out.id)
                         .Bind(2, Sha256Hex(out.secret))
                         .Bind(3, user_id)
                         .Bind(4, out.csrf_token)
                         .Bind(5, method)
                         .Bind(6, remote_ip)
                         .Bind(7, created)
                         .Bind(8, created)
                         .Run());
  return out;
}

Result<Principal> AuthenticateSession(ReadPool& reads, std::string_view secret, const Clock& clock,
                                      const SessionPolicy& policy, std::string* why) {
  const Status rejected =
      Status::Unauthenticated("the session has ended or is invalid; log in again").WithReason("invalid_session");
  auto reject = [&](const char* reason) {
    if (why) *why = reason;
    return rejected;
  };
  if (secret.size() != kSessionPrefix.size() + kSecretChars || secret.substr(0, kSessionPrefix.size()) != kSessionPrefix) {
    return reject("malformed");
  }
  const std::string hash = Sha256Hex(secret);
  const auto now = clock.Now();
  // Timestamps are fixed-width RFC 3339 UTC, so string order is time order.
  const std::string idle_cutoff = FormatTimestamp(now - policy.idle);
  const std::string absolute_cutoff = FormatTimestamp(now - policy.absolute);
  return reads.Read<Principal>([&](ReadView db) -> Result<Principal> {
    CL_ASSIGN_OR_RETURN(
        std::optional<Principal> found,
        db.Select("sessions", "SELECT s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.revoked_at, "
                              "u.name, u.disabled_at, u.must_change_password FROM sessions s JOIN users u ON "
                              "u.id = s.user_id WHERE s.secret_hash = ?")
            .Bind(1, hash)
            .ReadOne([&](const Row& row) -> Result<Principal> {
              if (!ParseTimestamp(row.View(3))) return row.Corrupt("created_at is not a timestamp");
              if (!ParseTimestamp(row.View(4))) return row.Corrupt("last_seen_at is not a timestamp");
              if (!row.IsNull(5)) return reject("revoked");
              if (!row.IsNull(7)) return reject("user_disabled");
              if (row.Text(3) <= absolute_cutoff) return reject("expired");
              if (row.Text(4) <= idle_cutoff) return reject("idle");
              Principal p;
              p.kind = "user";
              p.session_id = row.Text(0);
              p.id = p.user_id = p.audit_id = row.Text(1);
              p.csrf_token = row.Text(2);
              p.name = p.user_name = row.Text(6);
              p.password_change_required = row.Int(8) != 0;
              return p;
            }));
    if (!found) return reject("unknown");
    CL_ASSIGN_OR_RETURN(found->bindings, UserRoles(db, found->user_id));
    return std::move(*found);
  });
}

Status TouchSession(Transaction& tx, const std::string& id, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE sessions SET last_seen_at = ? WHERE id = ?"));
  return s->Bind(1, FormatTimestamp(clock.Now())).Bind(2, id).Run();
}

Status RevokeSession(Transaction& tx, const std::string& id, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
  CL_RETURN_IF_ERROR(s->Bind(1, FormatTimestamp(clock.Now())).Bind(2, id).Run());
  if (tx.Changes() == 0) return Status::NotFound("no live session " + id);
  return Status::Ok();
}

Result<int64_t> RevokeUserSessions(Transaction& tx, const std::string& user_id, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"));
  CL_RETURN_IF_ERROR(s->Bind(1, FormatTimestamp(clock.Now())).Bind(2, user_id).Run());
  return tx.Changes();
}

Result<int64_t> RevokeAllSessions(Transaction& tx, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL"));
  CL_RETURN_IF_ERROR(s->Bind(1, FormatTimestamp(clock.Now())).Run());
  return tx.Changes();
}

}  // namespace cloister
