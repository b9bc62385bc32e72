// Strict loading of Policy and PolicyBinding documents.
#include <set>

#include "appliance/core/encoding.h"
#include "appliance/core/strict_yaml.h"
#include "governance/policy/policy.h"

namespace cloister::policy {
namespace {

constexpr size_t kMaxDocumentBytes = 256 * 1024;
constexpr size_t kMaxRules = 256;

Status TooBig(const SourceDocument& doc) {
  return Status::InvalidArgument(doc.origin + ": document is " + std::to_string(doc.text.size()) +
                                 " bytes; the limit is " + std::to_string(kMaxDocumentBytes));
}

// Where a scalar's text begins, 1-based: past the quote of a quoted scalar,
// on the first content line of a block scalar ("|" or ">").
std::pair<int, int> ScalarStart(std::string_view text, const YAML::Mark& mark) {
  int line = mark.line + 1, column = mark.column + 1;
  if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= text.size()) return {line, column};
  const char c = text[static_cast<size_t>(mark.pos)];
  if (c == '"' || c == '\'') return {line, column + 1};
  if (c == '|' || c == '>') {
    size_t p = text.find('\n', static_cast<size_t>(mark.pos));
    if (p == std::string_view::npos) return {line, column};
    size_t q = p + 1;
    while (q < text.size() && text[q] == ' ') ++q;
    return {line + 1, static_cast<int>(q - p)};
  }
  return {line, column};
}

struct Header {
  std::string kind, name, description, hook;

  // The fields Policy and PolicyBinding share.
  template <class T>
  void Fill(T& out, const SourceDocument& doc) const {
    out.name = name;
    out.description = description;
    out.hook = hook;
    out.origin = doc.origin;
    out.source = doc.text;
    out.digest = Sha256Hex(doc.text);
  }
};

Result<Header> ReadCommon(const YamlMap& top) {
  Header h;
  CL_RETURN_IF_ERROR(top.CheckIsMap());
  CL_ASSIGN_OR_RETURN(std::string api, top.String("apiVersion", ""));
  if (api != "cloister/v1") return top.Error("apiVersion", "must be \"cloister/v1\", got \"" + api + "\"");
  CL_ASSIGN_OR_RETURN(h.kind, top.String("kind", ""));
  if (h.kind != "Policy" && h.kind != "PolicyBinding") {
    return top.Error("kind", "must be Policy or PolicyBinding, got \"" + h.kind + "\"");
  }
  CL_ASSIGN_OR_RETURN(YamlMap meta, top.Map("metadata"));
  CL_RETURN_IF_ERROR(meta.CheckKnownKeys({"name", "description"}));
  CL_ASSIGN_OR_RETURN(h.name, meta.String("name", ""));
  if (!ValidName(h.name)) {
    return meta.Error("name", "must be 1-64 characters of a-z, 0-9, '.', '_' and '-', got \"" + h.name + "\"");
  }
  CL_ASSIGN_OR_RETURN(h.description, meta.String("description", ""));
  CL_ASSIGN_OR_RETURN(h.hook, top.String("hook", ""));
  if (HookSchema(h.hook) == nullptr) {
    std::string hooks;
    for (const auto& name : HookNames()) hooks += (hooks.empty() ? "" : ", ") + name;
    return top.Error("hook", "must be one of " + hooks + ", got \"" + h.hook + "\"");
  }
  return h;
}

Result<YAML::Node> Parse(const SourceDocument& doc) {
  if (doc.text.size() > kMaxDocumentBytes) return TooBig(doc);
  // Everything a policy says ends up in JSON answers and audit events.
  if (!IsValidUtf8(doc.text)) return Status::InvalidArgument(doc.origin + ": document is not valid UTF-8");
  return LoadStrictYaml(doc.text, doc.origin);
}

class RuleReader {
 public:
  RuleReader(const SourceDocument& doc, const Schema& schema) : doc_(doc), schema_(schema) {}

  Result<Program> Expr(const YamlMap& map, const std::string& key, const Type* want) const {
    const YAML::Node node = map.Child(key);
    if (!node.IsScalar()) return map.Error(key, "expected an expression");
    const auto [line, column] = ScalarStart(doc_.text, node.Mark());
    auto program = CompileText(node.Scalar(), schema_, want, line, column);
    if (!program.ok()) {
      return Status::InvalidArgument(doc_.origin + ":" + program.status().message() + " (in " + map.KeyPath(key) + ")");
    }
    return program;
  }

  Result<MessageTemplate> Message(const YamlMap& map, const std::string& key, const std::string& fallback) const {
    MessageTemplate out;
    const YAML::Node node = map.Child(key);
    if (node && !node.IsNull() && !node.IsScalar()) return map.Error(key, "expected a string");
    const std::string text = node && node.IsScalar() ? node.Scalar() : fallback;
    const auto [line, column] = node && node.IsScalar() ? ScalarStart(doc_.text, node.Mark()) : std::pair{1, 1};
    size_t pos = 0;
    for (;;) {
      const size_t open = text.find("{{", pos);
      if (open == std::string::npos) break;
      const size_t close = text.find("}}", open + 2);
      if (close == std::string::npos) return map.Error(key, "\"{{\" without a closing \"}}\"");
      if (out.placeholders.size() >= 16) return map.Error(key, "more than 16 placeholders");
      out.literals.push_back(text.substr(pos, open - pos));
      auto program = CompileText(text.substr(open + 2, close - open - 2), schema_, nullptr, line,
                                 column + static_cast<int>(open) + 2);
      if (!program.ok()) {
        return Status::InvalidArgument(doc_.origin + ":" + program.status().message() + " (in " +
                                       map.KeyPath(key) + ")");
      }
      out.placeholders.push_back(std::move(*program));
      pos = close + 2;
    }
    out.literals.push_back(text.substr(pos));
    return out;
  }

  Result<Rule> Read(const YamlMap& map) const {
    CL_RETURN_IF_ERROR(map.CheckIsMap());
    CL_RETURN_IF_ERROR(map.CheckKnownKeys({"id", "description", "controls", "when", "require", "deny", "message"}));
    Rule rule;
    CL_ASSIGN_OR_RETURN(rule.id, map.String("id", ""));
    if (!ValidName(rule.id)) return map.Error("id", "must be 1-64 characters of a-z, 0-9, '.', '_' and '-'");
    CL_ASSIGN_OR_RETURN(rule.description, map.String("description", ""));
    if (rule.description.empty()) return map.Error("description", "is required: say what the rule asks for");
    CL_ASSIGN_OR_RETURN(rule.controls, map.StringList("controls", {}));
    const bool has_require = static_cast<bool>(map.Child("require"));
    const bool has_deny = static_cast<bool>(map.Child("deny"));
    if (has_require == has_deny) return map.Error("require", "give exactly one of require and deny");
    if (map.Child("when")) {
      CL_ASSIGN_OR_RETURN(Program when, Expr(map, "when", BoolType()));
      rule.when = std::move(when);
    }
    rule.deny = has_deny;
    CL_ASSIGN_OR_RETURN(rule.test, Expr(map, has_deny ? "deny" : "require", BoolType()));
    CL_ASSIGN_OR_RETURN(rule.message, Message(map, "message", rule.description));
    return rule;
  }

 private:
  const SourceDocument& doc_;
  const Schema& schema_;
};

}  // namespace

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

const std::vector<std::string>& KnownRoles() {
  static const std::vector<std::string> roles = {"admin", "author", "approver", "operator", "auditor"};
  return roles;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kAdvisory: return "advisory";
    case Level::kSoftMandatory: return "soft_mandatory";
    case Level::kHardMandatory: return "hard_mandatory";
    case Level::kShadow: return "shadow";
  }
  return "?";
}

bool PolicyBinding::AppliesTo(std::string_view environment) const {
  for (const auto& e : environments) {
    if (e == "*" || e == environment) return true;
  }
  return false;
}

Result<DocumentHeader> ReadHeader(const SourceDocument& doc) {
  CL_ASSIGN_OR_RETURN(YAML::Node root, Parse(doc));
  YamlMap top(root, doc.origin, "");
  CL_ASSIGN_OR_RETURN(Header h, ReadCommon(top));
  return DocumentHeader{h.kind, h.name};
}

Result<Policy> LoadPolicy(const SourceDocument& doc) {
  CL_ASSIGN_OR_RETURN(YAML::Node root, Parse(doc));
  YamlMap top(root, doc.origin, "");
  CL_ASSIGN_OR_RETURN(Header h, ReadCommon(top));
  if (h.kind != "Policy") return top.Error("kind", "expected a Policy, got a " + h.kind);
  CL_RETURN_IF_ERROR(top.CheckKnownKeys({"apiVersion", "kind", "metadata", "hook", "rules"}));
  Policy p;
  h.Fill(p, doc);
  const YAML::Node rules = top.Child("rules");
  if (!rules.IsSequence() || rules.size() == 0) return top.Error("rules", "expected a list of one or more rules");
  if (rules.size() > kMaxRules) return top.Error("rules", "more than " + std::to_string(kMaxRules) + " rules");
  const RuleReader reader(doc, *HookSchema(h.hook));
  std::set<std::string> ids;
  for (size_t i = 0; i < rules.size(); ++i) {
    const YamlMap map(rules[i], doc.origin, "rules[" + std::to_string(i) + "]");
    CL_ASSIGN_OR_RETURN(Rule rule, reader.Read(map));
    if (!ids.insert(rule.id).second) return map.Error("id", "rule id \"" + rule.id + "\" is used twice");
    p.rules.push_back(std::move(rule));
  }
  return p;
}

Result<PolicyBinding> LoadBinding(const SourceDocument& doc) {
  CL_ASSIGN_OR_RETURN(YAML::Node root, Parse(doc));
  YamlMap top(root, doc.origin, "");
  CL_ASSIGN_OR_RETURN(Header h, ReadCommon(top));
  if (h.kind != "PolicyBinding") return top.Error("kind", "expected a PolicyBinding, got a " + h.kind);
  CL_RETURN_IF_ERROR(top.CheckKnownKeys(
      {"apiVersion", "kind", "metadata", "hook", "policies", "environments", "level", "override_roles"}));
  PolicyBinding b;
  h.Fill(b, doc);
  CL_ASSIGN_OR_RETURN(b.policies, top.StringList("policies", {}));
  if (b.policies.empty()) return top.Error("policies", "name at least one policy");
  CL_ASSIGN_OR_RETURN(b.environments, top.StringList("environments", {}));
  if (b.environments.empty()) return top.Error("environments", "name at least one environment, or \"*\"");
  CL_ASSIGN_OR_RETURN(std::string level, top.String("level", ""));
  static constexpr Level kLevels[] = {Level::kAdvisory, Level::kSoftMandatory, Level::kHardMandatory, Level::kShadow};
  bool known = false;
  for (Level l : kLevels) {
    if (LevelName(l) == level) {
      b.level = l;
      known = true;
    }
  }
  if (!known) {
    return top.Error("level", "must be advisory, soft_mandatory, hard_mandatory or shadow, got \"" + level + "\"");
  }
  CL_ASSIGN_OR_RETURN(b.override_roles, top.StringList("override_roles", {}));
  if (b.level == Level::kSoftMandatory && b.override_roles.empty()) {
    return top.Error("override_roles", "a soft_mandatory binding names the roles that may override it");
  }
  if (b.level != Level::kSoftMandatory && !b.override_roles.empty()) {
    return top.Error("override_roles", "only a soft_mandatory binding can be overridden");
  }
  for (const auto& role : b.override_roles) {
    bool ok = false;
    for (const auto& r : KnownRoles()) ok = ok || r == role;
    if (!ok) return top.Error("override_roles", "unknown role \"" + role + "\"");
  }
  return b;
}

}  // namespace cloister::policy
