#include "governance/policy/policy_tests.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "appliance/core/files.h"
#include "appliance/core/strict_yaml.h"

namespace cloister::policy {
namespace {

namespace fs = std::filesystem;

bool IsFixture(const fs::path& p) { return p.filename().string().ends_with("_test.yaml"); }

Result<std::vector<std::string>> YamlFiles(const std::string& dir, bool fixtures) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir + ": not a directory");
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".yaml") continue;
    if (IsFixture(it->path()) == fixtures) out.push_back(it->path().string());
  }
  if (ec) return Status::Unavailable(dir + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Where(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(node.Mark().line + 1) + ":" + std::to_string(node.Mark().column + 1);
}

// A fixture's YAML input as JSON, read by the schema's types so that "1" is
// a string where the schema says string.
Result<Json> ToInput(const YAML::Node& node, const Type& type, const std::string& file, const std::string& path) {
  auto error = [&](const std::string& what) {
    return Status::InvalidArgument(Where(file, node) + ": " + (path.empty() ? "input" : path) + ": " + what);
  };
  if (!node || node.IsNull()) return Json(nullptr);
  switch (type.kind) {
    case Kind::kBool:
      if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return Json(node.Scalar() == "true");
      return error("expected true or false");
    case Kind::kInt: {
      int64_t v = 0;
      if (node.IsScalar() && YAML::convert<int64_t>::decode(node, v)) return Json(v);
      return error("expected an integer");
    }
    case Kind::kTime:
    case Kind::kString:
      if (node.IsScalar()) return Json(node.Scalar());
      return error("expected a " + type.Name());
    case Kind::kList: {
      if (!node.IsSequence()) return error("expected a list");
      Json out = Json::array();
      for (size_t i = 0; i < node.size(); ++i) {
        CL_ASSIGN_OR_RETURN(Json item, ToInput(node[i], *type.element, file, path + "[" + std::to_string(i) + "]"));
        out.push_back(std::move(item));
      }
      return out;
    }
    case Kind::kObject: {
      if (!node.IsMap()) return error("expected a mapping");
      Json out = Json::object();
      for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        const int slot = type.FieldSlot(key);
        const std::string sub = path.empty() ? key : path + "." + key;
        if (slot < 0) {
          return Status::InvalidArgument(Where(file, kv.first) + ": unknown input field \"" + sub +
                                         "\" (fields here: " + type.FieldNames() + ")");
        }
        CL_ASSIGN_OR_RETURN(out[key], ToInput(kv.second, *type.fields[static_cast<size_t>(slot)].second, file, sub));
      }
      return out;
    }
  }
  return error("unsupported type");
}

void Merge(Json& base, const Json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  for (auto it = over.begin(); it != over.end(); ++it) Merge(base[it.key()], it.value());
}

std::string Join(const std::set<std::string>& items) {
  std::string out = "[";
  for (const auto& i : items) out += (out.size() > 1 ? ", " : "") + i;
  return out + "]";
}

class FixtureRunner {
 public:
  FixtureRunner(const PolicySet& set, PolicyTestReport& report) : set_(set), report_(report) {}

  Status Run(const std::string& file) {
    CL_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 4 << 20));
    CL_ASSIGN_OR_RETURN(YAML::Node root, LoadStrictYaml(text, file));
    const YamlMap top(root, file, "");
    CL_RETURN_IF_ERROR(top.CheckIsMap());
    CL_RETURN_IF_ERROR(top.CheckKnownKeys({"policies", "input", "cases"}));
    CL_ASSIGN_OR_RETURN(std::vector<std::string> names, top.StringList("policies", {}));
    if (names.empty()) return top.Error("policies", "name the policies under test");
    std::vector<const Policy*> policies;
    for (const auto& n : names) {
      const auto it = set_.policies().find(n);
      if (it == set_.policies().end()) return top.Error("policies", "no policy \"" + n + "\" in the directory");
      if (!policies.empty() && it->second.hook != policies[0]->hook) {
        return top.Error("policies", "the policies under test must share one hook");
      }
      policies.push_back(&it->second);
    }
    const Schema& schema = *HookSchema(policies[0]->hook);
    CL_ASSIGN_OR_RETURN(Json base, ToInput(top.Child("input"), schema.root(), file, ""));
    if (base.is_null()) base = Json::object();
    const YAML::Node cases = top.Child("cases");
    if (!cases.IsSequence() || cases.size() == 0) return top.Error("cases", "expected a list of one or more cases");
    for (size_t i = 0; i < cases.size(); ++i) {
      const YamlMap c(cases[i], file, "cases[" + std::to_string(i) + "]");
      CL_RETURN_IF_ERROR(c.CheckIsMap());
      CL_RETURN_IF_ERROR(c.CheckKnownKeys({"name", "input", "expect"}));
      CaseResult result;
      result.file = file;
      CL_ASSIGN_OR_RETURN(result.name, c.String("name", ""));
      if (result.name.empty()) return c.Error("name", "every case needs a name");
      CL_ASSIGN_OR_RETURN(Json input, ToInput(c.Child("input"), schema.root(), file, ""));
      Json merged = base;
      if (!input.is_null()) Merge(merged, input);
      CL_ASSIGN_OR_RETURN(YamlMap expect, c.Map("expect"));
      CL_RETURN_IF_ERROR(expect.CheckKnownKeys({"decision", "failing"}));
      CL_ASSIGN_OR_RETURN(std::string decision, expect.String("decision", ""));
      if (decision != "allow" && decision != "deny") return expect.Error("decision", "must be allow or deny");
      CL_ASSIGN_OR_RETURN(std::vector<std::string> failing, expect.StringList("failing", {}));
      auto doc = Document::Bind(schema, merged);
      if (!doc.ok()) return Status::InvalidArgument(Where(file, cases[i]) + ": " + doc.status().message());
      Check(policies, *doc, decision, std::set<std::string>(failing.begin(), failing.end()), result);
      report_.failures += result.passed ? 0 : 1;
      report_.cases.push_back(std::move(result));
    }
    return Status::Ok();
  }

 private:
  void Check(const std::vector<const Policy*>& policies, const Document& doc, const std::string& decision,
             const std::set<std::string>& want, CaseResult& result) {
    std::vector<RuleVerdict> verdicts;
    for (const Policy* p : policies) EvaluatePolicy(*p, doc, evaluator_, verdicts);
    std::set<std::string> got;
    std::string details;
    for (const auto& v : verdicts) {
      RuleCoverage& cov = report_.coverage[v.policy->name + "/" + v.rule->id];
      if (v.failed()) {
        ++cov.failed;
        got.insert(v.rule->id);
        details += "\n      " + v.rule->id + ": " + v.message + (v.error.empty() ? "" : " (" + v.error + ")");
      } else if (v.verdict == Verdict::kPass) {
        ++cov.passed;
      }
    }
    const std::string got_decision = got.empty() ? "allow" : "deny";
    result.passed = got_decision == decision && got == want;
    if (!result.passed) {
      result.failure = "expected " + decision + " with failing " + Join(want) + ", got " + got_decision +
                       " with failing " + Join(got) + details;
    }
  }

  const PolicySet& set_;
  PolicyTestReport& report_;
  Evaluator evaluator_;
};

}  // namespace

Result<std::vector<SourceDocument>> ReadPolicyDirectory(const std::string& dir) {
  CL_ASSIGN_OR_RETURN(std::vector<std::string> files, YamlFiles(dir, false));
  std::vector<SourceDocument> out;
  for (const auto& f : files) {
    CL_ASSIGN_OR_RETURN(std::string text, ReadFile(f, 1 << 20));
    out.push_back({f, std::move(text)});
  }
  return out;
}

int PolicyTestReport::CoveragePercent() const {
  if (coverage.empty()) return 0;
  int covered = 0;
  for (const auto& [rule, c] : coverage) covered += c.failed > 0 ? 1 : 0;
  return static_cast<int>(covered * 100 / static_cast<int>(coverage.size()));
}

std::string PolicyTestReport::Text() const {
  std::string out;
  std::string file;
  for (const auto& c : cases) {
    if (c.file != file) {
      file = c.file;
      out += file + "\n";
    }
    out += (c.passed ? "  ok    " : "  FAIL  ") + c.name + "\n";
    if (!c.passed) out += "      " + c.failure + "\n";
  }
  out += "\nrule coverage (cases failing / passing):\n";
  for (const auto& [rule, c] : coverage) {
    out += "  " + rule + std::string(rule.size() < 52 ? 52 - rule.size() : 1, ' ') + std::to_string(c.failed) +
           " / " + std::to_string(c.passed) + (c.failed == 0 ? "   never seen failing" : "") + "\n";
  }
  out += "\n" + std::to_string(cases.size()) + " cases, " + std::to_string(failures) + " failed; " +
         std::to_string(CoveragePercent()) + "% of " + std::to_string(coverage.size()) +
         " rules seen failing\n";
  return out;
}

Result<PolicyTestReport> RunPolicyTests(const std::string& dir) {
  CL_ASSIGN_OR_RETURN(std::vector<SourceDocument> docs, ReadPolicyDirectory(dir));
  CL_ASSIGN_OR_RETURN(std::shared_ptr<const PolicySet> set, PolicySet::Build(docs));
  CL_ASSIGN_OR_RETURN(std::vector<std::string> fixtures, YamlFiles(dir, true));
  if (fixtures.empty()) return Status::NotFound(dir + ": no *_test.yaml fixtures");
  PolicyTestReport report;
  // Every rule of the directory is listed, so one no case reaches shows.
  for (const auto& [name, p] : set->policies()) {
    for (const auto& r : p.rules) report.coverage[name + "/" + r.id];
  }
  FixtureRunner runner(*set, report);
  for (const auto& f : fixtures) CL_RETURN_IF_ERROR(runner.Run(f));
  return report;
}

}  // namespace cloister::policy
