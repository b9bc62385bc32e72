#include "governance/promotion/pipeline.h"

#include <algorithm>

#include "appliance/core/encoding.h"
#include "appliance/core/strict_yaml.h"
#include "governance/policy/calendar.h"
#include "governance/policy/program.h"

namespace cloister::promotion {
namespace {

const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

Result<int> Minute(const YamlMap& m, const std::string& key) {
  CL_ASSIGN_OR_RETURN(std::string text, m.String(key, ""));
  int h = -1, min = -1;
  char tail = 0;
  if (text.size() != 5 || std::sscanf(text.c_str(), "%2d:%2d%c", &h, &min, &tail) != 2 || h < 0 ||
      h > 24 || min < 0 || min > 59 || (h == 24 && min != 0)) {
    return m.Error(key, "expected a time of day \"HH:MM\" (00:00 to 24:00)");
  }
  return h * 60 + min;
}

Result<std::vector<Window>> Windows(const YamlMap& stage, const std::string& key) {
  std::vector<Window> out;
  const YAML::Node list = stage.Child(key);
  if (!list) return out;
  if (!list.IsSequence()) return stage.Error(key, "expected a list of windows");
  for (size_t i = 0; i < list.size(); ++i) {
    YamlMap w(list[i], stage.source(), stage.KeyPath(key) + "[" + std::to_string(i) + "]");
    CL_RETURN_IF_ERROR(w.CheckIsMap());
    CL_RETURN_IF_ERROR(w.CheckKnownKeys({"name", "weekly", "dates"}));
    Window win;
    CL_ASSIGN_OR_RETURN(win.name, w.String("name", ""));
    if (win.name.empty()) return w.Error("name", "every window has a name");
    const bool weekly = static_cast<bool>(w.Child("weekly")),
               dated = static_cast<bool>(w.Child("dates"));
    if (weekly == dated) return w.Error("name", "a window is either weekly or dates");
    if (weekly) {
      CL_ASSIGN_OR_RETURN(YamlMap m, w.Map("weekly"));
      CL_RETURN_IF_ERROR(m.CheckKnownKeys({"days", "from", "to", "utc_offset"}));
      win.weekly = true;
      CL_ASSIGN_OR_RETURN(auto days, m.StringList("days", {}));
      if (days.empty()) return m.Error("days", "name at least one day (mon .. sun)");
      for (const auto& d : days) {
        const auto it = std::find(std::begin(kDays), std::end(kDays), d);
        if (it == std::end(kDays))
          return m.Error("days", "\"" + d + "\" is not a day: mon, tue, wed, thu, fri, sat, sun");
        win.days |= 1u << (1 + (it - std::begin(kDays)));
      }
      CL_ASSIGN_OR_RETURN(win.from_minute, Minute(m, "from"));
      CL_ASSIGN_OR_RETURN(win.to_minute, Minute(m, "to"));
      CL_ASSIGN_OR_RETURN(std::string offset, m.String("utc_offset", "UTC"));
      const auto parsed = policy::ParseOffset(offset);
      if (!parsed) return m.Error("utc_offset", "expected UTC or +HH:MM / -HH:MM");
      win.offset_seconds = *parsed;
    } else {
      CL_ASSIGN_OR_RETURN(YamlMap m, w.Map("dates"));
      CL_RETURN_IF_ERROR(m.CheckKnownKeys({"from", "to"}));
      for (const char* k : {"from", "to"}) {
        CL_ASSIGN_OR_RETURN(std::string text, m.String(k, ""));
        const auto t = policy::ParseTime(text);
        if (!t)
          return m.Error(k, "expected a time such as 2026-12-20T00:00:00Z or a date 2026-12-20");
        (std::string(k) == "from" ? win.from : win.to) = *t;
      }
      if (win.to <= win.from) return m.Error("to", "the window ends before it starts");
    }
    out.push_back(std::move(win));
  }
  return out;
}

Result<ApprovalRule> Approvals(const YamlMap& parent, const std::string& key, ApprovalRule rule) {
  CL_ASSIGN_OR_RETURN(YamlMap m, parent.Map(key));
  CL_RETURN_IF_ERROR(
      m.CheckKnownKeys({"required", "roles", "users", "allow_requester", "allow_author"}));
  CL_ASSIGN_OR_RETURN(int64_t required, m.Int("required", rule.required, 0, 10));
  rule.required = static_cast<int>(required);
  CL_ASSIGN_OR_RETURN(rule.roles, m.StringList("roles", rule.roles));
  for (const auto& r : rule.roles) {
    if (r != "admin" && r != "author" && r != "approver" && r != "operator" && r != "auditor") {
      return m.Error("roles",
                     "\"" + r + "\" is not a role: admin, author, approver, operator, auditor");
    }
  }
  CL_ASSIGN_OR_RETURN(rule.users, m.StringList("users", rule.users));
  CL_ASSIGN_OR_RETURN(rule.allow_requester, m.Bool("allow_requester", rule.allow_requester));
  CL_ASSIGN_OR_RETURN(rule.allow_author, m.Bool("allow_author", rule.allow_author));
  if (rule.required > 0 && rule.roles.empty() && rule.users.empty()) {
    return m.Error("required", "approvals are required but no role or user may give them");
  }
  return rule;
}

Json WindowsJson(const std::vector<Window>& ws) {
  Json out = Json::array();
  for (const auto& w : ws) out.push_back(w.ToJson());
  return out;
}

std::string Minutes(int m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", m / 60, m % 60);
  return buf;
}

}  // namespace

bool Window::Contains(int64_t t) const {
  if (!weekly) return t >= from && t < to;
  const policy::CivilTime c = policy::ToCivil(t, offset_seconds);
  const int minute = c.hour * 60 + c.minute;
  const auto on = [&](int weekday) { return (days & (1u << weekday)) != 0; };
  const int yesterday = c.weekday == 1 ? 7 : c.weekday - 1;
  if (from_minute < to_minute) return on(c.weekday) && minute >= from_minute && minute < to_minute;
  // Wraps past midnight (or a whole day when from == to).
  return (on(c.weekday) && minute >= from_minute) || (on(yesterday) && minute < to_minute);
}

int64_t Window::EndAfter(int64_t t) const {
  if (!weekly) return to;
  int64_t end = t - t % 60;
  for (int i = 0; i < 8 * 24 * 60 && Contains(end); ++i) end += 60;
  return end;
}

Json Window::ToJson() const {
  if (!weekly)
    return {{"name", name},
            {"dates", {{"from", policy::FormatTime(from)}, {"to", policy::FormatTime(to)}}}};
  Json days_json = Json::array();
  for (int d = 1; d <= 7; ++d) {
    if (days & (1u << d)) days_json.push_back(kDays[d - 1]);
  }
  const int off = offset_seconds / 60;
  char offset[16];
  std::snprintf(offset, sizeof offset, "%c%02d:%02d", off < 0 ? '-' : '+', std::abs(off) / 60,
                std::abs(off) % 60);
  return {{"name", name},
          {"weekly",
           {{"days", days_json},
            {"from", Minutes(from_minute)},
            {"to", Minutes(to_minute)},
            {"utc_offset", offset}}}};
}

Json ApprovalRule::ToJson() const {
  return {{"required", required},
          {"roles", roles},
          {"users", users},
          {"allow_requester", allow_requester},
          {"allow_author", allow_author}};
}

Json Stage::ToJson() const {
  Json skip = Json::array();
  if (break_glass_skips_windows) skip.push_back("deny_windows");
  if (break_glass_skips_approvals) skip.push_back("approvals");
  return {{"environment", environment},
          {"approvals", approvals.ToJson()},
          {"policies", policies},
          {"allow_windows", WindowsJson(allow_windows)},
          {"deny_windows", WindowsJson(deny_windows)},
          {"scheduling", scheduling},
          {"break_glass", {{"roles", break_glass_roles}, {"skip", skip}}},
          {"rollback", {{"approvals", rollback.ToJson()}}},
          {"evidence",
           {{"successful_runs", evidence_successful_runs}, {"within_days", evidence_within_days}}}};
}

Stage Pipeline::StageFor(const std::string& environment) const {
  if (auto it = stages.find(environment); it != stages.end()) return it->second;
  Stage s;
  s.environment = environment;
  return s;
}

bool Pipeline::Matches(const std::string& automation) const {
  return std::any_of(automations.begin(), automations.end(),
                     [&](const std::string& glob) { return policy::GlobMatch(automation, glob); });
}

Json Pipeline::ToJson() const {
  Json s = Json::object();
  for (const auto& [env, stage] : stages) s[env] = stage.ToJson();
  return {{"name", name}, {"description", description}, {"automations", automations},
          {"stages", s},  {"digest", digest},           {"version", version}};
}

Result<Pipeline> ParsePipeline(const std::string& source,
                               const std::vector<std::string>& environments) {
  if (source.size() > 256 * 1024) return Status::InvalidArgument("a pipeline is at most 256 KiB");
  if (!IsValidUtf8(source)) return Status::InvalidArgument("the pipeline is not valid UTF-8");
  CL_ASSIGN_OR_RETURN(YAML::Node root, LoadStrictYaml(source, "pipeline"));
  YamlMap doc(root, "pipeline", "");
  CL_RETURN_IF_ERROR(doc.CheckIsMap());
  CL_RETURN_IF_ERROR(
      doc.CheckKnownKeys({"apiVersion", "kind", "metadata", "automations", "stages"}));
  CL_ASSIGN_OR_RETURN(std::string api, doc.String("apiVersion", ""));
  if (api != "cloister/v1") return doc.Error("apiVersion", "must be cloister/v1");
  CL_ASSIGN_OR_RETURN(std::string kind, doc.String("kind", ""));
  if (kind != "Pipeline") return doc.Error("kind", "must be Pipeline");
  Pipeline p;
  p.digest = Sha256Hex(source);
  CL_ASSIGN_OR_RETURN(YamlMap meta, doc.Map("metadata"));
  CL_RETURN_IF_ERROR(meta.CheckKnownKeys({"name", "description"}));
  CL_ASSIGN_OR_RETURN(p.name, meta.String("name", ""));
  bool name_ok = !p.name.empty() && p.name.size() <= 63 && p.name[0] >= 'a' && p.name[0] <= 'z';
  for (char c : p.name)
    name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!name_ok)
    return meta.Error("name", "a pipeline name is 1-63 of a-z, 0-9 and -, starting with a letter");
  CL_ASSIGN_OR_RETURN(p.description, meta.String("description", ""));
  CL_ASSIGN_OR_RETURN(p.automations, doc.StringList("automations", {"*"}));
  if (p.automations.empty())
    return doc.Error("automations", "name at least one automation (or glob)");
  if (p.name == "default" && p.automations != std::vector<std::string>{"*"}) {
    return doc.Error("automations", "the default pipeline applies to every automation: [\"*\"]");
  }
  CL_ASSIGN_OR_RETURN(YamlMap stages, doc.Map("stages"));
  const YAML::Node stage_nodes = doc.Child("stages");
  for (const auto& kv : stage_nodes.IsMap() ? stage_nodes : YAML::Node(YAML::NodeType::Map)) {
    const std::string env = kv.first.Scalar();
    const auto pos = std::find(environments.begin(), environments.end(), env);
    if (pos == environments.end())
      return stages.Error(env, "\"" + env + "\" is not an environment of this appliance");
    if (pos == environments.begin()) {
      return stages.Error(
          env,
          "\"" + env + "\" is the first environment: automations are saved there, not promoted");
    }
    YamlMap m(kv.second, "pipeline", stages.KeyPath(env));
    CL_RETURN_IF_ERROR(m.CheckIsMap());
    CL_RETURN_IF_ERROR(m.CheckKnownKeys({"approvals", "policies", "allow_windows", "deny_windows",
                                         "scheduling", "break_glass", "rollback", "evidence"}));
    Stage s;
    s.environment = env;
    CL_ASSIGN_OR_RETURN(s.approvals, Approvals(m, "approvals", s.approvals));
    CL_ASSIGN_OR_RETURN(s.policies, m.StringList("policies", {}));
    CL_ASSIGN_OR_RETURN(s.allow_windows, Windows(m, "allow_windows"));
    CL_ASSIGN_OR_RETURN(s.deny_windows, Windows(m, "deny_windows"));
    CL_ASSIGN_OR_RETURN(s.scheduling, m.Bool("scheduling", true));
    CL_ASSIGN_OR_RETURN(YamlMap glass, m.Map("break_glass"));
    CL_RETURN_IF_ERROR(glass.CheckKnownKeys({"roles", "skip"}));
    CL_ASSIGN_OR_RETURN(s.break_glass_roles, glass.StringList("roles", {}));
    CL_ASSIGN_OR_RETURN(auto skip, glass.StringList("skip", {"deny_windows", "approvals"}));
    for (const auto& k : skip) {
      if (k != "deny_windows" && k != "approvals")
        return glass.Error("skip", "may list deny_windows and approvals");
    }
    s.break_glass_skips_windows = std::count(skip.begin(), skip.end(), "deny_windows") > 0;
    s.break_glass_skips_approvals = std::count(skip.begin(), skip.end(), "approvals") > 0;
    CL_ASSIGN_OR_RETURN(YamlMap rollback, m.Map("rollback"));
    CL_RETURN_IF_ERROR(rollback.CheckKnownKeys({"approvals"}));
    CL_ASSIGN_OR_RETURN(s.rollback, Approvals(rollback, "approvals", s.rollback));
    CL_ASSIGN_OR_RETURN(YamlMap evidence, m.Map("evidence"));
    CL_RETURN_IF_ERROR(evidence.CheckKnownKeys({"successful_runs", "within_days"}));
    CL_ASSIGN_OR_RETURN(s.evidence_successful_runs, evidence.Int("successful_runs", 0, 0, 100000));
    CL_ASSIGN_OR_RETURN(s.evidence_within_days, evidence.Int("within_days", 30, 1, 3650));
    p.stages[env] = std::move(s);
  }
  return p;
}

std::string DefaultPipelineSource(const std::vector<std::string>& environments) {
  std::string out =
      "apiVersion: cloister/v1\n"
      "kind: Pipeline\n"
      "metadata:\n"
      "  name: default\n"
      "  description: Built-in default. One approver per stage; the last stage needs two and the "
      "baseline pack.\n"
      "automations: [\"*\"]\n"
      "stages:\n";
  for (size_t i = 1; i < environments.size(); ++i) {
    const bool last = i + 1 == environments.size();
    out += "  " + environments[i] + ":\n";
    out += "    approvals: {required: " + std::string(last ? "2" : "1") + ", roles: [approver]}\n";
    if (last) out += "    policies: [baseline]\n";
    out += "    break_glass: {roles: [admin], skip: [deny_windows, approvals]}\n";
    out += "    rollback: {approvals: {required: 1, roles: [approver, operator]}}\n";
  }
  if (environments.size() < 2) out += "  {}\n";
  return out;
}

std::string WindowBlocks(const Stage& stage, int64_t t) {
  for (const Window& w : stage.deny_windows) {
    if (w.Contains(t)) {
      return "deny window \"" + w.name + "\" is in force until " +
             policy::FormatTime(w.EndAfter(t));
    }
  }
  if (!stage.allow_windows.empty() &&
      std::none_of(stage.allow_windows.begin(), stage.allow_windows.end(),
                   [&](const Window& w) { return w.Contains(t); })) {
    std::string names;
    for (const auto& w : stage.allow_windows) names += (names.empty() ? "" : ", ") + w.name;
    return "outside every allow window (" + names + ")";
  }
  return "";
}

PipelinePolicies BindPipelinePolicies(const Pipeline& pipeline, const std::string& environment,
                                      const policy::PolicySet& set) {
  PipelinePolicies out;
  out.pipeline = pipeline.name;
  for (const auto& name : pipeline.StageFor(environment).policies) {
    if (!set.policies().count(name) || set.policies().at(name).hook != "promotion") {
      out.missing.push_back(name);
      continue;
    }
    policy::PolicyBinding b;
    b.name = "pipeline:" + pipeline.name + "/" + environment + "/" + name;
    b.hook = "promotion";
    b.policies = {name};
    b.environments = {environment};
    b.level = policy::Level::kHardMandatory;
    b.origin = "pipeline " + pipeline.name;
    out.bindings.push_back(std::move(b));
  }
  return out;
}

}  // namespace cloister::promotion
