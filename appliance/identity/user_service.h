// Changes to local user accounts and their role bindings, each one unit of
// the single writer with its audit event: the change never exists without
// its event, and a refused change writes nothing. Passwords arrive in clear,
// are hashed here (outside the unit, so the writer never runs scrypt) and
// never reach the ledger.
//
// Every method takes `by`, the event template of whoever acts: its actor,
// request_id, request_ip and via_token are copied into each event; its other
// fields are ignored. Users are named as the path names them (any case).
//
// Errors are those of the stores (user_store.h, session_store.h): not_found
// for an unknown user, already_exists for a taken name, subject or binding,
// failed_precondition for a user already in the asked state, and
// failed_precondition "last_admin" for a change that would leave no enabled
// user holding admin in every environment. unavailable when the writer
// cannot commit; invalid_argument when an event breaks the audit format.
//
// Thread-safe when its writer, ledger and random are (the appliance's are).
// Holds references: the writer, ledger, clock and random outlive it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/identity/password_hasher.h"
#include "appliance/identity/roles.h"
#include "appliance/identity/token_store.h"
#include "appliance/identity/user_store.h"
#include "appliance/storage/writer.h"
#include "audit/audit_ledger.h"

namespace cloister {

// A new account, as an admin asks for it.
struct NewAccount {
  std::string name;
  std::string password;             // checked against the password policy by the caller
  bool password_generated = false;  // recorded: whether the appliance chose it
  std::string certificate_subject;  // "" for none
  std::vector<RoleBinding> roles;
};

// The appliance's first admin and the API token made with them at init.
struct InitialAdmin {
  User user;
  IssuedToken token;
};

class UserService {
 public:
  UserService(Writer& writer, AuditLedger& ledger, const Clock& clock, Random& random,
              ScryptParams scrypt)
      : writer_(writer), ledger_(ledger), clock_(clock), random_(random), scrypt_(scrypt) {}

  // Creates the account (its password to be changed at the first login);
  // records user.create with its roles and certificate subject.
  Result<User> CreateUser(const AuditRecord& by, const NewAccount& account);

  // Disables (user.disable) or enables (user.enable) the user named `name`.
  // Disabling ends the user's sessions (details.sessions_ended) and is
  // refused with "last_admin" for the last enabled admin in every
  // environment. Returns the user as the change left them.
  Result<User> SetDisabled(const AuditRecord& by, const std::string& name, bool disabled);

  // Sets a new password that must be changed at the next login and ends the
  // user's sessions (user.password.reset, details.sessions_ended and
  // password_generated).
  Result<User> ResetPassword(const AuditRecord& by, const std::string& name,
                             const std::string& password, bool password_generated);

  // Sets the user's client certificate subject ("" removes it): user.certificate.
  Result<User> SetCertificate(const AuditRecord& by, const std::string& name,
                              const std::string& subject);

  // Grants (role.grant) or revokes (role.revoke) one binding; the event
  // carries the environment. Revoking admin on "*" from an enabled user is
  // refused with "last_admin" when no other enabled user holds it.
  Result<User> GrantRole(const AuditRecord& by, const std::string& name,
                         const RoleBinding& binding);
  Result<User> RevokeRole(const AuditRecord& by, const std::string& name,
                          const RoleBinding& binding);

  // Inside the appliance's first transaction (init, before any writer):
  // the first admin, holding admin in every environment, with
  // `password_hash` and no change forced (only the operator who ran init has
  // seen the password), and their first API token. Recording it is the
  // caller's: init records it all in one system.init event.
  static Result<InitialAdmin> CreateInitialAdmin(Transaction& tx, Random& random,
                                                 const Clock& clock, const std::string& name,
                                                 const std::string& password_hash);

 private:
  // In one unit: reads the user named `name` (inside the unit, so the change
  // sees the row it changes), lets `change` act and add to the event
  // `action`, appends the event, and returns the user as the change left them.
  using Change = std::function<Status(Transaction&, const User&, AuditRecord&)>;
  Result<User> ChangeUser(const AuditRecord& by, const std::string& name, const std::string& action,
                          const Change& change);

  Writer& writer_;
  AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  const ScryptParams scrypt_;
};

}  // namespace cloister
