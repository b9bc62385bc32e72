#include "governance/promotion/gate.h"

#include <algorithm>
#include <chrono>

#include "appliance/core/clock.h"
#include "governance/policy/calendar.h"
#include "governance/policy/document.h"

namespace cloister::promotion {
namespace {

int64_t Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A stored timestamp in Unix seconds, or `fallback` when it does not parse.
int64_t StoredSeconds(const std::string& text, int64_t fallback) {
  const auto t = ParseTimestamp(text);
  return t ? Seconds(*t) : fallback;
}

// The names in `wanted` that `have` lacks, as a JSON list.
Json Missing(const std::set<std::string>& wanted, const std::set<std::string>& have) {
  Json out = Json::array();
  for (const auto& n : wanted) {
    if (!have.count(n)) out.push_back(n);
  }
  return out;
}

std::string Prefix(const std::string& version) { return version.substr(0, 12); }

// The checks so far and what they add up to.
class Checks {
 public:
  explicit Checks(Phase phase) : phase_(phase) {}

  void Add(Check c) {
    // At deployment a window only holds the deployment back (the caller refuses it).
    failed_ = failed_ || (c.status == "fail" && !(phase_ == Phase::kDeploy && c.name == "window"));
    waiting_ = waiting_ || c.status == "waiting" || c.status == "pending";
    list_.push_back(std::move(c));
  }
  bool failed() const { return failed_; }
  bool waiting() const { return waiting_; }
  std::vector<Check>& list() { return list_; }

 private:
  Phase phase_;
  bool failed_ = false, waiting_ = false;
  std::vector<Check> list_;
};

void CheckSource(const GateInput& in, Checks& checks) {
  if (in.kind == "rollback") {
    checks.Add({"source", "pass",
                "rollback to the version live in " + in.to + " before the current one", nullptr});
    return;
  }
  const auto& live = in.live_in_source;
  if (live && *live == in.version) {
    checks.Add({"source", "pass", "version is live in " + in.from, nullptr});
    return;
  }
  checks.Add({"source",
              "fail",
              "version " + Prefix(in.version) + " is no longer live in " + in.from +
                  (live ? " (superseded by " + Prefix(*live) + ")" : ""),
              {{"live_in_source", live ? Json(*live) : Json()}}});
}

void CheckConfiguration(const GateInput& in, Checks& checks) {
  const Json missing_vars = Missing(in.definition.variables, in.target_variables);
  const Json missing_secrets = Missing(in.definition.secrets, in.target_secrets);
  if (missing_vars.empty() && missing_secrets.empty()) {
    checks.Add({"configuration", "pass",
                "every variable and secret the version references is set in " + in.to, nullptr});
    return;
  }
  std::string what;
  for (const auto& v : missing_vars)
    what += (what.empty() ? "" : ", ") + std::string("variable ") + v.get<std::string>();
  for (const auto& s : missing_secrets)
    what += (what.empty() ? "" : ", ") + std::string("secret ") + s.get<std::string>();
  checks.Add({"configuration",
              "fail",
              in.to + " lacks " + what,
              {{"missing_variables", missing_vars}, {"missing_secrets", missing_secrets}}});
}

void CheckScheduleAndWindow(const GateInput& in, Phase phase,
                            const std::optional<int64_t>& scheduled, Checks& checks) {
  if (scheduled && !in.stage.scheduling) {
    checks.Add({"schedule", "fail",
                "the pipeline does not allow scheduled promotions into " + in.to, nullptr});
  }
  if (in.kind == "rollback") {
    checks.Add({"window", "skipped", "rollbacks are not held by deny windows", nullptr});
    return;
  }
  const int64_t at = phase == Phase::kDeploy ? in.now : scheduled.value_or(in.now);
  const std::string blocked = WindowBlocks(in.stage, at);
  if (blocked.empty()) {
    checks.Add({"window", "pass", "no deny window at " + policy::FormatTime(at), nullptr});
  } else if (in.emergency && in.stage.break_glass_skips_windows) {
    checks.Add({"window", "skipped", "break-glass: " + blocked, nullptr});
  } else if (phase == Phase::kReview) {
    checks.Add({"window", "notice", blocked + "; the deployment must wait until it ends", nullptr});
  } else {
    checks.Add({"window", "fail", blocked, nullptr});
  }
}

// Whether the approvals are in (or skipped by break-glass).
bool CheckApprovals(const GateInput& in, Checks& checks) {
  const ApprovalRule& rule = in.kind == "rollback" ? in.stage.rollback : in.stage.approvals;
  Json counted = Json::array(), not_counted = Json::array();
  std::set<std::string> users;
  for (const auto& a : in.approvals) {
    if (a.decision != "approve") continue;
    std::string why;
    if (Eligible(a, in, rule, &why) && users.insert(a.user).second) {
      counted.push_back(a.user_name);
    } else {
      not_counted.push_back({{"user", a.user_name}, {"why", why}});
    }
  }
  const int have = static_cast<int>(counted.size());
  const std::string tally =
      std::to_string(have) + " of " + std::to_string(rule.required) + " approvals";
  const Json details = {{"required", rule.required},
                        {"counted", counted},
                        {"not_counted", not_counted},
                        {"roles", rule.roles},
                        {"users", rule.users}};
  if (in.emergency && in.stage.break_glass_skips_approvals && have < rule.required) {
    checks.Add({"approvals", "skipped",
                "break-glass: approvals skipped; an approver must review this promotion afterwards",
                details});
    return true;
  }
  if (have >= rule.required) {
    checks.Add({"approvals", "pass", tally, details});
    return true;
  }
  checks.Add({"approvals", "waiting", tally, details});
  return false;
}

Check PolicyCheck(const policy::Decision& d) {
  if (d.outcome == "deny") return {"policy", "fail", "refused by policy: " + d.Summary(), nullptr};
  if (d.outcome == "overridable") {
    return {"policy",
            "waiting",
            "needs an override by one of " + Json(d.override_roles).dump() + ": " + d.Summary() +
                (d.override_refused.empty() ? "" : " (" + d.override_refused + ")"),
            {{"override_roles", d.override_roles}}};
  }
  return {"policy", "pass",
          d.outcome == "allow" ? "every binding passed" : "passed (" + d.outcome + ")", nullptr};
}

// The stage's run evidence requirement.
void CheckEvidence(const GateInput& in, Checks& checks) {
  const int64_t need = in.stage.evidence_successful_runs;
  if (need == 0) return;
  if (in.kind == "rollback" || (in.emergency && in.stage.break_glass_skips_approvals)) {
    checks.Add({"evidence", "skipped",
                in.kind == "rollback" ? "rollbacks return to a version that ran before"
                                      : "break-glass skips the run evidence",
                nullptr});
    return;
  }
  const int64_t have = in.evidence.succeeded_in_window;
  const std::string what = std::to_string(need) + " successful run" + (need == 1 ? "" : "s") +
                           " of " + Prefix(in.version) + " in " + in.from + " within " +
                           std::to_string(in.stage.evidence_within_days) + " days";
  checks.Add(
      {"evidence",
       have >= need ? "pass" : "fail",
       (have >= need ? "has " : "needs ") + what + " (" + std::to_string(have) + " so far)",
       {{"required", need}, {"succeeded", have}, {"within_days", in.stage.evidence_within_days}}});
}

// The policy check, once nothing else fails and the approvals are in.
Status CheckPolicy(const GateInput& in, bool approved, Checks& checks,
                   std::optional<GatePolicyDecision>& out) {
  if (in.kind == "rollback") {
    checks.Add(
        {"policy", "skipped", "rollbacks return to a version that passed its gates", nullptr});
    return Status::Ok();
  }
  if (checks.failed() || !approved) {
    checks.Add({"policy", "pending", "evaluated once the approvals are in and nothing else fails",
                nullptr});
    return Status::Ok();
  }
  if (in.policies == nullptr)
    return Status::Internal("promotion " + in.id + ": no policy set to evaluate");
  PipelinePolicies required = BindPipelinePolicies(in.pipeline, in.to, *in.policies);
  std::string missing;
  for (const auto& name : required.missing) missing += (missing.empty() ? "" : ", ") + name;
  if (!missing.empty()) {
    checks.Add({"policy", "fail",
                "the pipeline requires promotion policies that are not loaded: " + missing,
                nullptr});
    return Status::Ok();
  }
  GatePolicyDecision g;
  g.input = PromotionPolicyInput(in);
  g.bindings =
      std::make_shared<const std::vector<policy::PolicyBinding>>(std::move(required.bindings));
  const policy::Schema* schema = policy::HookSchema("promotion");
  if (schema == nullptr) return Status::Internal("the promotion hook has no schema");
  CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(*schema, g.input));
  const policy::OverrideRequest* ov = in.override_request ? &*in.override_request : nullptr;
  policy::Evaluator evaluator(in.limits);
  g.decision = in.policies->Decide("promotion", in.to, doc, evaluator, ov, g.bindings.get());
  g.override_applied = g.decision.outcome == "overridden";
  checks.Add(PolicyCheck(g.decision));
  out = std::move(g);
  return Status::Ok();
}

PromotionState NextState(const Checks& checks, Phase phase, const std::optional<int64_t>& scheduled,
                         int64_t now) {
  if (checks.failed())
    return phase == Phase::kDeploy ? PromotionState::kFailed : PromotionState::kBlocked;
  if (checks.waiting()) return PromotionState::kAwaitingApproval;
  return scheduled && *scheduled > now && phase != Phase::kDeploy ? PromotionState::kScheduled
                                                                  : PromotionState::kApproved;
}

std::string Note(const std::vector<Check>& checks, PromotionState to) {
  std::string note;
  for (const auto& c : checks) {
    if (c.status == "fail" || (to == PromotionState::kAwaitingApproval && c.status == "waiting")) {
      note += (note.empty() ? "" : "; ") + c.name + ": " + c.message;
    }
  }
  return note;
}

}  // namespace

Json Check::ToJson() const {
  Json j = {{"name", name}, {"status", status}, {"message", message}};
  if (!details.is_null()) j["details"] = details;
  return j;
}

GateDefinition GateDefinition::Of(const automation::Definition& definition) {
  return {definition.variables, definition.secrets, definition.PolicyView()};
}

Json GateResult::ChecksJson() const {
  Json out = Json::array();
  for (const auto& c : checks) out.push_back(c.ToJson());
  return out;
}

bool GateResult::HeldByWindow() const {
  return std::any_of(checks.begin(), checks.end(),
                     [](const Check& c) { return c.name == "window" && c.status == "fail"; });
}

Result<GateResult> EvaluateGate(const GateInput& in, Phase phase) {
  Checks checks(phase);
  CheckSource(in, checks);
  CheckConfiguration(in, checks);
  const auto scheduled =
      in.scheduled_for.empty() ? std::nullopt : policy::ParseTime(in.scheduled_for);
  CheckScheduleAndWindow(in, phase, scheduled, checks);
  CheckEvidence(in, checks);
  const bool approved = CheckApprovals(in, checks);
  GateResult out;
  CL_RETURN_IF_ERROR(CheckPolicy(in, approved, checks, out.policy));
  out.next_state = NextState(checks, phase, scheduled, in.now);
  out.note = Note(checks.list(), out.next_state);
  out.caller_deploys = phase == Phase::kDeploy && out.next_state == PromotionState::kApproved;
  out.checks = std::move(checks.list());
  return out;
}

// Identities compare by user id; the rule's "users" list names people,
// matched against the approver's current name.
bool Eligible(const GateApproval& a, const GateInput& p, const ApprovalRule& rule,
              std::string* why) {
  if (a.user == p.requester && !rule.allow_requester) {
    *why = a.user_name + " requested this promotion";
    return false;
  }
  if (a.user == p.author && !rule.allow_author) {
    *why = a.user_name + " wrote version " + Prefix(p.version);
    return false;
  }
  if (a.version != p.version) {
    *why = "approved another version";
    return false;
  }
  if (std::find(rule.users.begin(), rule.users.end(), a.user_name) != rule.users.end()) return true;
  for (const auto& r : a.roles) {
    if (r == "admin" || std::find(rule.roles.begin(), rule.roles.end(), r) != rule.roles.end())
      return true;
  }
  *why = a.user_name + " holds none of the roles " + Json(rule.roles).dump() + " in " + p.to;
  return false;
}

namespace {

// The runs of the version in the environment it comes from, one entry per
// final state: {kind "run", passed, ref, environment, count, at}.
Json EvidenceJson(const GateInput& in) {
  Json out = Json::array();
  for (const RunOutcomes& o : in.evidence.outcomes) {
    out.push_back({{"kind", "run"},
                   {"passed", o.state == "succeeded"},
                   {"ref", in.from + ": " + std::to_string(o.count) + " " + o.state},
                   {"environment", in.from},
                   {"count", o.count},
                   {"at", policy::FormatTime(StoredSeconds(o.last_finished_at, in.now))}});
  }
  return out;
}

}  // namespace

// People appear by name (names are unique and never reused), resolved from
// the stored ids by the caller, so no credential can choose one.
Json PromotionPolicyInput(const GateInput& in) {
  Json approvals = Json::array();
  for (const auto& a : in.approvals) {
    if (a.decision != "approve") continue;
    approvals.push_back({{"user", a.user_name},
                         {"roles", a.roles},
                         {"at", policy::FormatTime(policy::ParseTime(a.at).value_or(in.now))},
                         {"version", a.version},
                         {"comment", a.comment}});
  }
  Json promotion = {{"id", in.id},
                    {"automation", in.automation},
                    {"version", in.version},
                    {"from", in.from},
                    {"to", in.to},
                    {"requester", in.requester_name},
                    {"author", in.author_name},
                    {"requested_at", policy::FormatTime(StoredSeconds(in.created_at, in.now))},
                    {"emergency", in.emergency},
                    {"reason", in.reason},
                    {"approvals", approvals}};
  if (!in.scheduled_for.empty()) promotion["scheduled_for"] = in.scheduled_for;
  Json live = Json::array();
  for (const auto& env : in.environments) {
    const auto d = std::find_if(in.live.begin(), in.live.end(),
                                [&](const LiveVersion& l) { return l.environment == env; });
    if (d == in.live.end()) continue;
    live.push_back({{"environment", env},
                    {"version", d->version},
                    {"since", policy::FormatTime(StoredSeconds(d->deployed_at, in.now))}});
  }
  const int64_t position =
      std::find(in.environments.begin(), in.environments.end(), in.to) - in.environments.begin();
  return {{"time", policy::FormatTime(in.now)},
          {"promotion", promotion},
          {"definition", in.definition.policy_view},
          {"environment",
           {{"name", in.to},
            {"position", position},
            {"egress_allow", in.target_egress_allow},
            {"model_endpoints", in.target_model_endpoints},
            {"variables", in.target_variables},
            {"secrets", in.target_secrets}}},
          {"live", live},
          {"evidence", EvidenceJson(in)}};
}

Result<std::optional<policy::OverrideRequest>> OverrideFromJson(const Json& stored) {
  std::optional<policy::OverrideRequest> out;
  if (!stored.is_object()) return out;
  const auto text = [&](const char* key) -> Result<std::string> {
    if (!stored.contains(key)) return std::string();
    if (!stored[key].is_string())
      return Status::Corruption(std::string("promotion override: \"") + key + "\" is not a string");
    return stored[key].get<std::string>();
  };
  policy::OverrideRequest r;
  CL_ASSIGN_OR_RETURN(r.user, text("user"));
  CL_ASSIGN_OR_RETURN(r.reason, text("reason"));
  if (stored.contains("roles")) {
    const Json& roles = stored["roles"];
    if (!roles.is_array() ||
        !std::all_of(roles.begin(), roles.end(), [](const Json& x) { return x.is_string(); })) {
      return Status::Corruption("promotion override: \"roles\" is not a list of strings");
    }
    r.roles = roles.get<std::vector<std::string>>();
  }
  out = std::move(r);
  return out;
}

}  // namespace cloister::promotion
