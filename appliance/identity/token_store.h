// API tokens. A token is "cloister_" followed by 256 random bits in
// base64url; it is shown once and stored only as its SHA-256, so a copy of
// the database does not yield a usable credential. Presented tokens are
// looked up by that hash.
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

// What is stored about a token (never its secret).
struct TokenInfo {
  std::string id, name, role, environment, created_at;
  std::string expires_at, revoked_at, last_used_at;  // "" when none
};

// Creates a token inside `tx` with `role` on `environment`, expiring at
// `expires_at` (RFC 3339, "" for never).
Result<IssuedToken> CreateToken(Transaction& tx, Random& random, const Clock& clock, const std::string& name,
                                const std::string& role, const std::string& environment,
                                const std::string& expires_at = "");

// The principal a bearer token stands for: unauthenticated when it is
// malformed, unknown, revoked or expired (one message for all, so callers
// learn nothing about which). `why`, when given, receives which, for the
// audit ledger: "malformed", "unknown", "revoked" or "expired".
Result<Principal> AuthenticateToken(ReadPool& reads, std::string_view token, const Clock& clock,
                                    std::string* why = nullptr);

Result<std::vector<TokenInfo>> ListTokens(Connection& conn);
// not_found unless `id` names a token that is not yet revoked.
Status RevokeToken(Transaction& tx, const std::string& id, const Clock& clock);
// Records that `id` was just used.
Status TouchToken(Transaction& tx, const std::string& id, const Clock& clock);

}  // namespace cloister
