#include "appliance/identity/user_service.h"

#include "appliance/identity/identity_events.h"
#include "appliance/identity/session_store.h"

namespace cloister {

Result<User> UserService::CreateUser(const AuditRecord& by, const NewAccount& account) {
  NewUser spec;
  spec.name = account.name;
  CL_ASSIGN_OR_RETURN(spec.password_hash, HashPassword(account.password, random_, scrypt_));
  spec.must_change_password = true;
  spec.certificate_subject = account.certificate_subject;
  spec.roles = account.roles;
  return writer_.Write<User>([&](Transaction& tx) -> Result<User> {
    CL_ASSIGN_OR_RETURN(User user, cloister::CreateUser(tx, random_, clock_, spec));
    AuditRecord event = UserEvent(by, "user.create", user);
    event.details["roles"] = RoleBindingsToJson(user.roles);
    event.details["certificate_subject"] = spec.certificate_subject;
    event.details["password_generated"] = account.password_generated;
    CL_RETURN_IF_ERROR(ledger_.Append(tx, event).status());
    return user;
  });
}

Result<User> UserService::SetDisabled(const AuditRecord& by, const std::string& name,
                                      bool disabled) {
  const Change change = [&](Transaction& tx, const User& user, AuditRecord& event) -> Status {
    if (!disabled) return cloister::SetDisabled(tx, user.id, false, clock_);
    if (Grants(user.roles, {Role::kAdmin}, "*")) {
      CL_RETURN_IF_ERROR(CheckAnotherAdminRemains(tx.view(), user.id));
    }
    CL_RETURN_IF_ERROR(cloister::SetDisabled(tx, user.id, true, clock_));
    CL_ASSIGN_OR_RETURN(const int64_t ended, RevokeUserSessions(tx, user.id, clock_));
    event.details["sessions_ended"] = ended;
    return Status::Ok();
  };
  return ChangeUser(by, name, disabled ? "user.disable" : "user.enable", change);
}

Result<User> UserService::ResetPassword(const AuditRecord& by, const std::string& name,
                                        const std::string& password, bool password_generated) {
  CL_ASSIGN_OR_RETURN(const std::string hash, HashPassword(password, random_, scrypt_));
  const Change change = [&](Transaction& tx, const User& user, AuditRecord& event) -> Status {
    CL_RETURN_IF_ERROR(SetPassword(tx, user.id, hash, /*must_change=*/true, clock_));
    CL_ASSIGN_OR_RETURN(const int64_t ended, RevokeUserSessions(tx, user.id, clock_));
    event.details["sessions_ended"] = ended;
    event.details["password_generated"] = password_generated;
    return Status::Ok();
  };
  return ChangeUser(by, name, "user.password.reset", change);
}

Result<User> UserService::SetCertificate(const AuditRecord& by, const std::string& name,
                                         const std::string& subject) {
  const Change change = [&](Transaction& tx, const User& user, AuditRecord& event) {
    event.details["certificate_subject"] = subject;
    return SetCertificateSubject(tx, user.id, subject);
  };
  return ChangeUser(by, name, "user.certificate", change);
}

namespace {

// role.grant and role.revoke name the binding; an event about every
// environment belongs to none.
void DescribeBinding(const RoleBinding& binding, AuditRecord& event) {
  event.env = binding.environment == "*" ? "" : binding.environment;
  event.details["role"] = RoleName(binding.role);
  event.details["environment"] = binding.environment;
}

}  // namespace

Result<User> UserService::GrantRole(const AuditRecord& by, const std::string& name,
                                    const RoleBinding& binding) {
  const Change change = [&](Transaction& tx, const User& user, AuditRecord& event) {
    DescribeBinding(binding, event);
    return cloister::GrantRole(tx, user.id, binding, clock_);
  };
  return ChangeUser(by, name, "role.grant", change);
}

Result<User> UserService::RevokeRole(const AuditRecord& by, const std::string& name,
                                     const RoleBinding& binding) {
  const Change change = [&](Transaction& tx, const User& user, AuditRecord& event) -> Status {
    DescribeBinding(binding, event);
    if (binding.role == Role::kAdmin && binding.environment == "*" && !user.disabled()) {
      CL_RETURN_IF_ERROR(CheckAnotherAdminRemains(tx.view(), user.id));
    }
    return cloister::RevokeRole(tx, user.id, binding);
  };
  return ChangeUser(by, name, "role.revoke", change);
}

Result<InitialAdmin> UserService::CreateInitialAdmin(Transaction& tx, Random& random,
                                                     const Clock& clock, const std::string& name,
                                                     const std::string& password_hash) {
  NewUser admin;
  admin.name = name;
  admin.password_hash = password_hash;
  admin.must_change_password = false;
  admin.roles = {{Role::kAdmin, "*"}};
  InitialAdmin out;
  CL_ASSIGN_OR_RETURN(out.user, cloister::CreateUser(tx, random, clock, admin));
  CL_ASSIGN_OR_RETURN(
      out.token, CreateToken(tx, random, clock, {"initial admin token", out.user.id, {}, {}, ""}));
  return out;
}

Result<User> UserService::ChangeUser(const AuditRecord& by, const std::string& name,
                                     const std::string& action, const Change& change) {
  return writer_.Write<User>([&](Transaction& tx) -> Result<User> {
    CL_ASSIGN_OR_RETURN(User user, FindUser(tx.view(), name));
    AuditRecord event = UserEvent(by, action, user);
    CL_RETURN_IF_ERROR(change(tx, user, event));
    CL_RETURN_IF_ERROR(ledger_.Append(tx, event).status());
    return FindUserById(tx.view(), user.id);
  });
}

}  // namespace cloister
