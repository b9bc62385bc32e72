// /v1/users: local accounts and their role bindings, managed by admins.
// Passwords an admin sets or resets must be changed at the next login; a
// password the appliance generates is shown once, in the response. Every
// change is one unit with its audit event (UserService); passwords never
// reach the ledger.
#include "appliance/api/routes.h"
#include "appliance/core/encoding.h"
#include "appliance/core/secure_bytes.h"
#include "appliance/identity/password_hasher.h"
#include "appliance/identity/user_service.h"
#include "appliance/identity/user_store.h"

namespace cloister {
namespace {

Json UserJson(const User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"roles", RoleBindingsJson(u.roles)},
          {"disabled", u.disabled()},
          {"disabled_at", OrNull(u.disabled_at)},
          {"must_change_password", u.must_change_password},
          {"certificate_subject", OrNull(u.certificate_subject)},
          {"created_at", u.created_at},
          {"password_changed_at", u.password_changed_at},
          {"last_login_at", OrNull(u.last_login_at)}};
}

// The password given in `field`, or a generated one (20 characters, 120 bits).
struct ChosenPassword {
  std::string text;
  bool generated = false;
};
Result<ChosenPassword> PasswordField(const Json& body, const std::string& field, Random& random) {
  CL_ASSIGN_OR_RETURN(auto given, OptionalString(body, field));
  if (given) {
    if (given->size() > 1024) return Status::InvalidArgument("passwords are limited to 1024 bytes");
    CL_RETURN_IF_ERROR(CheckPasswordPolicy(*given));
    return ChosenPassword{*given, false};
  }
  CL_ASSIGN_OR_RETURN(SecureBytes raw, SecureBytes::Generate(random, 15));
  return ChosenPassword{Base64UrlEncode(raw.view()), true};
}

Result<std::vector<RoleBinding>> RoleListField(Session& session, const Json& body) {
  std::vector<RoleBinding> out;
  if (!body.contains("roles")) return out;
  const Json& list = body["roles"];
  if (!list.is_array()) return Status::InvalidArgument("field \"roles\" must be a list of {\"role\", \"environment\"}");
  for (const Json& item : list) {
    if (!item.is_object()) return Status::InvalidArgument("field \"roles\" must be a list of {\"role\", \"environment\"}");
    CL_RETURN_IF_ERROR(CheckKnownFields(item, {"role", "environment"}));
    CL_ASSIGN_OR_RETURN(auto role, OptionalString(item, "role"));
    CL_ASSIGN_OR_RETURN(auto env, OptionalString(item, "environment"));
    CL_ASSIGN_OR_RETURN(Role parsed, RoleField(role.value_or(""), "roles[].role"));
    RoleBinding b{parsed, env.value_or("*")};
    CL_RETURN_IF_ERROR(CheckEnvironment(session, b.environment));
    out.push_back(b);
  }
  return out;
}

Result<HttpResponse> CreateUserHandler(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"username", "password", "roles", "certificate_subject"}));
  CL_ASSIGN_OR_RETURN(auto name, OptionalString(body, "username"));
  if (!name) return Status::InvalidArgument("field \"username\" is required");
  CL_RETURN_IF_ERROR(ValidateUserName(*name));
  CL_ASSIGN_OR_RETURN(auto subject, OptionalString(body, "certificate_subject"));
  CL_ASSIGN_OR_RETURN(std::vector<RoleBinding> roles, RoleListField(*session, body));
  CL_ASSIGN_OR_RETURN(ChosenPassword password, PasswordField(body, "password", ctx.random));
  NewAccount account{*name, password.text, password.generated, subject.value_or(""), roles};
  CL_ASSIGN_OR_RETURN(const User created,
                      UserServiceFor(ctx, session).CreateUser(EventTemplateOf(http), account));
  Json out = UserJson(created);
  if (password.generated) out["password"] = password.text;
  return HttpResponse::FromJson(201, out);
}

Result<HttpResponse> ListUsersHandler(ApiContext& ctx, HttpRequest&) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(auto users, session->store->reads().Read<std::vector<User>>(ListUsers));
  Json list = Json::array();
  for (const auto& u : users) list.push_back(UserJson(u));
  return HttpResponse::FromJson(200, {{"users", list}});
}

Result<HttpResponse> GetUserHandler(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(User user, session->store->reads().Read<User>([&](ReadView c) {
    return FindUser(c, http.path_params.at("name"));
  }));
  return HttpResponse::FromJson(200, UserJson(user));
}

// disable and enable. Disabling ends the user's sessions, and their tokens
// stop at once (tokens are checked against their owner at every request).
Result<HttpResponse> SetDisabledHandler(ApiContext& ctx, HttpRequest& http, bool disable) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {}));
  CL_ASSIGN_OR_RETURN(
      User after, UserServiceFor(ctx, session)
                      .SetDisabled(EventTemplateOf(http), http.path_params.at("name"), disable));
  return HttpResponse::FromJson(200, UserJson(after));
}

Result<HttpResponse> ResetPasswordHandler(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"password"}));
  CL_ASSIGN_OR_RETURN(ChosenPassword password, PasswordField(body, "password", ctx.random));
  CL_ASSIGN_OR_RETURN(User after,
                      UserServiceFor(ctx, session)
                          .ResetPassword(EventTemplateOf(http), http.path_params.at("name"),
                                         password.text, password.generated));
  Json out = UserJson(after);
  if (password.generated) out["password"] = password.text;
  return HttpResponse::FromJson(200, out);
}

Result<HttpResponse> SetCertificateHandler(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"subject"}));
  CL_ASSIGN_OR_RETURN(auto subject, OptionalString(body, "subject"));
  if (!subject) return Status::InvalidArgument("field \"subject\" is required (\"\" removes the certificate)");
  if (subject->size() > 1024) return Status::InvalidArgument("field \"subject\" is limited to 1024 bytes");
  CL_ASSIGN_OR_RETURN(User after, UserServiceFor(ctx, session)
                                      .SetCertificate(EventTemplateOf(http),
                                                      http.path_params.at("name"), *subject));
  return HttpResponse::FromJson(200, UserJson(after));
}

Result<HttpResponse> ListRolesHandler(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(User user, session->store->reads().Read<User>([&](ReadView c) {
    return FindUser(c, http.path_params.at("name"));
  }));
  return HttpResponse::FromJson(200, {{"user", user.name}, {"roles", RoleBindingsJson(user.roles)}});
}

// grant (POST, the binding in the body) and revoke (DELETE, in the path).
Result<HttpResponse> ChangeRoleHandler(ApiContext& ctx, HttpRequest& http, bool grant) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  RoleBinding binding;
  if (grant) {
    CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
    CL_RETURN_IF_ERROR(CheckKnownFields(body, {"role", "environment"}));
    CL_ASSIGN_OR_RETURN(auto role, OptionalString(body, "role"));
    CL_ASSIGN_OR_RETURN(auto env, OptionalString(body, "environment"));
    CL_ASSIGN_OR_RETURN(binding.role, RoleField(role.value_or(""), "role"));
    binding.environment = env.value_or("*");
    CL_RETURN_IF_ERROR(CheckEnvironment(*session, binding.environment));
  } else {
    CL_ASSIGN_OR_RETURN(binding.role, RoleField(http.path_params.at("role"), "role"));
    binding.environment = http.path_params.at("environment");
  }
  UserService& users = UserServiceFor(ctx, session);
  const std::string& name = http.path_params.at("name");
  CL_ASSIGN_OR_RETURN(User after, grant ? users.GrantRole(EventTemplateOf(http), name, binding)
                                        : users.RevokeRole(EventTemplateOf(http), name, binding));
  return HttpResponse::FromJson(grant ? 201 : 200, {{"user", after.name}, {"roles", RoleBindingsJson(after.roles)}});
}

}  // namespace

void AddUserRoutes(Router& router, ApiContext& ctx) {
  auto add = [&](const char* method, const char* pattern, std::function<Result<HttpResponse>(HttpRequest&)> fn) {
    router.Add({method, pattern, Access::kAuthenticated, false, std::move(fn)});
  };
  add("POST", "/v1/users", [&ctx](HttpRequest& r) { return CreateUserHandler(ctx, r); });
  add("GET", "/v1/users", [&ctx](HttpRequest& r) { return ListUsersHandler(ctx, r); });
  add("GET", "/v1/users/{name}", [&ctx](HttpRequest& r) { return GetUserHandler(ctx, r); });
  add("POST", "/v1/users/{name}/disable", [&ctx](HttpRequest& r) { return SetDisabledHandler(ctx, r, true); });
  add("POST", "/v1/users/{name}/enable", [&ctx](HttpRequest& r) { return SetDisabledHandler(ctx, r, false); });
  add("POST", "/v1/users/{name}/reset-password", [&ctx](HttpRequest& r) { return ResetPasswordHandler(ctx, r); });
  add("PUT", "/v1/users/{name}/certificate", [&ctx](HttpRequest& r) { return SetCertificateHandler(ctx, r); });
  add("GET", "/v1/users/{name}/roles", [&ctx](HttpRequest& r) { return ListRolesHandler(ctx, r); });
  add("POST", "/v1/users/{name}/roles", [&ctx](HttpRequest& r) { return ChangeRoleHandler(ctx, r, true); });
  add("DELETE", "/v1/users/{name}/roles/{role}/{environment}",
      [&ctx](HttpRequest& r) { return ChangeRoleHandler(ctx, r, false); });
}

}  // namespace cloister
