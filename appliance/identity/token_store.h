// API tokens. A token is "cloister_" followed by 256 random bits in
// base64url; it is shown once and stored only as its SHA-256, so a copy of
// the database does not yield a usable credential. Presented tokens are
// looked up by that hash.
//
// A token acts for its owner, a user: it holds the owner's role bindings
// as they are at each request, narrowed by the token's optional restriction
// to some roles and some environments. A disabled owner's tokens stop at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/identity/principal.h"
#include "appliance/storage/read_pool.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct IssuedToken {
  std::string id;      // public identifier, safe to log
  std::string secret;  // the bearer token; shown once
};

struct NewToken {
  std::string name;
  std::string owner_id;
  std::vector<Role> roles;                // restriction; empty: the owner's roles
  std::vector<std::string> environments;  // restriction; empty: every environment
  std::string expires_at;                 // RFC 3339, "" for never
};

// What is stored about a token (never its secret).
struct TokenInfo {
  std::string id, name, owner_id, owner_name, created_at;
  std::vector<std::string> roles, environments;      // the restriction
  std::string expires_at, revoked_at, last_used_at;  // "" when none
};

// A token's name is a label its owner chooses: 1-100 printable UTF-8
// characters, unique among the owner's live tokens. It never identifies
// anyone (the owner does).
Status ValidateTokenName(std::string_view name);

// already_exists when the owner has a live token of that name.
Result<IssuedToken> CreateToken(Transaction& tx, Random& random, const Clock& clock, const NewToken& token);

// The principal a bearer token stands for: unauthenticated when it is
// malformed, unknown, revoked or expired (one message for all, so callers
// learn nothing about which). `why`, when given, receives which, for the
// audit ledger: "malformed", "unknown", "revoked", "expired" or "owner_disabled".
// corruption naming the api_tokens row when its expiry is not a timestamp or
// it names a role that does not exist.
Result<Principal> AuthenticateToken(ReadPool& reads, std::string_view token, const Clock& clock,
                                    std::string* why = nullptr);

// Every token, or only those of `owner_id` when it is not empty.
Result<std::vector<TokenInfo>> ListTokens(ReadView db, const std::string& owner_id = "");
Result<TokenInfo> FindToken(ReadView db, const std::string& id);
// not_found unless `id` names a token that is not yet revoked.
Status RevokeToken(Transaction& tx, const std::string& id, const Clock& clock);
// Records that `id` was just used.
Status TouchToken(Transaction& tx, const std::string& id, const Clock& clock);

}  // namespace cloister
