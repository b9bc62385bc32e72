// cloisterctl policy test|eval|list|show|history|put|delete|reload, and the
// same for bindings under `policy binding ...`.
#include <iostream>

#include "appliance/cli/commands.h"
#include "appliance/core/files.h"
#include "governance/policy/policy_tests.h"

namespace cloister {
namespace {

std::string Str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "-";
}

Result<Json> ReadJsonOrYamlFile(const std::string& path) {
  CL_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 8 << 20));
  return ParseJson(text);
}

// Prints a decision the way an admin reads it: the outcome, then each failing
// rule with its message, clause and the values it saw.
void PrintDecision(const Json& d) {
  std::cout << "Outcome: " << Str(d, "outcome") << (d.value("allowed", false) ? " (allowed)" : " (blocked)") << "\n"
            << "Policy set: " << Str(d, "policy_set_digest") << "\n";
  if (d.contains("override_roles")) {
    std::string roles;
    for (const auto& r : d["override_roles"]) roles += (roles.empty() ? "" : ", ") + r.get<std::string>();
    std::cout << "May be overridden, with a reason, by: " << roles << "\n";
  }
  if (d.contains("override_refused")) std::cout << "Override refused: " << Str(d, "override_refused") << "\n";
  for (const auto& b : d.value("bindings", Json::array())) {
    std::cout << "\n" << Str(b, "binding") << " [" << Str(b, "level") << "]: " << (b.value("failed", false) ? "FAILED" : "passed")
              << "\n";
    for (const auto& v : b.value("verdicts", Json::array())) {
      std::cout << "  " << Str(v, "verdict") << "  " << Str(v, "policy") << "/" << Str(v, "rule") << "\n";
      if (!v.contains("message")) continue;
      std::cout << "        " << Str(v, "message") << "\n";
      if (v.contains("clause")) std::cout << "        clause: " << Str(v, "clause") << "\n";
      if (v.contains("error")) std::cout << "        error: " << Str(v, "error") << "\n";
      for (const auto& o : v.value("observed", Json::array())) {
        std::cout << "        " << Str(o, "expr") << " = " << o["value"].dump() << "\n";
      }
    }
  }
}

// `policy ...` or `policy binding ...`: the same verbs on two collections.
void AddDocumentCommands(CLI::App& parent, GlobalOptions& g, int& exit_code, const std::string& collection,
                         const std::string& noun) {
  const std::string base = "/v1/" + collection;
  CLI::App* list = parent.add_subcommand("list", "List the " + noun + "s in force");
  list->callback([&g, &exit_code, base, collection, noun] {
    auto r = Call(g, exit_code, "GET", base);
    if (!r || r->printed) return;
    std::cout << "Policy set " << Str(r->json, "policy_set_digest") << "\n";
    SayIfEmpty(r->json.value("items", Json::array()), noun + "s");
    for (const auto& p : r->json.value("items", Json::array())) {
      std::cout << "  " << Str(p, "name") << "  hook " << Str(p, "hook") << "  v" << p.value("version", 0) << "  "
                << Str(p, "origin") << "  " << Str(p, "digest").substr(0, 12) << "\n";
    }
  });

  auto name = std::make_shared<std::string>();
  auto version = std::make_shared<int>(0);
  CLI::App* show = parent.add_subcommand("show", "Print a " + noun + "'s YAML (the version in force, or --version)");
  show->add_option("name", *name)->required();
  show->add_option("--version", *version, "A stored version");
  show->callback([&g, &exit_code, base, name, version] {
    std::string path = base + "/" + PathSegment(*name);
    if (*version > 0) path += "?version=" + std::to_string(*version);
    auto r = Call(g, exit_code, "GET", path);
    if (r && !r->printed) std::cout << TerminalSafeLines(Str(r->raw, "source"));
  });

  CLI::App* history = parent.add_subcommand("history", "List a " + noun + "'s stored versions");
  history->add_option("name", *name)->required();
  history->callback([&g, &exit_code, base, name] {
    auto r = Call(g, exit_code, "GET", base + "/" + PathSegment(*name) + "/versions");
    if (!r || r->printed) return;
    SayIfEmpty(r->json.value("versions", Json::array()), "stored versions");
    for (const auto& v : r->json.value("versions", Json::array())) {
      std::cout << "  v" << v.value("version", 0) << "  " << Str(v, "created_at") << "  " << Str(v, "created_by")
                << (v.value("deleted", false) ? "  (deleted)" : "  " + Str(v, "digest").substr(0, 12)) << "\n";
    }
  });

  auto file = std::make_shared<std::string>();
  CLI::App* put = parent.add_subcommand("put", "Store a new version of a " + noun + " from a YAML file");
  put->add_option("file", *file)->required();
  put->callback([&g, &exit_code, base, file, noun] {
    auto text = ReadFile(*file, 1 << 20);
    if (!text.ok()) {
      exit_code = Fail(text.status().message());
      return;
    }
    auto header = policy::ReadHeader({*file, *text});
    if (!header.ok()) {
      exit_code = Fail(header.status().message());
      return;
    }
    auto r = Call(g, exit_code, "PUT", base + "/" + PathSegment(header->name), Json{{"source", *text}});
    if (r && !r->printed) {
      std::cout << "Stored " << noun << " " << TerminalSafe(header->name) << " version " << r->json.value("version", 0)
                << "; policy set " << Str(r->json, "policy_set_digest") << "\n";
    }
  });

  CLI::App* del = parent.add_subcommand("delete", "Remove a " + noun + " (its versions stay in the history)");
  del->add_option("name", *name)->required();
  del->callback([&g, &exit_code, base, name, noun] {
    auto r = Call(g, exit_code, "DELETE", base + "/" + PathSegment(*name));
    if (r && !r->printed) std::cout << "Deleted " << noun << " " << *name << "\n";
  });
}

}  // namespace

void AddPolicyCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* policy = app.add_subcommand("policy", "Test, evaluate and manage policies and policy bindings");
  policy->require_subcommand(1);

  struct TestFlags {
    std::string dir;
    int min_coverage = 0;
  };
  auto t = std::make_shared<TestFlags>();
  CLI::App* test = policy->add_subcommand("test", "Run the *_test.yaml fixtures of a policy directory (offline)");
  test->add_option("dir", t->dir, "Directory of policies and fixtures")->required();
  test->add_option("--min-coverage", t->min_coverage, "Fail unless this percentage of rules is seen failing");
  test->callback([&exit_code, t] {
    auto report = policy::RunPolicyTests(t->dir);
    if (!report.ok()) {
      exit_code = Fail(report.status().message());
      return;
    }
    std::cout << TerminalSafeLines(report->Text());
    if (report->failures > 0) exit_code = 1;
    if (report->CoveragePercent() < t->min_coverage) {
      std::cout << "Coverage " << report->CoveragePercent() << "% is below the required " << t->min_coverage << "%\n";
      exit_code = 1;
    }
  });

  struct EvalFlags {
    std::string hook, env, input, reason;
    std::vector<std::string> documents;
    bool shadow = false;
  };
  auto e = std::make_shared<EvalFlags>();
  CLI::App* eval = policy->add_subcommand("eval", "What-if: evaluate an input against the policies in force");
  eval->add_option("--hook", e->hook, "promotion, automation.save, run.step or api.request")->required();
  eval->add_option("--env", e->env, "The environment whose bindings apply")->required();
  eval->add_option("--input", e->input, "JSON file with the hook's input document")->required();
  eval->add_option("--with", e->documents, "A policy or binding YAML to use in place of the stored one, repeatable");
  eval->add_option("--override-reason", e->reason, "Evaluate as if you overrode soft-mandatory failures");
  eval->add_flag("--include-shadow", e->shadow, "Show shadow bindings too (admins on *)");
  eval->callback([&g, &exit_code, e] {
    auto input = ReadJsonOrYamlFile(e->input);
    if (!input.ok()) {
      exit_code = Fail(e->input + ": " + input.status().message());
      return;
    }
    Json body = {{"hook", e->hook}, {"environment", e->env}, {"input", *input}, {"include_shadow", e->shadow}};
    Json docs = Json::array();
    for (const auto& path : e->documents) {
      auto text = ReadFile(path, 1 << 20);
      if (!text.ok()) {
        exit_code = Fail(text.status().message());
        return;
      }
      docs.push_back(*text);
    }
    if (!docs.empty()) body["documents"] = docs;
    if (!e->reason.empty()) body["override"] = {{"reason", e->reason}};
    auto r = Call(g, exit_code, "POST", "/v1/policy/evaluate", body);
    if (!r) return;
    if (!r->printed) PrintDecision(r->json);
    if (!r->raw.value("allowed", false)) exit_code = 1;  // a script can branch on the decision
  });

  CLI::App* reload = policy->add_subcommand("reload", "Reload the policy directory; on error the set in force stays");
  reload->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "POST", "/v1/policy/reload");
    if (r && !r->printed) std::cout << "Policy set " << Str(r->json, "policy_set_digest") << " in force\n";
  });

  AddDocumentCommands(*policy, g, exit_code, "policies", "policy");
  CLI::App* binding = policy->add_subcommand("binding", "Manage policy bindings");
  binding->require_subcommand(1);
  AddDocumentCommands(*binding, g, exit_code, "policy-bindings", "policy binding");
}

}  // namespace cloister
