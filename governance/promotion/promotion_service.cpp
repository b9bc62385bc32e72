#include "governance/promotion/promotion_service.h"

#include <algorithm>

#include "appliance/core/encoding.h"
#include "governance/automation/automation_version_store.h"
#include "governance/environments/environment_config.h"
#include "governance/policy/calendar.h"
#include "governance/promotion/deployment_store.h"
#include "governance/promotion/pipeline_store.h"
#include "governance/promotion/promotion_events.h"
#include "governance/promotion/promotion_transitions.h"
#include "governance/promotion/promotion_unit.h"

namespace cloister::promotion {

using automation::AutomationVersionStore;

// ---- inside a unit ------------------------------------------------------------

Status LoadGates(ReadView db, Loaded& l) {
  CL_ASSIGN_OR_RETURN(auto pipelines, PipelineStore::InForce(db, l.envs));
  CL_ASSIGN_OR_RETURN(l.pipeline, PipelineFor(pipelines, l.p.automation));
  l.stage = l.pipeline.StageFor(l.p.to);
  return Status::Ok();
}

const ApprovalRule& RuleFor(const Loaded& l) {
  return l.p.kind == "rollback" ? l.stage.rollback : l.stage.approvals;
}

namespace {

// What the gate reads, from the unit's view of the database.
Result<GateInput> LoadGateInput(ReadView db, const ServiceDeps& deps, const Loaded& l) {
  const PromotionRecord& p = l.p;
  GateInput in;
  in.id = p.id;
  in.automation = p.automation;
  in.version = p.version;
  in.from = p.from;
  in.to = p.to;
  in.kind = p.kind;
  in.emergency = p.emergency;
  in.reason = p.reason;
  in.requester = p.requester;
  in.requester_name = deps.names(p.requester);
  in.author = p.author;
  in.author_name = deps.names(p.author);
  in.scheduled_for = p.scheduled_for;
  in.created_at = p.created_at;
  CL_ASSIGN_OR_RETURN(in.override_request, OverrideFromJson(p.override_));
  for (const auto& a : l.approvals) {
    in.approvals.push_back(
        {a.user, deps.names(a.user), a.decision, a.version, a.roles, a.comment, a.at});
  }
  in.pipeline = l.pipeline;
  in.stage = l.stage;
  in.definition = GateDefinition::Of(l.definition);
  if (p.kind != "rollback") {
    CL_ASSIGN_OR_RETURN(auto source, DeploymentStore::LiveOne(db, p.from, p.automation));
    if (source) in.live_in_source = source->version;
  }
  in.environments = l.envs;
  for (const auto& env : l.envs) {
    CL_ASSIGN_OR_RETURN(auto d, DeploymentStore::LiveOne(db, env, p.automation));
    if (d) in.live.push_back({env, d->version, d->deployed_at});
  }
  CL_ASSIGN_OR_RETURN(const ConfigNames target, NamesIn(db, p.to));
  in.target_variables = target.variables;
  in.target_secrets = target.secrets;
  // No settings read as empty lists; damaged ones are an error, never empty
  // lists a policy would pass on.
  CL_ASSIGN_OR_RETURN(const EnvironmentSettings settings, GetSettings(db, p.to));
  in.target_egress_allow = settings.egress_allow;
  in.target_model_endpoints = settings.model_endpoints;
  in.now = UnixSeconds(deps.clock.Now());
  if (deps.evidence && p.kind != "rollback") {
    const auto since = std::chrono::system_clock::time_point(
        std::chrono::seconds(in.now - l.stage.evidence_within_days * 86400));
    CL_ASSIGN_OR_RETURN(in.evidence, deps.evidence(db, p.from, p.version, FormatTimestamp(since)));
  }
  in.policies = deps.policies();
  in.limits = deps.limits;
  return in;
}

}  // namespace

Result<GateResult> RunGate(Transaction& tx, const ServiceDeps& deps, const Caller& caller,
                           Loaded& l, Phase phase) {
  CL_ASSIGN_OR_RETURN(const GateInput input, LoadGateInput(tx.view(), deps, l));
  CL_ASSIGN_OR_RETURN(GateResult result, EvaluateGate(input, phase));
  PromotionRecord& p = l.p;
  p.checks = result.ChecksJson();
  if (result.policy) {
    const GatePolicyDecision& g = *result.policy;
    p.decision = g.decision.ToJson(false);
    const std::string* override_reason =
        g.override_applied && input.override_request ? &input.override_request->reason : nullptr;
    CL_RETURN_IF_ERROR(deps.ledger
                           .Append(tx, PromotionDecisionEvent(caller.audit, p, g.decision, g.input,
                                                              override_reason))
                           .status());
  }
  if (result.caller_deploys) return result;
  CL_RETURN_IF_ERROR(Transition(tx, deps, caller, p, result.next_state, result.note));
  CL_RETURN_IF_ERROR(PromotionStore::Update(tx, p));
  return result;
}

Status RequireState(const PromotionRecord& p, std::initializer_list<PromotionState> states,
                    const std::string& doing) {
  if (std::find(states.begin(), states.end(), p.state) != states.end()) return Status::Ok();
  std::string why =
      "promotion " + p.id + " is " + std::string(StateName(p.state)) + "; it cannot be " + doing;
  if (p.state == PromotionState::kFailed || p.state == PromotionState::kBlocked) {
    for (const Json& c : p.checks) {
      if (c.value("status", "") == "fail")
        why += " (" + c.value("name", "") + ": " + c.value("message", "") + ")";
    }
  }
  return Status::Conflict(why).WithReason("promotion_state");
}

Result<PromotionPage> PageOf(ReadView db, const PromotionRecord& p) {
  PromotionPage page{p, {}, {}};
  CL_ASSIGN_OR_RETURN(page.approvals, PromotionStore::Approvals(db, p.id));
  CL_ASSIGN_OR_RETURN(page.history, PromotionStore::History(db, p.id));
  return page;
}

Result<std::string> NewPromotionId(Random& random) {
  uint8_t b[8];
  CL_RETURN_IF_ERROR(random.Fill(b, sizeof b));
  return "prm-" + HexEncode(b, sizeof b);
}

bool RefusedWith(const Result<PromotionPage>& result,
                 std::initializer_list<std::string_view> reasons) {
  if (result.ok()) return false;
  return std::find(reasons.begin(), reasons.end(), result.status().reason()) != reasons.end();
}

bool Refused(const Result<PromotionPage>& result) {
  if (result.ok()) return false;
  const StatusCode c = result.status().code();
  return c == StatusCode::kPermissionDenied || c == StatusCode::kConflict ||
         c == StatusCode::kFailedPrecondition;
}

// ---- the service ----------------------------------------------------------------

Status PromotionService::WriteDenied(const Caller& caller, const std::string& action,
                                     const std::string& id, const Status& why) {
  const Status written = deps_.writer.Write([&](Transaction& tx) -> Status {
    auto p = PromotionStore::Load(tx.view(), id);
    return deps_.ledger
        .Append(tx, RefusalEvent(caller.audit, action, id, why, p.ok() ? &*p : nullptr))
        .status();
  });
  return written.ok() ? why : written;
}

Result<PromotionPage> PromotionService::Act(
    const std::string& id, const std::function<Status(Transaction&, Loaded&)>& action) {
  return deps_.writer.Write<PromotionPage>([&](Transaction& tx) -> Result<PromotionPage> {
    Loaded l;
    if (!id.empty()) {
      CL_ASSIGN_OR_RETURN(l.p, PromotionStore::Load(tx.view(), id));
      CL_ASSIGN_OR_RETURN(l.approvals, PromotionStore::Approvals(tx.view(), id));
      CL_ASSIGN_OR_RETURN(l.definition,
                          AutomationVersionStore::DefinitionOf(tx.view(), l.p.version));
    }
    CL_ASSIGN_OR_RETURN(l.envs, EnvironmentNames(tx.view()));
    CL_RETURN_IF_ERROR(action(tx, l));
    return PageOf(tx.view(), l.p);
  });
}

namespace {

Status RefuseOpen(const PromotionRecord& open, const std::string& automation,
                  const std::string& to) {
  return Status::Conflict("promotion " + open.id + " of " + automation + " to " + to +
                          " is still " + std::string(StateName(open.state)))
      .WithReason("promotion_open")
      .WithDetails({{"open_promotion", open.id}});
}

std::string PipelineRef(const Pipeline& p) {
  return p.name + "@" + std::to_string(p.version) + ":" + p.digest.substr(0, 16);
}

}  // namespace

Result<PromotionPage> PromotionService::Request(const Caller& caller, const PromotionRequest& req) {
  std::optional<int64_t> scheduled;
  if (!req.scheduled_for.empty()) {
    scheduled = policy::ParseTime(req.scheduled_for);
    if (!scheduled)
      return Status::InvalidArgument("scheduled_for: expected a time such as 2026-12-01T22:00:00Z");
    if (*scheduled <= UnixSeconds(deps_.clock.Now()))
      return Status::InvalidArgument("scheduled_for is in the past");
  }
  if (req.emergency && (req.reason.empty() || req.reason.size() > 2000)) {
    return Status::InvalidArgument(
        "an emergency promotion needs a written reason (1 to 2000 characters)");
  }
  return Act("", [&](Transaction& tx, Loaded& l) -> Status {
    const ReadView db = tx.view();
    CL_RETURN_IF_ERROR(CheckEnvironmentName(l.envs, req.to));
    const auto to = std::find(l.envs.begin(), l.envs.end(), req.to);
    if (to == l.envs.begin()) {
      return Status::InvalidArgument(
          req.to + " is the first environment: save the automation there instead");
    }
    const std::string from = *(to - 1);
    CL_ASSIGN_OR_RETURN(auto live, DeploymentStore::LiveOne(db, from, req.automation));
    if (!live)
      return Status::FailedPrecondition(req.automation + " has no version live in " + from);
    const std::string version = req.version.empty() ? live->version : req.version;
    CL_ASSIGN_OR_RETURN(auto stored, AutomationVersionStore::Find(db, version));
    if (!stored || stored->automation != req.automation) {
      return Status::NotFound("automation " + req.automation + " has no version " + version);
    }
    if (live->version != version) {
      return Status::FailedPrecondition("version " + version.substr(0, 12) + " is not live in " +
                                        from + " (" + live->version.substr(0, 12) +
                                        " is); a version is promoted only from the "
                                        "environment where it is live, to the next one")
          .WithReason("not_live_in_source");
    }
    CL_ASSIGN_OR_RETURN(auto open, PromotionStore::OpenInto(db, req.automation, req.to));
    if (open) return RefuseOpen(*open, req.automation, req.to);
    CL_ASSIGN_OR_RETURN(l.p.id, NewPromotionId(deps_.random));
    l.p.automation = req.automation;
    l.p.version = version;
    l.p.from = from;
    l.p.to = req.to;
    l.p.kind = "promotion";
    CL_RETURN_IF_ERROR(LoadGates(db, l));
    if (req.emergency && !caller.Holds(l.stage.break_glass_roles)) {
      return Status::PermissionDenied("break-glass into " + req.to + " needs one of the roles " +
                                      Json(l.stage.break_glass_roles).dump() + " (pipeline " +
                                      l.pipeline.name + ")")
          .WithReason("break_glass_not_allowed");
    }
    CL_ASSIGN_OR_RETURN(l.definition, automation::FromCanonical(stored->canonical, stored->id));
    l.p.requester = caller.user();
    l.p.author = stored->author;
    l.p.emergency = req.emergency;
    l.p.reason = req.reason;
    l.p.scheduled_for = scheduled ? policy::FormatTime(*scheduled) : "";
    l.p.pipeline = PipelineRef(l.pipeline);
    l.p.created_at = l.p.updated_at = FormatTimestamp(deps_.clock.Now());
    l.p.state = PromotionState::kPendingChecks;
    CL_RETURN_IF_ERROR(PromotionStore::Insert(tx, l.p));
    CL_RETURN_IF_ERROR(
        Begin(tx, deps_, caller, l.p, req.emergency ? "emergency: " + req.reason : req.reason));
    return RunGate(tx, deps_, caller, l, Phase::kRequest).status();
  });
}

Result<PromotionPage> PromotionService::Rollback(const Caller& caller,
                                                 const std::string& automation,
                                                 const std::string& environment,
                                                 const std::string& reason) {
  return Act("", [&](Transaction& tx, Loaded& l) -> Status {
    const ReadView db = tx.view();
    CL_RETURN_IF_ERROR(CheckEnvironmentName(l.envs, environment));
    CL_ASSIGN_OR_RETURN(auto live, DeploymentStore::LiveOne(db, environment, automation));
    if (!live) return Status::NotFound(automation + " is not live in " + environment);
    if (live->previous_version.empty()) {
      return Status::FailedPrecondition("no version of " + automation + " was live in " +
                                        environment + " before " + live->version.substr(0, 12) +
                                        "; there is nothing to roll back to");
    }
    CL_ASSIGN_OR_RETURN(auto open, PromotionStore::OpenInto(db, automation, environment));
    if (open) return RefuseOpen(*open, automation, environment);
    CL_ASSIGN_OR_RETURN(auto stored, AutomationVersionStore::Find(db, live->previous_version));
    if (!stored)
      return Status::Corruption("deployment history names a missing version " +
                                live->previous_version);
    CL_ASSIGN_OR_RETURN(l.definition, automation::FromCanonical(stored->canonical, stored->id));
    CL_ASSIGN_OR_RETURN(l.p.id, NewPromotionId(deps_.random));
    l.p.automation = automation;
    l.p.version = stored->id;
    l.p.from = l.p.to = environment;
    l.p.kind = "rollback";
    CL_RETURN_IF_ERROR(LoadGates(db, l));
    l.p.requester = caller.user();
    l.p.author = stored->author;
    l.p.reason = reason;
    l.p.pipeline = PipelineRef(l.pipeline);
    l.p.created_at = l.p.updated_at = FormatTimestamp(deps_.clock.Now());
    l.p.state = PromotionState::kPendingChecks;
    CL_RETURN_IF_ERROR(PromotionStore::Insert(tx, l.p));
    CL_RETURN_IF_ERROR(Begin(tx, deps_, caller, l.p,
                             "rollback from " + live->version.substr(0, 12) + ": " + reason));
    return RunGate(tx, deps_, caller, l, Phase::kRequest).status();
  });
}

Result<PromotionPage> PromotionService::Get(const std::string& id) {
  return deps_.reads.Read<PromotionPage>([&](ReadView db) -> Result<PromotionPage> {
    CL_ASSIGN_OR_RETURN(PromotionRecord p, PromotionStore::Load(db, id));
    return PageOf(db, p);
  });
}

Result<std::string> PromotionService::TargetOf(const std::string& id) {
  return deps_.reads.Read<std::string>([&](ReadView db) -> Result<std::string> {
    CL_ASSIGN_OR_RETURN(PromotionRecord p, PromotionStore::Load(db, id));
    return p.to;
  });
}

Result<std::vector<PromotionRecord>> PromotionService::List(const PromotionFilter& f) {
  return deps_.reads.Read<std::vector<PromotionRecord>>(
      [&](ReadView db) -> Result<std::vector<PromotionRecord>> {
        CL_ASSIGN_OR_RETURN(auto rows, PromotionStore::List(db, f.automation, f.environment));
        std::vector<PromotionRecord> out;
        for (PromotionRecord& r : rows) {
          const std::string_view state = StateName(r.state);
          if (f.state == "open" && !IsOpen(r.state)) continue;
          if (!f.state.empty() && f.state != "open" && f.state != state) continue;
          if (f.unreviewed_emergencies && (!r.emergency || !r.review.is_null())) continue;
          if (static_cast<int>(out.size()) >= f.limit) break;
          out.push_back(std::move(r));
        }
        return out;
      });
}

}  // namespace cloister::promotion
