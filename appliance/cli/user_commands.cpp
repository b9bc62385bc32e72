// cloisterctl login|logout|whoami|passwd, user create|list|disable|enable|reset-password,
// role grant|revoke|list, lockout list|clear
#include <iostream>

#include "appliance/cli/commands.h"

namespace cloister {
namespace {

std::string Text(const Json& j, const char* key, const char* none = "-") {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : none;
}

std::string RolesText(const Json& roles) {
  std::string out;
  for (const auto& b : roles) out += (out.empty() ? "" : ",") + Text(b, "role") + "@" + Text(b, "environment");
  return out.empty() ? "(no roles)" : out;
}

// "author@dev" -> {"role": "author", "environment": "dev"}; "admin" -> in "*".
Json RoleSpec(const std::string& text) {
  const size_t at = text.find('@');
  return {{"role", text.substr(0, at)}, {"environment", at == std::string::npos ? "*" : text.substr(at + 1)}};
}

void AddSessionCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto username = std::make_shared<std::string>();
  CLI::App* login = app.add_subcommand(
      "login", "Log in (password prompted, or a client certificate with --client-cert) and keep the session in " +
                   StoredTokenPath());
  login->add_option("username", *username, "Your user name; omit it to log in with --client-cert");
  login->callback([&g, &exit_code, username] {
    Json body = {{"return_token", true}};
    if (!username->empty()) {
      body["username"] = *username;
      body["password"] = ReadSecret("Password for " + *username);
    } else if (g.client.client_cert.empty()) {
      std::cerr << "Error: give a user name, or a client certificate with --client-cert and --client-key\n";
      exit_code = 1;
      return;
    }
    g.client.token.clear();  // a login never rides on an older credential
    auto r = Call(g, exit_code, "POST", "/v1/auth/login", body);
    if (!r) return;
    if (Status st = StoreToken(r->raw.value("token", "")); !st.ok()) {
      exit_code = Fail("saving the session: " + st.message());
      return;
    }
    if (r->printed) return;
    const Json& j = r->json;
    std::cout << "Logged in as " << Text(j["user"], "name") << " (" << RolesText(j["roles"]) << ").\n"
              << "Session " << Text(j["session"], "id") << " ends at " << Text(j["session"], "expires_at")
              << " or after " << j["session"].value("idle_timeout_seconds", 0) << " s idle.\n";
    if (j.value("password_change_required", false)) {
      std::cout << "Your password was set by an admin: change it now with cloisterctl passwd\n";
    }
  });

  CLI::App* logout = app.add_subcommand("logout", "End the saved session and forget it");
  logout->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "POST", "/v1/auth/logout");
    ForgetStoredToken();
    if (r && !r->printed) std::cout << "Logged out.\n";
  });

  CLI::App* whoami = app.add_subcommand("whoami", "Show who the current credential stands for");
  whoami->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/auth/whoami");
    if (!r || r->printed) return;
    const Json& j = r->json;
    std::cout << "User:    " << (j["user"].is_object() ? Text(j["user"], "name") : "(none)") << "\n"
              << "Via:     "
              << (j.contains("token") ? "API token " + Text(j["token"], "name") + " (" + Text(j["token"], "id") + ")"
                                      : "session " + Text(j["session"], "id"))
              << "\nRoles:   " << RolesText(j["roles"]) << "\n";
    if (j.value("password_change_required", false)) std::cout << "The password must be changed: cloisterctl passwd\n";
  });

  CLI::App* passwd = app.add_subcommand("passwd", "Change your password (ends your other sessions)");
  passwd->callback([&g, &exit_code] {
    const std::string current = ReadSecret("Current password");
    const std::string next = ReadSecret("New password (at least 12 characters)");
    const std::string again = ReadSecret("New password again");
    if (next != again) {
      std::cerr << "Error: the new passwords differ\n";
      exit_code = 1;
      return;
    }
    auto r = Call(g, exit_code, "POST", "/v1/auth/password", {{"current_password", current}, {"new_password", next}});
    if (!r) return;
    // The old session ended with the change; keep the new one.
    if (r->raw.contains("token") && g.client.token == LoadStoredToken()) {
      if (Status st = StoreToken(r->raw["token"]); !st.ok()) std::cerr << "Warning: " << TerminalSafe(st.message()) << "\n";
    }
    if (!r->printed) std::cout << "Password changed; your other sessions have ended.\n";
  });
}

void PrintPassword(const Json& j) {
  if (j.contains("password")) {
    std::cout << "Temporary password: " << Text(j, "password")
              << "\nIt is shown only this once and must be changed at the first login.\n";
  }
}

void AddUserAdminCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* user = app.add_subcommand("user", "Manage user accounts (admin)");
  user->require_subcommand(1);

  struct CreateFlags {
    std::string name, subject;
    std::vector<std::string> roles;
    bool password_stdin = false;
  };
  auto f = std::make_shared<CreateFlags>();
  CLI::App* create = user->add_subcommand("create", "Create a user; a temporary password is generated unless given");
  create->add_option("name", f->name, "User name (case-insensitive, unique)")->required();
  create->add_option("--role", f->roles, "ROLE or ROLE@ENVIRONMENT, repeatable (e.g. author@dev)");
  create->add_option("--certificate-subject", f->subject, "RFC 4514 subject of the user's client certificate");
  create->add_flag("--password-stdin", f->password_stdin, "Read the temporary password from standard input");
  create->callback([&g, &exit_code, f] {
    Json body = {{"username", f->name}, {"roles", Json::array()}};
    for (const auto& r : f->roles) body["roles"].push_back(RoleSpec(r));
    if (!f->subject.empty()) body["certificate_subject"] = f->subject;
    if (f->password_stdin) body["password"] = ReadSecret("Temporary password");
    auto r = Call(g, exit_code, "POST", "/v1/users", body);
    if (!r || r->printed) return;
    std::cout << "Created user " << Text(r->json, "name") << " (" << RolesText(r->json["roles"]) << ").\n";
    PrintPassword(r->json);
  });

  CLI::App* list = user->add_subcommand("list", "List users");
  list->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/users");
    if (!r || r->printed) return;
    SayIfEmpty(r->json["users"], "users");
    for (const auto& u : r->json["users"]) {
      std::cout << Text(u, "name") << "  " << (u.value("disabled", false) ? "disabled" : "enabled") << "  "
                << RolesText(u["roles"]) << "  last login " << Text(u, "last_login_at", "never")
                << (u.value("must_change_password", false) ? "  (must change password)" : "") << "\n";
    }
  });

  for (const char* action : {"disable", "enable"}) {
    auto name = std::make_shared<std::string>();
    CLI::App* cmd = user->add_subcommand(
        action, std::string(action) == "disable" ? "Disable a user: their sessions end and tokens stop at once"
                                                 : "Enable a disabled user");
    cmd->add_option("name", *name, "User name")->required();
    cmd->callback([&g, &exit_code, name, action] {
      auto r = Call(g, exit_code, "POST", "/v1/users/" + PathSegment(*name) + "/" + action);
      if (r && !r->printed) std::cout << (std::string(action) == "disable" ? "Disabled " : "Enabled ") << *name << ".\n";
    });
  }

  auto reset_name = std::make_shared<std::string>();
  auto reset_stdin = std::make_shared<bool>(false);
  CLI::App* reset = user->add_subcommand("reset-password", "Set a temporary password; the user must change it at login");
  reset->add_option("name", *reset_name, "User name")->required();
  reset->add_flag("--password-stdin", *reset_stdin, "Read the temporary password from standard input");
  reset->callback([&g, &exit_code, reset_name, reset_stdin] {
    Json body = Json::object();
    if (*reset_stdin) body["password"] = ReadSecret("Temporary password");
    auto r = Call(g, exit_code, "POST", "/v1/users/" + PathSegment(*reset_name) + "/reset-password", body);
    if (!r || r->printed) return;
    std::cout << "Reset the password of " << *reset_name << "; their sessions have ended.\n";
    PrintPassword(r->json);
  });
}

void AddRoleCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* role = app.add_subcommand("role", "Grant, revoke and list role bindings (admin)");
  role->require_subcommand(1);
  struct Flags {
    std::string user, role, env = "*";
  };
  for (const bool grant : {true, false}) {
    auto f = std::make_shared<Flags>();
    CLI::App* cmd = role->add_subcommand(grant ? "grant" : "revoke",
                                         grant ? "Give a user a role in an environment" : "Take a role from a user");
    cmd->add_option("user", f->user, "User name")->required();
    cmd->add_option("role", f->role, "admin, author, approver, operator or auditor")->required();
    cmd->add_option("--env", f->env, "Environment, or * for all (default)");
    cmd->callback([&g, &exit_code, f, grant] {
      auto r = grant ? Call(g, exit_code, "POST", "/v1/users/" + PathSegment(f->user) + "/roles",
                            {{"role", f->role}, {"environment", f->env}})
                     : Call(g, exit_code, "DELETE", "/v1/users/" + PathSegment(f->user) + "/roles/" + PathSegment(f->role) + "/" + PathSegment(f->env));
      if (r && !r->printed) std::cout << f->user << ": " << RolesText(r->json["roles"]) << "\n";
    });
  }
  auto user = std::make_shared<std::string>();
  CLI::App* list = role->add_subcommand("list", "List the role bindings of one user, or of all");
  list->add_option("user", *user, "User name (default: every user)");
  list->callback([&g, &exit_code, user] {
    auto r = Call(g, exit_code, "GET", user->empty() ? "/v1/users" : "/v1/users/" + PathSegment(*user) + "/roles");
    if (!r || r->printed) return;
    if (!user->empty()) {
      std::cout << Text(r->json, "user") << ": " << RolesText(r->json["roles"]) << "\n";
      return;
    }
    SayIfEmpty(r->json["users"], "users");
    for (const auto& u : r->json["users"]) std::cout << Text(u, "name") << ": " << RolesText(u["roles"]) << "\n";
  });
}

void AddLockoutCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* lockout = app.add_subcommand("lockout", "Show and clear failed-login backoff (admin)");
  lockout->require_subcommand(1);
  CLI::App* list = lockout->add_subcommand("list", "Accounts and addresses with failed logins that still count");
  list->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/auth/lockouts");
    if (!r || r->printed) return;
    SayIfEmpty(r->json["lockouts"], "lockouts");
    for (const auto& l : r->json["lockouts"]) {
      // Accounts are keyed by HMAC; the user's name is shown when it is one.
      const std::string who = l["user"].is_string() ? Text(l, "user") + " (" + Text(l, "key") + ")" : Text(l, "key");
      std::cout << Text(l, "kind") << "  " << who << "  " << l.value("failures", 0) << " failures  "
                << (l["locked_until"].is_string() ? "locked until " + Text(l, "locked_until") : "not locked") << "\n";
    }
  });
  auto kind = std::make_shared<std::string>();
  auto key = std::make_shared<std::string>();
  CLI::App* clear = lockout->add_subcommand("clear", "Forget the failed logins of an account or an address");
  clear->add_option("kind", *kind, "account or address")->required()->check(CLI::IsMember({"account", "address"}));
  clear->add_option("key", *key, "The user name (or the HMAC a listing shows) or the IP address")->required();
  clear->callback([&g, &exit_code, kind, key] {
    auto r = Call(g, exit_code, "DELETE", "/v1/auth/lockouts/" + *kind + "/" + PathSegment(*key));
    if (r && !r->printed) std::cout << "Cleared " << *kind << " " << *key << ".\n";
  });
}

}  // namespace

void AddUserCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  AddSessionCommands(app, g, exit_code);
  AddUserAdminCommands(app, g, exit_code);
  AddRoleCommands(app, g, exit_code);
  AddLockoutCommands(app, g, exit_code);
}

}  // namespace cloister
