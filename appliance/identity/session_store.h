// Server-side login sessions. A session's secret is "cloister_session_"
// followed by 256 random bits in base64url; it travels in the session
// cookie (browsers) or as a bearer token (cloisterctl) and is stored only as
// its SHA-256. A session ends at logout, when it has been idle for the idle
// timeout, at the absolute timeout after login, when its user's password
// changes or is reset, and when its user is disabled.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/identity/principal.h"
#include "appliance/storage/read_pool.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct SessionPolicy {
  std::chrono::seconds idle{1800};       // ends after this long without a request
  std::chrono::seconds absolute{43200};  // ends this long after login, whatever happens
};

inline constexpr std::string_view kSessionPrefix = "cloister_session_";
inline constexpr std::string_view kSessionCookie = "cloister_session";

struct IssuedSession {
  std::string id;          // "ses_<hex>", safe to log
  std::string secret;      // the cookie value; shown once
  std::string csrf_token;  // echoed in X-CSRF-Token by cookie-authenticated unsafe requests
  std::string expires_at;  // the absolute timeout
};

// `method` says how the user proved who they are: "password" or "certificate".
Result<IssuedSession> CreateSession(Transaction& tx, Random& random, const Clock& clock, const SessionPolicy& policy,
                                    const std::string& user_id, const std::string& method,
                                    const std::string& remote_ip);

// The user a session secret stands for. Unauthenticated (one message for
// every case) when it is malformed, unknown, revoked, idle too long, past
// its absolute timeout, or its user is disabled; `why`, when given,
// receives which, for the audit ledger. corruption naming the sessions row
// when its times are not timestamps.
Result<Principal> AuthenticateSession(ReadPool& reads, std::string_view secret, const Clock& clock,
                                      const SessionPolicy& policy, std::string* why = nullptr);

// Records a request on the session (for the idle timeout).
Status TouchSession(Transaction& tx, const std::string& id, const Clock& clock);
// not_found unless the session is live.
Status RevokeSession(Transaction& tx, const std::string& id, const Clock& clock);
// Revokes every live session of a user; the number revoked.
Result<int64_t> RevokeUserSessions(Transaction& tx, const std::string& user_id, const Clock& clock);
// Revokes every live session of every user (a restore ends them all, so a
// session that ended after the backup was taken cannot resume); the number
// revoked.
Result<int64_t> RevokeAllSessions(Transaction& tx, const Clock& clock);

}  // namespace cloister
