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

// A presented token as its row has it: the principal, and for an owned
// token its restriction (the owner's roles are read after).
struct PresentedToken {
  Principal principal;
  std::vector<Role> roles;
  std::vector<std::string> environments;
};

// Columns: id, name, role, environment, expires_at, revoked_at, owner_id,
// restrict_roles, restrict_environments, owner name, owner disabled_at,
// owner must_change_password.
Result<PresentedToken> DecodePresented(const Row& row) {
  PresentedToken out;
  Principal& p = out.principal;
  p.kind = "token";
  p.id = row.Text(0);
  p.name = row.Text(1);
  if (row.IsNull(6)) {  // a token from before owners: its own role
    const std::string name = row.Text(2);
    const auto role = ParseRole(name);
    if (!role) return row.Corrupt("role \"" + name + "\" is not a role");
    p.bindings = {{*role, row.Text(3)}};
    return out;
  }
  p.user_id = row.Text(6);
  p.user_name = row.Text(9);
  p.password_change_required = row.Int(11) != 0;
  for (const std::string& name : SplitList(row.Text(7))) {
    const auto role = ParseRole(name);
    if (!role) return row.Corrupt("restrict_roles names \"" + name + "\", which is not a role");
    out.roles.push_back(*role);
  }
  out.environments = SplitList(row.Text(8));
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
  return reads.Read<Principal>([&](ReadView db) -> Result<Principal> {
    CL_ASSIGN_OR_RETURN(
        std::optional<PresentedToken> found,
        db.Select("api_tokens",
                  "SELECT t.id, t.name, t.role, t.environment, t.expires_at, t.revoked_at, t.owner_id, "
                  "t.restrict_roles, t.restrict_environments, u.name, u.disabled_at, u.must_change_password "
                  "FROM api_tokens t LEFT JOIN users u ON u.id = t.owner_id WHERE t.token_hash = ?")
            .Bind(1, hash)
            .ReadOne([&](const Row& row) -> Result<PresentedToken> {
              if (!row.IsNull(4) && !ParseTimestamp(row.View(4))) return row.Corrupt("expires_at is not a timestamp");
              // Timestamps are fixed-width RFC 3339 UTC, so string order is time order.
              if (!row.IsNull(5)) return reject("revoked");
              if (!row.IsNull(4) && row.Text(4) <= now) return reject("expired");
              if (!row.IsNull(10)) return reject("owner_disabled");
              return DecodePresented(row);
            }));
    if (!found) return reject("unknown");
    if (found->principal.user_id.empty()) return std::move(found->principal);  // from before owners
    CL_ASSIGN_OR_RETURN(std::vector<RoleBinding> owner_roles, UserRoles(db, found->principal.user_id));
    found->principal.bindings = RestrictBindings(owner_roles, found->roles, found->environments);
    return std::move(found->principal);
  });
}

namespace {

constexpr std::string_view kTokenInfoQuery =
    "SELECT t.id, t.name, t.owner_id, u.name, t.created_at, t.restrict_roles, t.restrict_environments, "
    "t.expires_at, t.revoked_at, t.last_used_at, t.role, t.environment "
    "FROM api_tokens t LEFT JOIN users u ON u.id = t.owner_id ";

TokenInfo DecodeTokenInfo(const Row& row) {
  TokenInfo t{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), SplitList(row.Text(5)),
              SplitList(row.Text(6)), row.Text(7), row.Text(8), row.Text(9)};
  if (t.owner_id.empty()) {  // from before owners: show its role as the restriction
    t.roles = {row.Text(10)};
    if (row.Text(11) != "*") t.environments = {row.Text(11)};
  }
  return t;
}

}  // namespace

Result<std::vector<TokenInfo>> ListTokens(ReadView db, const std::string& owner_id) {
  return db.Select("api_tokens", std::string(kTokenInfoQuery) +
                                     "WHERE ?1 = '' OR t.owner_id = ?1 ORDER BY t.created_at, t.id")
      .Bind(1, owner_id)
      .ReadAll(DecodeTokenInfo);
}

Result<TokenInfo> FindToken(ReadView db, const std::string& id) {
  CL_ASSIGN_OR_RETURN(std::optional<TokenInfo> t,
                      db.Select("api_tokens", std::string(kTokenInfoQuery) + "WHERE t.id = ?")
                          .Bind(1, id)
                          .ReadOne(DecodeTokenInfo));
  if (!t) return Status::NotFound("no API token " + id);
  return std::move(*t);
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
