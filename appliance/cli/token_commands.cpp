// cloisterctl token create|list|revoke
#include <iostream>

#include "appliance/cli/commands.h"

namespace cloister {
namespace {

// "90s", "45m", "12h", "30d" -> seconds; 0 when malformed.
int64_t ParseDuration(const std::string& text) {
  if (text.size() < 2) return 0;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || n > (int64_t{1} << 40)) return 0;
    n = n * 10 + (text[i] - '0');
  }
  switch (text.back()) {
    case 's': return n;
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    default: return 0;
  }
}

// "roles: auditor; environments: prod" or "the owner's roles".
std::string Restriction(const Json& token) {
  auto join = [](const Json& list) {
    std::string out;
    for (const auto& item : list) out += (out.empty() ? "" : ",") + item.get<std::string>();
    return out;
  };
  const std::string roles = join(token["roles"]);
  const std::string envs = join(token["environments"]);
  if (roles.empty() && envs.empty()) return "the owner's roles";
  return "roles " + (roles.empty() ? std::string("(owner's)") : roles) + " in " + (envs.empty() ? "*" : envs);
}

}  // namespace

void AddTokenCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* token = app.add_subcommand("token", "Create, list and revoke API tokens");
  token->require_subcommand(1);

  struct CreateFlags {
    std::string name, owner, ttl;
    std::vector<std::string> roles, environments;
  };
  auto f = std::make_shared<CreateFlags>();
  CLI::App* create = token->add_subcommand("create", "Create a token; its secret is printed once");
  create->add_option("--name", f->name, "What the token is for")->required();
  create->add_option("--role", f->roles, "Restrict the token to this role, repeatable (default: the owner's roles)");
  create->add_option("--env", f->environments, "Restrict the token to this environment, repeatable (default: all)");
  create->add_option("--owner", f->owner, "The user the token acts for (default: you; admins may name anyone)");
  create->add_option("--ttl", f->ttl, "Lifetime, e.g. 12h or 30d (default: until revoked)");
  create->callback([&g, &exit_code, f] {
    Json body = {{"name", f->name}, {"roles", f->roles}, {"environments", f->environments}};
    if (!f->owner.empty()) body["owner"] = f->owner;
    if (!f->ttl.empty()) {
      const int64_t seconds = ParseDuration(f->ttl);
      if (seconds <= 0) {
        std::cerr << "Error: --ttl takes a number and s, m, h or d, e.g. 30d\n";
        exit_code = 1;
        return;
      }
      body["ttl_seconds"] = seconds;
    }
    auto r = Call(g, exit_code, "POST", "/v1/auth/tokens", body);
    if (!r || r->printed) return;
    const Json& j = r->json;
    std::cout << "Token:   " << j.value("token", "") << "\nId:      " << j.value("id", "")
              << "\nOwner:   " << j["owner"].value("name", "") << "\nLimits:  " << Restriction(j)
              << "\nExpires: " << (j["expires_at"].is_null() ? "never" : j["expires_at"].get<std::string>())
              << "\nThe token is shown only this once.\n";
  });

  CLI::App* list = token->add_subcommand("list", "List your tokens, or every token for an admin (never their secrets)");
  list->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/auth/tokens");
    if (!r || r->printed) return;
    SayIfEmpty(r->json["tokens"], "tokens");
    for (const auto& t : r->json["tokens"]) {
      const std::string state = !t["revoked_at"].is_null() ? "revoked" : "active";
      const std::string owner = t["owner"].is_object() ? t["owner"].value("name", "") : "-";
      std::cout << t["id"].get<std::string>() << "  " << state << "  " << owner << "  " << Restriction(t) << "  "
                << t["name"].get<std::string>() << "  last used "
                << (t["last_used_at"].is_null() ? "never" : t["last_used_at"].get<std::string>()) << "\n";
    }
  });

  auto id = std::make_shared<std::string>();
  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token; it stops working at once");
  revoke->add_option("id", *id, "The token's id (tok_...)")->required();
  revoke->callback([&g, &exit_code, id] {
    auto r = Call(g, exit_code, "DELETE", "/v1/auth/tokens/" + PathSegment(*id));
    if (r && !r->printed) std::cout << "Revoked " << *id << ".\n";
  });
}

}  // namespace cloister
