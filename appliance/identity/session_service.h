// The credentials users act through: login sessions (login, logout,
// password change), the brute-force lockouts that guard password checks
// (login_throttle.h), and API tokens. Each change is one unit of the single
// writer with its audit events, so none exists without its event; a
// refusal writes nothing but the denial event it is documented to record.
// Checking a password and holding attempt slots stay with the caller,
// which serializes and bounds them; this service records what they found.
//
// Every method takes `by`, the event template of whoever acts: its actor,
// request_id, request_ip and via_token are copied into each event; its other
// fields are ignored. Sessions, tokens and lockout accounts are named in the
// ledger by their HMAC (`hmac`, the ledger's keyed hash).
//
// Errors are the stores' (session_store.h, token_store.h, login_throttle.h)
// unless a method says otherwise; unavailable when the writer cannot commit.
//
// Thread-safe when its writer, ledger and random are (the appliance's are).
// Holds references: the writer, ledger, clock and random outlive it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/identity/login_throttle.h"
#include "appliance/identity/password_hasher.h"
#include "appliance/identity/session_store.h"
#include "appliance/identity/token_store.h"
#include "appliance/identity/user_store.h"
#include "appliance/storage/writer.h"
#include "audit/audit_ledger.h"

namespace cloister {

struct SessionOptions {
  SessionPolicy sessions;
  LockoutPolicy lockout;
  ScryptParams scrypt;  // for new hashes; a login rehashes an older one
};

// A password check that failed at login, for RecordFailedLogin.
struct FailedLogin {
  std::string reason;   // "unknown_user", "wrong_password" or "user_disabled"
  std::string user_id;  // the user named, "" when none exists
  std::string account;  // the account's lockout key (AccountKey of the name tried)
  std::string address;  // the client address's lockout key
};

// What a successful login proved, for Login. `password` and `account` are
// for "password" logins: the password that matched (rehashed when its
// stored hash predates the service's parameters) and the account's lockout
// key (cleared). `presented_session` is a live session the client brought
// with the login: it is ended, never adopted ("" for none).
struct LoginGrant {
  User user;           // enabled, as read for the check
  std::string method;  // "password" or "certificate"
  std::string password;
  std::string account;
  std::string certificate_subject;  // "certificate": the subject presented, recorded
  std::string presented_session;
  std::string remote_ip;  // kept with the session
};

// A password change by the user themselves, for ChangePassword.
struct PasswordChange {
  std::string user_id;
  std::string new_password;  // checked against the password policy by the caller
  bool new_session = false;  // the request came with a session: it gets a new one
  std::string remote_ip;
};

class SessionService {
 public:
  using Hmac = std::function<std::string(std::string_view)>;

  SessionService(Writer& writer, AuditLedger& ledger, Hmac hmac, const Clock& clock, Random& random,
                 SessionOptions options)
      : writer_(writer),
        ledger_(ledger),
        hmac_(std::move(hmac)),
        clock_(clock),
        random_(random),
        options_(options) {}

  const SessionOptions& options() const { return options_; }
  // The account's key in the lockout table: the HMAC of the case-folded
  // name tried, so a password typed into the user name field is never kept.
  std::string AccountKey(std::string_view user_name) const;

  // Issues a session for the grant's user and records the login (auth.login
  // success, the user as actor and target, the session by HMAC): records
  // the login time, clears the account's failures, stores a rehashed
  // password, and ends the presented session, all in one unit.
  Result<IssuedSession> Login(const AuditRecord& by, const LoginGrant& grant);

  // Records a failed password check at login (auth.login denied; the
  // account by HMAC as details.attempted_user when no user has the name)
  // and counts it against the account and the address; each key it locks
  // gets an auth.lockout event.
  Status RecordFailedLogin(const AuditRecord& by, const FailedLogin& failure);

  // Refuses a password change whose current password did not match:
  // records user.password.change denied "wrong_password", counts the
  // failure as a failed login does, and returns permission_denied
  // "wrong_password" (or the error that kept it from being recorded).
  Status RefuseWrongPassword(const AuditRecord& by, const std::string& user_id,
                             const std::string& account, const std::string& address);

  // Sets the new password, ends every session of the user and, when asked,
  // issues a new one (none, an empty IssuedSession, otherwise):
  // user.password.change with details.sessions_ended.
  Result<IssuedSession> ChangePassword(const AuditRecord& by, const PasswordChange& change);

  // Ends `session_id`, of `user_id`: auth.logout. not_found when it is not live.
  Status Logout(const AuditRecord& by, const std::string& user_id, const std::string& session_id);

  // Forgets the failures of a lockout key: auth.lockout.clear. not_found
  // when the key has none.
  Status ClearLockout(const AuditRecord& by, const std::string& kind, const std::string& key);

  // Issues an API token for spec.owner_id: token.create, the token by HMAC,
  // the owner by id and name. failed_precondition "user <name> is disabled"
  // for a disabled owner; not_found for an unknown one.
  Result<IssuedToken> CreateToken(const AuditRecord& by, const NewToken& spec);

  // Revokes token `id` if `may_revoke` allows it (a pure check, run inside
  // the unit on the token as stored): token.revoke. not_found, for an
  // unknown, already revoked or forbidden token alike ("no active API
  // token <id>" for a forbidden one), after recording a token.revoke denial.
  Status RevokeToken(const AuditRecord& by, const std::string& id,
                     const std::function<bool(const TokenInfo&)>& may_revoke);

 private:
  // Appends `event` (a failed check) and counts the failure against the
  // account and the address, with an auth.lockout event per key it locks.
  Status RecordFailure(Transaction& tx, const AuditRecord& event, const std::string& account,
                       const std::string& address);

  Writer& writer_;
  AuditLedger& ledger_;
  const Hmac hmac_;
  const Clock& clock_;
  Random& random_;
  const SessionOptions options_;
};

}  // namespace cloister
