// Local user accounts and their role bindings. A user name is unique
// without regard to case ("Alice" and "alice" are one account; the name is
// shown as created). Passwords are stored only as scrypt hashes
// (password_hasher.h). Functions taking a Transaction write through the
// single writer; those taking a ReadView read. A stored role binding that
// names no role is corruption naming the role_bindings row.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/identity/roles.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct User {
  std::string id;  // "usr_<hex>", never reused
  std::string name;
  std::string password_hash;  // never leaves the identity module's callers
  bool must_change_password = false;
  std::string certificate_subject;  // RFC 4514 subject of the user's client certificate, or ""
  std::string created_at, password_changed_at;
  std::string disabled_at, last_login_at;  // "" when none
  std::vector<RoleBinding> roles;

  bool disabled() const { return !disabled_at.empty(); }
};

// invalid_argument unless `name` is 1-64 characters of letters, digits,
// '.', '_', '-' and '@', starting with a letter or digit.
Status ValidateUserName(std::string_view name);
// The case-folded form that makes names unique.
std::string UserNameKey(std::string_view name);

struct NewUser {
  std::string name;
  std::string password_hash;
  bool must_change_password = true;
  std::string certificate_subject;
  std::vector<RoleBinding> roles;
};

// already_exists when the name (in any case) or the certificate subject is taken.
Result<User> CreateUser(Transaction& tx, Random& random, const Clock& clock, const NewUser& user);

// not_found unless a user has this name (in any case) / id / certificate subject.
Result<User> FindUser(ReadView db, std::string_view name);
Result<User> FindUserById(ReadView db, std::string_view id);
Result<User> FindUserByCertificate(ReadView db, std::string_view subject);
Result<std::vector<User>> ListUsers(ReadView db);
Result<std::vector<RoleBinding>> UserRoles(ReadView db, std::string_view user_id);

Status SetPassword(Transaction& tx, const std::string& user_id, const std::string& password_hash,
                   bool must_change, const Clock& clock);
// failed_precondition when the user already is in that state.
Status SetDisabled(Transaction& tx, const std::string& user_id, bool disabled, const Clock& clock);
// "" clears it; already_exists when another user has the subject.
Status SetCertificateSubject(Transaction& tx, const std::string& user_id, const std::string& subject);
Status RecordLogin(Transaction& tx, const std::string& user_id, const Clock& clock);

// already_exists / not_found when the binding is / is not there.
Status GrantRole(Transaction& tx, const std::string& user_id, const RoleBinding& binding, const Clock& clock);
Status RevokeRole(Transaction& tx, const std::string& user_id, const RoleBinding& binding);

// failed_precondition when no enabled user other than `user_id` holds admin
// in every environment ("*"). Called before disabling `user_id` or taking
// that binding from it, so the appliance never locks its administrators out.
Status CheckAnotherAdminRemains(ReadView db, const std::string& user_id);

}  // namespace cloister
