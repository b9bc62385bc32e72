// automation ..., pipeline ..., env ..., promote, approve, reject, deploy,
// cancel, override, review, status, rollback and diff: the promotion
// workflow from the command line (docs/promotion-guide.md).
#include <iostream>
#include <memory>
#include <optional>

#include "appliance/cli/commands.h"
#include "appliance/core/files.h"
#include "governance/automation/automation.h"

namespace cloister {
namespace {

std::string S(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}
std::string Short(const std::string& id) { return id.substr(0, 12); }

std::optional<std::string> ReadInput(const std::string& path, int& exit_code) {
  auto text = ReadFile(path, automation::kMaxDefinitionBytes + 1);
  if (!text.ok()) {
    exit_code = Fail(text.status().message());
    return std::nullopt;
  }
  return *text;
}

void PrintPromotion(const Json& p) {
  std::cout << "Promotion " << S(p, "id") << ": " << S(p, "automation") << " "
            << Short(S(p, "version")) << " " << S(p, "from") << " -> " << S(p, "to")
            << (S(p, "kind") == "rollback" ? " (rollback)" : "")
            << (p.value("emergency", false) ? " EMERGENCY" : "") << "\n";
  std::cout << "  state      " << S(p, "state") << "\n";
  std::cout << "  requester  " << S(p, "requester") << ", author " << S(p, "author") << "\n";
  std::cout << "  version    " << S(p, "version") << "\n";
  if (!S(p, "scheduled_for").empty()) std::cout << "  scheduled  " << S(p, "scheduled_for") << "\n";
  if (!S(p, "reason").empty()) std::cout << "  reason     " << S(p, "reason") << "\n";
  std::cout << "  checks\n";
  for (const Json& c : p.value("checks", Json::array())) {
    std::cout << "    " << S(c, "status")
              << std::string(9 - std::min<size_t>(8, S(c, "status").size()), ' ') << S(c, "name")
              << ": " << S(c, "message") << "\n";
  }
  for (const Json& a : p.value("approvals", Json::array())) {
    std::cout << "  " << S(a, "decision") << "d by " << S(a, "user") << " at " << S(a, "at")
              << (S(a, "comment").empty() ? "" : ": " + S(a, "comment")) << "\n";
  }
  if (p.contains("review") && p["review"].is_object()) {
    std::cout << "  reviewed by " << S(p["review"], "user") << ": " << S(p["review"], "comment")
              << "\n";
  } else if (p.value("emergency", false)) {
    std::cout << "  NOT YET REVIEWED (break-glass): an approver must run `cloisterctl review "
              << S(p, "id") << "`\n";
  }
}

void PrintSettings(const Json& s) {
  auto list = [&](const char* key) {
    std::string out;
    for (const Json& h : s.value(key, Json::array()))
      out += (out.empty() ? "" : ", ") + (h.is_string() ? h.get<std::string>() : "");
    return out.empty() ? std::string("(none)") : out;
  };
  // The bundle's PEM text is long; its certificate count says what is in force.
  const std::string bundle = S(s, "ca_bundle");
  size_t certificates = 0;
  for (size_t at = bundle.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = bundle.find("-----BEGIN CERTIFICATE-----", at + 1)) {
    ++certificates;
  }
  std::cout << "Environment " << S(s, "environment") << "\n  egress_allow     "
            << list("egress_allow") << "\n  model_endpoints  " << list("model_endpoints")
            << "\n  ca_bundle        "
            << (bundle.empty() ? std::string("(none: the system trust store)")
                               : std::to_string(certificates) +
                                     (certificates == 1 ? " certificate" : " certificates"))
            << "\n";
}

void PrintChanges(const Json& changes, const std::string& indent) {
  for (const Json& c : changes) {
    const std::string op = S(c, "op");
    std::cout << indent
              << (op == "add"      ? "+ "
                  : op == "remove" ? "- "
                  : op == "move"   ? "> "
                                   : "~ ")
              << S(c, "path");
    if (op == "change") std::cout << ": " << c["from"].dump() << " -> " << c["to"].dump();
    if (op == "move") std::cout << " (was " << S(c, "from_path") << ")";
    std::cout << "\n";
  }
}

// The exit code of a request that created a promotion: 3 when the
// promotion ended blocked or rejected at once (a script must not go on as if
// it were on its way), 0 otherwise.
int RequestExitCode(const Json& promotion) {
  const std::string state = S(promotion, "state");
  if (state != "blocked" && state != "rejected") return 0;
  std::cerr << "Promotion " << TerminalSafe(S(promotion, "id")) << " is " << state << "\n";
  return 3;
}

// A promotion action: POST /v1/promotions/{id}/<verb> with `body`, printing the page.
void Act(GlobalOptions& g, int& exit_code, const std::string& id, const std::string& verb,
         const Json& body) {
  auto r = Call(g, exit_code, "POST", "/v1/promotions/" + PathSegment(id) + "/" + verb, body);
  if (r && !r->printed) PrintPromotion(r->json);
}

void AddAutomation(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* a = app.add_subcommand("automation", "Automation definitions and their versions");
  a->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto if_match = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  auto yaml = std::make_shared<bool>(false);

  CLI::App* validate = a->add_subcommand(
      "validate", "Check a definition offline; every problem with line and column");
  validate->add_option("file", *file)->required();
  validate->callback([&exit_code, file] {
    auto text = ReadInput(*file, exit_code);
    if (!text) return;
    const automation::ParseResult r = automation::Parse(*text);
    if (!r.ok()) {
      std::cerr << TerminalSafeLines(automation::FormatProblems(r.problems, *file));
      exit_code = 1;
      return;
    }
    std::cout << TerminalSafe(*file) << ": valid, version " << r.definition.id << "\n";
    for (const auto& v : r.definition.variables)
      std::cout << "  needs variable " << TerminalSafe(v) << "\n";
    for (const auto& s : r.definition.secrets)
      std::cout << "  needs secret " << TerminalSafe(s) << "\n";
  });

  CLI::App* save = a->add_subcommand(
      "save", "Save a definition in the first environment (a new version if it changed)");
  save->add_option("file", *file)->required();
  save->add_option("--if-match", *if_match, "Refuse unless this version is the one live now");
  save->callback([&g, &exit_code, file, if_match] {
    auto text = ReadInput(*file, exit_code);
    if (!text) return;
    const automation::ParseResult parsed = automation::Parse(*text);
    if (!parsed.ok()) {
      std::cerr << TerminalSafeLines(automation::FormatProblems(parsed.problems, *file));
      exit_code = 1;
      return;
    }
    ClientOptions options = g.client;
    if (!if_match->empty()) options.headers["If-Match"] = "\"" + *if_match + "\"";
    GlobalOptions with = g;
    with.client = options;
    auto r = Call(with, exit_code, "PUT", "/v1/automations/" + PathSegment(parsed.definition.name),
                  Json{{"source", *text}});
    if (r && !r->printed) {
      std::cout << (r->json.value("created", false) ? "Saved " : "Unchanged: ")
                << TerminalSafe(parsed.definition.name) << " version " << S(r->json, "version")
                << ", live in " << S(r->json, "environment") << "\n";
    }
  });

  CLI::App* list = a->add_subcommand("list", "List automations and what is live where");
  list->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/automations");
    if (!r || r->printed) return;
    SayIfEmpty(r->json.value("items", Json::array()), "automations");
    for (const Json& i : r->json.value("items", Json::array())) {
      std::cout << S(i, "name") << "  (" << i.value("versions", 0) << " versions)\n";
      for (const auto& [env, v] : i["live"].items()) {
        std::cout << "  " << env << ": " << (v.is_string() ? Short(v.get<std::string>()) : "-")
                  << "\n";
      }
    }
  });

  CLI::App* show =
      a->add_subcommand("show", "Show an automation, or print one version's stored bytes");
  show->add_option("name", *name)->required();
  show->add_option("--version", *version,
                   "Print this version (its canonical JSON, whose SHA-256 is the id)");
  show->add_flag("--yaml", *yaml, "With --version: the YAML as first saved");
  show->callback([&g, &exit_code, name, version, yaml] {
    if (version->empty()) {
      auto r = Call(g, exit_code, "GET", "/v1/automations/" + PathSegment(*name));
      if (!r || r->printed) return;
      std::cout << S(r->json, "name") << "  pipeline " << S(r->json, "pipeline") << "\n";
      for (const Json& v : r->json["versions"]) {
        std::cout << "  #" << v.value("seq", 0) << "  " << S(v, "id") << "  " << S(v, "author")
                  << "  " << S(v, "created_at") << "\n";
      }
      return;
    }
    auto r = Call(g, exit_code, "GET",
                  "/v1/automations/" + PathSegment(*name) + "/versions/" + PathSegment(*version) +
                      (*yaml ? "?format=yaml" : ""));
    if (r && !r->printed) std::cout << TerminalSafeLines(r->response.body) << (*yaml ? "" : "\n");
  });

  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  CLI::App* diff = a->add_subcommand("diff", "Structural difference between two versions");
  diff->add_option("name", *name)->required();
  diff->add_option("from", *from)->required();
  diff->add_option("to", *to)->required();
  diff->callback([&g, &exit_code, name, from, to] {
    auto r = Call(g, exit_code, "GET",
                  "/v1/automations/" + PathSegment(*name) + "/diff?from=" + PathSegment(*from) +
                      "&to=" + PathSegment(*to));
    if (r && !r->printed) PrintChanges(r->json["changes"], "  ");
  });
}

void AddEnvironment(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* e =
      app.add_subcommand("env", "Environment variables, secrets, live versions and history");
  e->require_subcommand(1);
  auto env = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto automation_name = std::make_shared<std::string>();
  for (const bool secret : {false, true}) {
    const std::string noun = secret ? "secret" : "var";
    CLI::App* group = e->add_subcommand(noun, secret ? "Write-only secrets" : "Plain variables");
    group->require_subcommand(1);
    CLI::App* set = group->add_subcommand(
        "set", secret ? "Set a secret (the value is read from standard input)" : "Set a variable");
    set->add_option("environment", *env)->required();
    set->add_option("name", *name)->required();
    if (!secret) set->add_option("value", *value)->required();
    set->callback([&g, &exit_code, env, name, value, secret] {
      const std::string v = secret ? ReadSecret("Value of secret " + *name) : *value;
      auto r = Call(g, exit_code, "PUT",
                    "/v1/environments/" + PathSegment(*env) +
                        (secret ? "/secrets/" : "/variables/") + PathSegment(*name),
                    Json{{"value", v}});
      if (r && !r->printed)
        std::cout << "Set " << (secret ? "secret " : "variable ") << *name << " in " << *env
                  << "\n";
    });
    CLI::App* del = group->add_subcommand("delete", "Delete one");
    del->add_option("environment", *env)->required();
    del->add_option("name", *name)->required();
    del->callback([&g, &exit_code, env, name, secret] {
      auto r = Call(g, exit_code, "DELETE",
                    "/v1/environments/" + PathSegment(*env) +
                        (secret ? "/secrets/" : "/variables/") + PathSegment(*name));
      if (r && !r->printed) std::cout << "Deleted " << *name << " from " << *env << "\n";
    });
    CLI::App* list = group->add_subcommand(
        "list", secret ? "List secret names (never values)" : "List variables");
    list->add_option("environment", *env)->required();
    list->callback([&g, &exit_code, env, secret] {
      auto r = Call(g, exit_code, "GET",
                    "/v1/environments/" + PathSegment(*env) + (secret ? "/secrets" : "/variables"));
      if (!r || r->printed) return;
      SayIfEmpty(r->json["items"], secret ? "secrets" : "variables");
      for (const Json& i : r->json["items"]) {
        std::cout << "  " << S(i, "name") << (secret ? "" : " = " + S(i, "value")) << "  ("
                  << S(i, "updated_by") << ", " << S(i, "updated_at") << ")\n";
      }
    });
  }
  CLI::App* settings = e->add_subcommand(
      "settings", "The hosts an environment's steps may call and the CAs they trust");
  settings->require_subcommand(1);
  CLI::App* settings_get = settings->add_subcommand("get", "Show an environment's settings");
  settings_get->add_option("environment", *env)->required();
  settings_get->callback([&g, &exit_code, env] {
    auto r = Call(g, exit_code, "GET", "/v1/environments/" + PathSegment(*env) + "/settings");
    if (r && !r->printed) PrintSettings(r->json);
  });
  struct SettingsFlags {
    std::vector<std::string> egress, models;
    std::string ca_bundle_file;
    bool clear_egress = false, clear_models = false, clear_ca_bundle = false;
  };
  auto sf = std::make_shared<SettingsFlags>();
  CLI::App* settings_set = settings->add_subcommand(
      "set", "Replace an environment's settings (admin); a list not given keeps its current value");
  settings_set->add_option("environment", *env)->required();
  settings_set->add_option("--egress-allow", sf->egress,
                           "Host or glob HTTP steps may call, repeatable");
  settings_set->add_option("--model-endpoint", sf->models,
                           "Host or glob LLM steps may call, repeatable");
  settings_set->add_flag("--clear-egress-allow", sf->clear_egress, "Allow no HTTP hosts");
  settings_set->add_flag("--clear-model-endpoints", sf->clear_models, "Allow no model endpoints");
  settings_set->add_option("--ca-bundle", sf->ca_bundle_file,
                           "PEM file of the CA certificates HTTPS steps verify services against");
  settings_set->add_flag("--clear-ca-bundle", sf->clear_ca_bundle,
                         "Verify HTTPS services against the system trust store");
  settings_set->callback([&g, &exit_code, env, sf] {
    if ((!sf->egress.empty() && sf->clear_egress) || (!sf->models.empty() && sf->clear_models) ||
        (!sf->ca_bundle_file.empty() && sf->clear_ca_bundle)) {
      exit_code = Fail("give a value or its --clear flag, not both");
      return;
    }
    if (sf->egress.empty() && sf->models.empty() && sf->ca_bundle_file.empty() &&
        !sf->clear_egress && !sf->clear_models && !sf->clear_ca_bundle) {
      exit_code = Fail(
          "nothing to set: give --egress-allow, --model-endpoint, --ca-bundle or a --clear flag");
      return;
    }
    std::optional<std::string> ca_bundle;
    if (sf->clear_ca_bundle) ca_bundle = "";
    if (!sf->ca_bundle_file.empty()) {
      auto pem = ReadFile(sf->ca_bundle_file, 1 << 20);  // the appliance takes at most 1 MiB
      if (!pem.ok()) {
        exit_code = Fail(pem.status().message());
        return;
      }
      ca_bundle = std::move(pem).value();
    }
    const std::string path = "/v1/environments/" + PathSegment(*env) + "/settings";
    GlobalOptions quiet = g;
    quiet.json = false;
    auto current = Call(quiet, exit_code, "GET", path);
    if (!current) return;
    Json body = {{"egress_allow", current->raw.value("egress_allow", Json::array())},
                 {"model_endpoints", current->raw.value("model_endpoints", Json::array())}};
    if (!sf->egress.empty() || sf->clear_egress) body["egress_allow"] = sf->egress;
    if (!sf->models.empty() || sf->clear_models) body["model_endpoints"] = sf->models;
    if (ca_bundle) body["ca_bundle"] = *ca_bundle;  // absent: the appliance keeps the bundle it has
    auto r = Call(g, exit_code, "PUT", path, body);
    if (r && !r->printed) PrintSettings(r->json);
  });

  CLI::App* live =
      e->add_subcommand("live", "Which version of each automation is live in an environment");
  live->add_option("environment", *env)->required();
  live->callback([&g, &exit_code, env] {
    auto r = Call(g, exit_code, "GET", "/v1/environments/" + PathSegment(*env) + "/live");
    if (!r || r->printed) return;
    SayIfEmpty(r->json["items"], "live versions");
    for (const Json& i : r->json["items"]) {
      std::cout << "  " << S(i, "automation") << "  " << S(i, "version") << "  since "
                << S(i, "since") << "\n";
    }
  });
  CLI::App* history =
      e->add_subcommand("history", "Deployment history of an environment, newest first");
  history->add_option("environment", *env)->required();
  history->add_option("--automation", *automation_name);
  history->callback([&g, &exit_code, env, automation_name] {
    auto r = Call(g, exit_code, "GET",
                  "/v1/environments/" + PathSegment(*env) +
                      "/deployments?automation=" + PathSegment(*automation_name));
    if (!r || r->printed) return;
    SayIfEmpty(r->json["items"], "deployments");
    for (const Json& i : r->json["items"]) {
      std::cout << "  " << S(i, "deployed_at") << "  " << S(i, "automation") << "  "
                << Short(S(i, "version")) << "  " << S(i, "kind") << " by " << S(i, "deployed_by")
                << (i["previous_version"].is_string()
                        ? "  (was " + Short(S(i, "previous_version")) + ")"
                        : "")
                << "\n";
    }
  });
}

void AddPromotion(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto automation_name = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  auto at = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto comment = std::make_shared<std::string>();
  auto emergency = std::make_shared<bool>(false);
  auto id = std::make_shared<std::string>();

  CLI::App* promote = app.add_subcommand("promote", "Request a promotion to the next environment");
  promote->add_option("automation", *automation_name)->required();
  promote->add_option("--to", *to, "Target environment")->required();
  promote->add_option("--version", *version,
                      "Version id (default: the one live in the source environment)");
  promote->add_option("--at", *at,
                      "Deploy at this time (RFC 3339), if the pipeline allows scheduling");
  promote->add_flag("--emergency", *emergency,
                    "Break-glass: skip what the pipeline allows; needs --reason");
  promote->add_option("--reason", *reason, "Why (required with --emergency)");
  promote->callback([&g, &exit_code, automation_name, to, version, at, emergency, reason] {
    Json body = {{"automation", *automation_name}, {"to", *to}};
    if (!version->empty()) body["version"] = *version;
    if (!at->empty()) body["scheduled_for"] = *at;
    if (*emergency) body["emergency"] = true;
    if (!reason->empty()) body["reason"] = *reason;
    auto r = Call(g, exit_code, "POST", "/v1/promotions", body);
    if (!r) return;
    if (!r->printed) PrintPromotion(r->json);
    exit_code = RequestExitCode(r->raw);
  });

  CLI::App* approve = app.add_subcommand("approve", "Approve a promotion (bound to its version)");
  approve->add_option("id", *id)->required();
  approve->add_option("--version", *version,
                      "The version you reviewed (default: the promotion's, printed)");
  approve->add_option("--comment", *comment);
  approve->callback([&g, &exit_code, id, version, comment] {
    std::string v = *version;
    if (v.empty()) {
      auto p = Call(g, exit_code, "GET", "/v1/promotions/" + PathSegment(*id));
      if (!p) return;
      v = S(p->raw, "version");
      if (!g.json) std::cout << "Approving version " << TerminalSafe(v) << "\n";
    }
    Act(g, exit_code, *id, "approve", {{"version", v}, {"comment", *comment}});
  });
  CLI::App* reject = app.add_subcommand("reject", "Reject a promotion");
  reject->add_option("id", *id)->required();
  reject->add_option("--comment", *comment, "Why")->required();
  reject->callback([&g, &exit_code, id, comment] {
    Act(g, exit_code, *id, "reject", {{"comment", *comment}});
  });
  CLI::App* deploy = app.add_subcommand("deploy", "Deploy an approved promotion");
  deploy->add_option("id", *id)->required();
  deploy->callback([&g, &exit_code, id] { Act(g, exit_code, *id, "deploy", Json::object()); });
  CLI::App* cancel = app.add_subcommand("cancel", "Cancel an open promotion");
  cancel->add_option("id", *id)->required();
  cancel->add_option("--reason", *reason);
  cancel->callback([&g, &exit_code, id, reason] {
    Act(g, exit_code, *id, "cancel", {{"reason", *reason}});
  });
  CLI::App* override_cmd =
      app.add_subcommand("override", "Override a soft-mandatory policy failure");
  override_cmd->add_option("id", *id)->required();
  override_cmd->add_option("--reason", *reason)->required();
  override_cmd->callback([&g, &exit_code, id, reason] {
    Act(g, exit_code, *id, "override", {{"reason", *reason}});
  });
  CLI::App* review = app.add_subcommand("review", "Review a break-glass promotion after the fact");
  review->add_option("id", *id)->required();
  review->add_option("--comment", *comment)->required();
  review->callback([&g, &exit_code, id, comment] {
    Act(g, exit_code, *id, "review", {{"comment", *comment}});
  });

  auto state = std::make_shared<std::string>();
  auto unreviewed = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand(
      "status", "Show a promotion and why it is where it is, or list promotions");
  status->add_option("id", *id);
  status->add_option("--state", *state, "List: open, or one state");
  status->add_flag("--unreviewed", *unreviewed, "List: break-glass promotions not yet reviewed");
  status->callback([&g, &exit_code, id, state, unreviewed] {
    if (!id->empty()) {
      auto r = Call(g, exit_code, "GET", "/v1/promotions/" + PathSegment(*id));
      if (r && !r->printed) PrintPromotion(r->json);
      return;
    }
    std::string q = "/v1/promotions?state=" + PathSegment(state->empty() ? "open" : *state);
    if (*unreviewed) q = "/v1/promotions?emergency=unreviewed";
    auto r = Call(g, exit_code, "GET", q);
    if (!r || r->printed) return;
    SayIfEmpty(r->json["items"], "promotions");
    for (const Json& p : r->json["items"]) {
      std::cout << S(p, "id") << "  " << S(p, "automation") << "  " << S(p, "from") << " -> "
                << S(p, "to") << "  " << S(p, "state")
                << (p.value("emergency", false) ? "  EMERGENCY" : "") << "\n";
    }
  });

  auto env = std::make_shared<std::string>();
  CLI::App* rollback =
      app.add_subcommand("rollback", "Make the previously live version live again (gated)");
  rollback->add_option("automation", *automation_name)->required();
  rollback->add_option("--env", *env)->required();
  rollback->add_option("--reason", *reason)->required();
  rollback->callback([&g, &exit_code, automation_name, env, reason] {
    auto r = Call(g, exit_code, "POST", "/v1/environments/" + PathSegment(*env) + "/rollbacks",
                  Json{{"automation", *automation_name}, {"reason", *reason}});
    if (!r) return;
    if (!r->printed) PrintPromotion(r->json);
    exit_code = RequestExitCode(r->raw);
  });

  auto from = std::make_shared<std::string>();
  CLI::App* diff =
      app.add_subcommand("diff", "What promoting from one environment to another would change");
  diff->add_option("--from", *from)->required();
  diff->add_option("--to", *to)->required();
  diff->callback([&g, &exit_code, from, to] {
    auto r = Call(g, exit_code, "GET",
                  "/v1/environment-diff?from=" + PathSegment(*from) + "&to=" + PathSegment(*to));
    if (!r || r->printed) return;
    for (const Json& a : r->json["automations"]) {
      std::cout << S(a, "automation") << ": " << S(a, "status") << " ("
                << Short(S(a, "from_version")) << " in " << *from << ", "
                << (a["to_version"].is_string() ? Short(S(a, "to_version")) : "nothing") << " in "
                << *to << ")\n";
      PrintChanges(a["changes"], "    ");
      for (const Json& v : a["missing_variables"])
        std::cout << "    missing in " << *to << ": variable " << v.get<std::string>() << "\n";
      for (const Json& s : a["missing_secrets"])
        std::cout << "    missing in " << *to << ": secret " << s.get<std::string>() << "\n";
    }
    for (const Json& v : r->json["variables_only_in_from"])
      std::cout << "variable only in " << *from << ": " << v.get<std::string>() << "\n";
    for (const Json& s : r->json["secrets_only_in_from"])
      std::cout << "secret only in " << *from << ": " << s.get<std::string>() << "\n";
  });

  CLI::App* pipeline = app.add_subcommand("pipeline", "Promotion pipelines");
  pipeline->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  CLI::App* put =
      pipeline->add_subcommand("put", "Store a new version of a pipeline from a YAML file");
  put->add_option("name", *name)->required();
  put->add_option("file", *file)->required();
  put->callback([&g, &exit_code, name, file] {
    auto text = ReadInput(*file, exit_code);
    if (!text) return;
    auto r =
        Call(g, exit_code, "PUT", "/v1/pipelines/" + PathSegment(*name), Json{{"source", *text}});
    if (r && !r->printed)
      std::cout << "Pipeline " << *name << " version " << r->json.value("version", 0) << "\n";
  });
  CLI::App* list = pipeline->add_subcommand("list", "List the pipelines in force");
  list->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/pipelines");
    if (!r || r->printed) return;
    SayIfEmpty(r->json["items"], "pipelines");
    for (const Json& p : r->json["items"]) {
      std::string stages;
      const Json stage_list =
          p.value("stages", Json::object());  // items() must not outlive what it iterates
      for (const auto& [env, stage] : stage_list.items())
        stages += (stages.empty() ? "" : ", ") + env;
      std::cout << S(p, "name") << "  v" << p.value("version", 0) << "  " << S(p, "origin")
                << "  stages " << (stages.empty() ? "-" : stages) << "  " << S(p, "description")
                << "\n";
    }
  });
  CLI::App* show =
      pipeline->add_subcommand("show", "Print a pipeline's YAML (default: the default pipeline)");
  show->add_option("name", *name);
  show->callback([&g, &exit_code, name] {
    auto r = Call(g, exit_code, "GET",
                  "/v1/pipelines/" + PathSegment(name->empty() ? "default" : *name));
    if (r && !r->printed) std::cout << TerminalSafeLines(S(r->raw, "source"));
  });
}

}  // namespace

void AddPromotionCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  AddAutomation(app, g, exit_code);
  AddEnvironment(app, g, exit_code);
  AddPromotion(app, g, exit_code);
}

}  // namespace cloister
