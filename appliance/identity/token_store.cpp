#include "appliance/identity/token_store.h"

#include <algorithm>

#include "appliance/core/encoding.h"
#include "appliance/identity/user_store.h"

namespace cloister {
namespace {

constexpr std::string_view kPrefix = "cloister_";
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

std::string TokenHash(std::string_view token) { return Sha256Hex(token); }

// Restrictions are stored comma-joined (names never contain commas); "" is none.
std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

Status ValidateTokenName(std::string_view name) {
  if (name.empty() || name.size() > 100) return Status::InvalidArgument("field \"name\" needs 1-100 characters");
  if (!IsValidUtf8(name)) return Status::InvalidArgument("field \"name\" must be UTF-8");
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    // C0 controls, DEL, and C1 controls (U+0080-U+009F, UTF-8 C2 80-9F).
    const bool c1 = c == 0xc2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) < 0xa0;
    if (c < 0x20 || c == 0x7f || c1) {
      return Status::InvalidArgument("field \"name\" may hold printable characters only (a label, not an identity)");
    }
  }
  return Status::Ok();
}

Result<IssuedToken> CreateToken(Transaction& tx, Random& random, const Clock& clock, const NewToken& token) {
  CL_RETURN_IF_ERROR(ValidateTokenName(token.name));
  CL_ASSIGN_OR_RETURN(SecureBytes secret, SecureBytes::Generate(random, 32));
  CL_ASSIGN_OR_RETURN(SecureBytes id, SecureBytes::Generate(random, 8));
  IssuedToken out;
  out.id = "tok_" + HexEncode(id.data(), id.size());
  out.secret = std::string(kPrefix) + Base64UrlEncode(secret.view());
  std::vector<std::string> role_names;
  for (Role r : token.roles) role_names.emplace_back(RoleName(r));
  // role and environment predate owners; owned tokens leave them empty.
  CL_ASSIGN_OR_RETURN(Statement * stmt, tx.Prepare(
      "INSERT INTO api_tokens (id, name, token_hash, role, environment, created_at, expires_at, owner_id, "
      "restrict_roles, restrict_environments) VALUES (?, ?, ?, '', '', ?, ?, ?, ?, ?)"));
  stmt->Bind(1, out.id)
      .Bind(2, token.name)
      .Bind(3, TokenHash(out.secret))
      .Bind(4, FormatTimestamp(clock.Now()))
      .Bind(6, token.owner_id)
      .Bind(7, JoinList(role_names))
      .Bind(8, JoinList(token.environments));
  if (token.expires_at.empty()) {
    stmt->BindNull(5);
  } else {
    stmt->Bind(5, token.expires_at);
  }
  if (Status st = stmt->Run(); !st.ok()) {
    if (st.message().find("UNIQUE constraint failed: api_tokens.owner_id") != std::string::npos) {
      return Status::AlreadyExists("the owner already has a live token named \"" + token.name +
                                   "\"; token names are unique per owner")
          .WithReason("already_exists");
    }
    return st;
  }
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
    CL_ASSIGN_OR_RETURN(Statement * stmt, conn.Cached(
        "SELECT t.id, t.name, t.role, t.environment, t.expires_at, t.revoked_at, t.owner_id, t.restrict_roles, "
        "t.restrict_environments, u.name, u.disabled_at, u.must_change_password "
        "FROM api_tokens t LEFT JOIN users u ON u.id = t.owner_id WHERE t.token_hash = ?"));
    stmt->Bind(1, hash);
    CL_ASSIGN_OR_RETURN(const bool row, stmt->Step());
    if (!row) return reject("unknown");
    // Timestamps are fixed-width RFC 3339 UTC, so string order is time order.
    if (!stmt->ColumnIsNull(5)) return reject("revoked");
    if (!stmt->ColumnIsNull(4) && stmt->ColumnText(4) <= now) return reject("expired");
    if (!stmt->ColumnIsNull(10)) return reject("owner_disabled");
    Principal p;
    p.kind = "token";
    p.id = stmt->ColumnText(0);
    p.name = stmt->ColumnText(1);
    if (stmt->ColumnIsNull(6)) {  // a token from before owners: its own role
      const auto role = ParseRole(stmt->ColumnText(2));
      if (!role) return Status::Corruption("API token " + p.id + " has an unknown role");
      p.bindings = {{*role, stmt->ColumnText(3)}};
      return p;
    }
    p.user_id = stmt->ColumnText(6);
    p.user_name = stmt->ColumnText(9);
    p.password_change_required = stmt->ColumnInt(11) != 0;
    std::vector<Role> roles;
    for (const std::string& name : SplitList(stmt->ColumnText(7))) {
      const auto role = ParseRole(name);
      if (!role) return Status::Corruption("API token " + p.id + " is restricted to an unknown role");
      roles.push_back(*role);
    }
    const std::vector<std::string> environments = SplitList(stmt->ColumnText(8));
    stmt->Reset();
    CL_ASSIGN_OR_RETURN(std::vector<RoleBinding> owner_roles, UserRoles(conn, p.user_id));
    p.bindings = RestrictBindings(owner_roles, roles, environments);
    return p;
  });
}

namespace {

constexpr std::string_view kTokenInfoQuery =
    "SELECT t.id, t.name, t.owner_id, u.name, t.created_at, t.restrict_roles, t.restrict_environments, "
    "t.expires_at, t.revoked_at, t.last_used_at, t.role, t.environment "
    "FROM api_tokens t LEFT JOIN users u ON u.id = t.owner_id ";

TokenInfo ReadTokenInfo(const Statement& s) {
  TokenInfo t{s.ColumnText(0), s.ColumnText(1), s.ColumnText(2), s.ColumnText(3), s.ColumnText(4),
              SplitList(s.ColumnText(5)), SplitList(s.ColumnText(6)), s.ColumnText(7), s.ColumnText(8),
              s.ColumnText(9)};
  if (t.owner_id.empty()) {  // from before owners: show its role as the restriction
    t.roles = {s.ColumnText(10)};
    if (s.ColumnText(11) != "*") t.environments = {s.ColumnText(11)};
  }
  return t;
}

}  // namespace

Result<std::vector<TokenInfo>> ListTokens(Connection& conn, const std::string& owner_id) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string(kTokenInfoQuery) +
                                                 "WHERE ?1 = '' OR t.owner_id = ?1 ORDER BY t.created_at, t.id"));
  s->Bind(1, owner_id);
  std::vector<TokenInfo> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back(ReadTokenInfo(*s));
  }
}

Result<TokenInfo> FindToken(Connection& conn, const std::string& id) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string(kTokenInfoQuery) + "WHERE t.id = ?"));
  s->Bind(1, id);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  if (!row) return Status::NotFound("no API token " + id);
  TokenInfo t = ReadTokenInfo(*s);
  s->Reset();
  return t;
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
