// API tokens. A token is "cloister_" followed by 256 random bits in
// base64url; it is shown once and stored only as its SHA-256, so a copy of
// the database does not yield a usable credential. Presented tokens are
// looked up by that hash.
#pragma once

#include <string>
#include <string_view>

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

// Creates a token inside `tx` with `role` on `environment`.
Result<IssuedToken> CreateToken(Transaction& tx, Random& random, const Clock& clock, const std::string& name,
                                const std::string& role, const std::string& environment);

// The principal a bearer token stands for: unauthenticated when it is
// malformed, unknown, revoked or expired (one message for all, so callers
// learn nothing about which).
Result<Principal> AuthenticateToken(ReadPool& reads, std::string_view token, const Clock& clock);

}  // namespace cloister
