#include "appliance/identity/token_store.h"

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

constexpr std::string_view kPrefix = "cloister_";
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

std::string TokenHash(std::string_view token) { return Sha256Hex(token); }

}  // namespace

Result<IssuedToken> CreateToken(Transaction& tx, Random& random, const Clock& clock, const std::string& name,
                                const std::string& role, const std::string& environment) {
  CL_ASSIGN_OR_RETURN(SecureBytes secret, SecureBytes::Generate(random, 32));
  CL_ASSIGN_OR_RETURN(SecureBytes id, SecureBytes::Generate(random, 8));
  IssuedToken out;
  out.id = "tok_" + HexEncode(id.data(), id.size());
  out.secret = std::string(kPrefix) + Base64UrlEncode(secret.view());
  CL_ASSIGN_OR_RETURN(Statement * stmt,
                      tx.Prepare("INSERT INTO api_tokens (id, name, token_hash, role, environment, created_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?)"));
  CL_RETURN_IF_ERROR(stmt->Bind(1, out.id)
                         .Bind(2, name)
                         .Bind(3, TokenHash(out.secret))
                         .Bind(4, role)
                         .Bind(5, environment)
                         .Bind(6, FormatTimestamp(clock.Now()))
                         .Run());
  return out;
}

Result<Principal> AuthenticateToken(ReadPool& reads, std::string_view token, const Clock& clock) {
  const Status rejected = Status::Unauthenticated("the API token is invalid, expired or revoked")
                              .WithReason("invalid_token");
  if (token.size() != kPrefix.size() + kSecretChars || token.substr(0, kPrefix.size()) != kPrefix) return rejected;
  const std::string hash = TokenHash(token);
  const std::string now = FormatTimestamp(clock.Now());
  return reads.Read<Principal>([&](Connection& conn) -> Result<Principal> {
    CL_ASSIGN_OR_RETURN(Statement * stmt,
                        conn.Cached("SELECT id, name, role, environment, expires_at, revoked_at "
                                    "FROM api_tokens WHERE token_hash = ?"));
    stmt->Bind(1, hash);
    CL_ASSIGN_OR_RETURN(const bool row, stmt->Step());
    if (!row) return rejected;
    // Timestamps are fixed-width RFC 3339 UTC, so string order is time order.
    const bool revoked = !stmt->ColumnIsNull(5);
    const bool expired = !stmt->ColumnIsNull(4) && stmt->ColumnText(4) <= now;
    if (revoked || expired) return rejected;
    const auto role = ParseRole(stmt->ColumnText(2));
    if (!role) return Status::Corruption("API token " + stmt->ColumnText(0) + " has an unknown role");
    return Principal{"token", stmt->ColumnText(0), stmt->ColumnText(1), {{*role, stmt->ColumnText(3)}}};
  });
}

}  // namespace cloister
