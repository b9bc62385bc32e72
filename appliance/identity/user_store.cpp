#include "appliance/identity/user_store.h"

#include "appliance/core/encoding.h"
#include "appliance/core/secure_bytes.h"

namespace cloister {
namespace {

constexpr std::string_view kUserColumns =
    "id, name, password_hash, must_change_password, certificate_subject, created_at, password_changed_at, "
    "disabled_at, last_login_at";

User DecodeUser(const Row& row) {
  User u;
  u.id = row.Text(0);
  u.name = row.Text(1);
  u.password_hash = row.Text(2);
  u.must_change_password = row.Int(3) != 0;
  u.certificate_subject = row.Text(4);
  u.created_at = row.Text(5);
  u.password_changed_at = row.Text(6);
  u.disabled_at = row.Text(7);
  u.last_login_at = row.Text(8);
  return u;
}

Result<User> FindOne(ReadView db, const std::string& where, std::string_view value, const std::string& what) {
  CL_ASSIGN_OR_RETURN(std::optional<User> u,
                      db.Select("users", "SELECT " + std::string(kUserColumns) + " FROM users WHERE " + where)
                          .Bind(1, value)
                          .ReadOne(DecodeUser));
  if (!u) return Status::NotFound("no user " + what).WithReason("user_not_found");
  CL_ASSIGN_OR_RETURN(u->roles, UserRoles(db, u->id));
  return std::move(*u);
}

bool IsUniqueViolation(const Status& st) { return st.message().find("UNIQUE constraint failed") != std::string::npos; }

}  // namespace

Status ValidateUserName(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && name.size() <= 64 && alnum(name[0]);
  for (char c : name) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-' || c == '@');
  if (ok) return Status::Ok();
  return Status::InvalidArgument("user name \"" + std::string(name.substr(0, 64)) +
                                 "\" must be 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter "
                                 "or digit");
}

std::string UserNameKey(std::string_view name) {
  std::string key(name);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

Result<User> CreateUser(Transaction& tx, Random& random, const Clock& clock, const NewUser& user) {
  CL_RETURN_IF_ERROR(ValidateUserName(user.name));
  CL_ASSIGN_OR_RETURN(SecureBytes raw_id, SecureBytes::Generate(random, 8));
  User u;
  u.id = "usr_" + HexEncode(raw_id.data(), raw_id.size());
  u.name = user.name;
  u.password_hash = user.password_hash;
  u.must_change_password = user.must_change_password;
  u.certificate_subject = user.certificate_subject;
  u.created_at = u.password_changed_at = FormatTimestamp(clock.Now());
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(
      "INSERT INTO users (id, name, name_key, password_hash, must_change_password, certificate_subject, created_at, "
      "password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, u.id).Bind(2, u.name).Bind(3, UserNameKey(u.name)).Bind(4, u.password_hash);
  s->Bind(5, int64_t{u.must_change_password}).Bind(7, u.created_at).Bind(8, u.password_changed_at);
  if (u.certificate_subject.empty()) {
    s->BindNull(6);
  } else {
    s->Bind(6, u.certificate_subject);
  }
  if (Status st = s->Run(); !st.ok()) {
    if (IsUniqueViolation(st)) {
      // The column SQLite names, not the statement's text (which lists every column).
      return Status::AlreadyExists(st.message().find("failed: users.certificate_subject") != std::string::npos
                                       ? "another user has the certificate subject \"" + u.certificate_subject + "\""
                                       : "a user named \"" + u.name + "\" already exists (names ignore case)")
          .WithReason("already_exists");
    }
    return st;
  }
  for (const RoleBinding& b : user.roles) {
    Status granted = GrantRole(tx, u.id, b, clock);
    if (granted.code() == StatusCode::kAlreadyExists) continue;  // listed twice
    CL_RETURN_IF_ERROR(granted);
    u.roles.push_back(b);
  }
  return u;
}

Result<User> FindUser(ReadView db, std::string_view name) {
  return FindOne(db, "name_key = ?", UserNameKey(name), "named \"" + std::string(name.substr(0, 64)) + "\"");
}

Result<User> FindUserById(ReadView db, std::string_view id) {
  return FindOne(db, "id = ?", id, "with id " + std::string(id.substr(0, 64)));
}

Result<User> FindUserByCertificate(ReadView db, std::string_view subject) {
  return FindOne(db, "certificate_subject = ?", subject, "has the certificate subject \"" + std::string(subject) + "\"");
}

Result<std::vector<User>> ListUsers(ReadView db) {
  CL_ASSIGN_OR_RETURN(std::vector<User> out,
                      db.Select("users", "SELECT " + std::string(kUserColumns) + " FROM users ORDER BY name_key")
                          .ReadAll(DecodeUser));
  for (User& u : out) {
    CL_ASSIGN_OR_RETURN(u.roles, UserRoles(db, u.id));
  }
  return out;
}

Result<std::vector<RoleBinding>> UserRoles(ReadView db, std::string_view user_id) {
  // Rows are named "<user id>/<environment>" in corruption reports; the role is what is reported.
  return db.Select("role_bindings", "SELECT user_id || '/' || environment, role, environment FROM role_bindings "
                                    "WHERE user_id = ? ORDER BY environment, role")
      .Bind(1, user_id)
      .ReadAll([](const Row& row) -> Result<RoleBinding> {
        const std::string name = row.Text(1);
        const auto role = ParseRole(name);
        if (!role) return row.Corrupt("role \"" + name + "\" is not a role");
        return RoleBinding{*role, row.Text(2)};
      });
}

Status SetPassword(Transaction& tx, const std::string& user_id, const std::string& password_hash, bool must_change,
                   const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(
      "UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ? WHERE id = ?"));
  CL_RETURN_IF_ERROR(
      s->Bind(1, password_hash).Bind(2, int64_t{must_change}).Bind(3, FormatTimestamp(clock.Now())).Bind(4, user_id).Run());
  if (tx.Changes() == 0) return Status::NotFound("no user with id " + user_id);
  return Status::Ok();
}

Status SetDisabled(Transaction& tx, const std::string& user_id, bool disabled, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare(disabled ? "UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL"
                                          : "UPDATE users SET disabled_at = NULL WHERE id = ?2 AND disabled_at IS NOT NULL"));
  if (disabled) s->Bind(1, FormatTimestamp(clock.Now()));
  CL_RETURN_IF_ERROR(s->Bind(2, user_id).Run());
  if (tx.Changes() == 0) {
    return Status::FailedPrecondition(std::string("the user is already ") + (disabled ? "disabled" : "enabled"))
        .WithReason(disabled ? "already_disabled" : "already_enabled");
  }
  return Status::Ok();
}

Status SetCertificateSubject(Transaction& tx, const std::string& user_id, const std::string& subject) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE users SET certificate_subject = ? WHERE id = ?"));
  if (subject.empty()) {
    s->BindNull(1);
  } else {
    s->Bind(1, subject);
  }
  Status st = s->Bind(2, user_id).Run();
  if (IsUniqueViolation(st)) {
    return Status::AlreadyExists("another user has the certificate subject \"" + subject + "\"")
        .WithReason("already_exists");
  }
  return st;
}

Status RecordLogin(Transaction& tx, const std::string& user_id, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE users SET last_login_at = ? WHERE id = ?"));
  return s->Bind(1, FormatTimestamp(clock.Now())).Bind(2, user_id).Run();
}

Status GrantRole(Transaction& tx, const std::string& user_id, const RoleBinding& binding, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(
      "INSERT OR IGNORE INTO role_bindings (user_id, role, environment, created_at) VALUES (?, ?, ?, ?)"));
  CL_RETURN_IF_ERROR(s->Bind(1, user_id)
                         .Bind(2, RoleName(binding.role))
                         .Bind(3, binding.environment)
                         .Bind(4, FormatTimestamp(clock.Now()))
                         .Run());
  if (tx.Changes() == 0) {
    return Status::AlreadyExists("the user already has the role " + std::string(RoleName(binding.role)) + " in " +
                                 binding.environment)
        .WithReason("already_exists");
  }
  return Status::Ok();
}

Status RevokeRole(Transaction& tx, const std::string& user_id, const RoleBinding& binding) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("DELETE FROM role_bindings WHERE user_id = ? AND role = ? AND environment = ?"));
  CL_RETURN_IF_ERROR(s->Bind(1, user_id).Bind(2, RoleName(binding.role)).Bind(3, binding.environment).Run());
  if (tx.Changes() == 0) {
    return Status::NotFound("the user does not have the role " + std::string(RoleName(binding.role)) + " in " +
                            binding.environment);
  }
  return Status::Ok();
}

Status CheckAnotherAdminRemains(ReadView db, const std::string& user_id) {
  CL_ASSIGN_OR_RETURN(const int64_t others,
                      db.Select("role_bindings", "SELECT count(*) FROM role_bindings b JOIN users u ON u.id = b.user_id "
                                                 "WHERE b.role = 'admin' AND b.environment = '*' AND "
                                                 "u.disabled_at IS NULL AND u.id != ?")
                          .Bind(1, user_id)
                          .ReadInt());
  if (others > 0) return Status::Ok();
  return Status::FailedPrecondition(
             "this is the last enabled user with the admin role in every environment; grant admin on * to another "
             "user first")
      .WithReason("last_admin");
}

}  // namespace cloister
