#include "appliance/identity/token_store.h"

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

constexpr std::string_view kPrefix = "cloister_";
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

std::string TokenHash(std::string_view token) { return Sha256Hex(token); }

}  // namespace

Result<IssuedToken> CreateToken(Transaction& tx, Random& random, const Clock& clock, const std::string& name,
                                const std::string& role, const std::string& environment,
                                const std::string& expires_at) {
  if (!ParseRole(role)) return Status::InvalidArgument("unknown role \"" + role + "\"");
  CL_ASSIGN_OR_RETURN(SecureBytes secret, SecureBytes::Generate(random, 32));
  CL_ASSIGN_OR_RETURN(SecureBytes id, SecureBytes::Generate(random, 8));
  IssuedToken out;
  out.id = "tok_" + HexEncode(id.data(), id.size());
  out.secret = std::string(kPrefix) + Base64UrlEncode(secret.view());
  CL_ASSIGN_OR_RETURN(Statement * stmt,
                      tx.Prepare("INSERT INTO api_tokens (id, name, token_hash, role, environment, created_at, expires_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  stmt->Bind(1, out.id)
      .Bind(2, name)
      .Bind(3, TokenHash(out.secret))
      .Bind(4, role)
      .Bind(5, environment)
      .Bind(6, FormatTimestamp(clock.Now()));
  if (expires_at.empty()) {
    stmt->BindNull(7);
  } else {
    stmt->Bind(7, expires_at);
  }
  CL_RETURN_IF_ERROR(stmt->Run());
  return out;
}

Result<Principal> AuthenticateToken(ReadPool& reads, std::string_view token, const Clock& clock, std::string* why) {
  const Status rejected = Status::Unauthenticated("the API token is invalid, expired or revoked")
                              .WithReason("invalid_token");
  auto reject = [&](const char* reason) {
    if (why) *why = reason;
    return rejected;
  };
  if (token.size() != kPrefix.size() + kSecretChars || token.substr(0, kPrefix.size()) != kPrefix) {
    return reject("malformed");
  }
  const std::string hash = TokenHash(token);
  const std::string now = FormatTimestamp(clock.Now());
  return reads.Read<Principal>([&](Connection& conn) -> Result<Principal> {
    CL_ASSIGN_OR_RETURN(Statement * stmt,
                        conn.Cached("SELECT id, name, role, environment, expires_at, revoked_at "
                                    "FROM api_tokens WHERE token_hash = ?"));
    stmt->Bind(1, hash);
    CL_ASSIGN_OR_RETURN(const bool row, stmt->Step());
    if (!row) return reject("unknown");
    // Timestamps are fixed-width RFC 3339 UTC, so string order is time order.
    if (!stmt->ColumnIsNull(5)) return reject("revoked");
    if (!stmt->ColumnIsNull(4) && stmt->ColumnText(4) <= now) return reject("expired");
    const auto role = ParseRole(stmt->ColumnText(2));
    if (!role) return Status::Corruption("API token " + stmt->ColumnText(0) + " has an unknown role");
    return Principal{"token", stmt->ColumnText(0), stmt->ColumnText(1), {{*role, stmt->ColumnText(3)}}, ""};
  });
}

Result<std::vector<TokenInfo>> ListTokens(Connection& conn) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT id, name, role, environment, created_at, expires_at, revoked_at, last_used_at FROM api_tokens "
      "ORDER BY created_at, id"));
  std::vector<TokenInfo> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back({s->ColumnText(0), s->ColumnText(1), s->ColumnText(2), s->ColumnText(3), s->ColumnText(4),
                   s->ColumnText(5), s->ColumnText(6), s->ColumnText(7)});
  }
}

Status RevokeToken(Transaction& tx, const std::string& id, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
  CL_RETURN_IF_ERROR(s->Bind(1, FormatTimestamp(clock.Now())).Bind(2, id).Run());
  if (tx.Changes() == 0) return Status::NotFound("no active API token " + id);
  return Status::Ok();
}

Status TouchToken(Transaction& tx, const std::string& id, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE api_tokens SET last_used_at = ? WHERE id = ?"));
  return s->Bind(1, FormatTimestamp(clock.Now())).Bind(2, id).Run();
}

}  // namespace cloister
