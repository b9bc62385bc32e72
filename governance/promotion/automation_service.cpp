#include "governance/promotion/automation_service.h"

#include <algorithm>

#include "appliance/core/encoding.h"
#include "governance/policy/calendar.h"
#include "governance/policy/document.h"
#include "governance/promotion/pipeline_store.h"
#include "governance/promotion/promotion_events.h"
#include "governance/promotion/promotion_transitions.h"

namespace cloister::promotion {
namespace {

using automation::AutomationVersionStore;
using automation::StoredVersion;

// The automation.save hook's input (docs/policy-language.md).
Json SaveInput(const Caller& caller, int64_t now, const std::string& first, const automation::Definition& def,
               const std::string& head) {
  return {{"time", policy::FormatTime(now)},
          {"actor",
           {{"user", caller.user_name()},
            {"kind", caller.audit.actor.kind},
            {"roles", caller.roles},
            {"bindings", Json::array()}}},
          {"environment", {{"name", first}, {"position", 0}}},
          {"definition", def.PolicyView()},
          {"version", def.id},
          {"previous_version", head}};
}

// What the run that committed answers: the saved version, or the policy's
// refusal (its decision event is kept, the version is not saved).
struct SaveOutcome {
  SavedAutomation saved;
  Status refusal;
};

// The automation.save hook on a save of `def` into `first` over `head`: the
// decision is recorded when a binding failed, and *refusal set when it
// refuses the save. Errors are those of evaluating and recording.
Status CheckSavePolicy(Transaction& tx, const ServiceDeps& deps, const Caller& caller, const std::string& first,
                       const automation::Definition& def, const std::string& head, Status* refusal) {
  *refusal = Status::Ok();
  const auto set = deps.policies();
  if (!set->HasBindings("automation.save")) return Status::Ok();
  const Json input = SaveInput(caller, UnixSeconds(deps.clock.Now()), first, def, head);
  CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(*policy::HookSchema("automation.save"), input));
  policy::Evaluator evaluator(deps.limits);
  const policy::Decision d = set->Decide("automation.save", first, doc, evaluator);
  if (std::none_of(d.bindings.begin(), d.bindings.end(), [](const auto& b) { return b.failed; })) return Status::Ok();
  AuditRecord e = PolicyDecisionEvent(caller.audit, "automation.save", d, input);
  e.target_kind = "automation";
  e.target_id = def.name;
  e.env = first;
  CL_RETURN_IF_ERROR(deps.ledger.Append(tx, e).status());
  if (!d.allowed) {
    *refusal = Status::PermissionDenied("refused by policy: " + d.Summary())
                   .WithReason("policy_denied")
                   .WithDetails({{"decision", d.ToJson(false)}});
  }
  return Status::Ok();
}

}  // namespace

std::optional<std::string> AutomationView::head() const {
  if (live.empty() || !live.front().second) return std::nullopt;
  return live.front().second->version;
}

Result<SavedAutomation> AutomationService::Save(const Caller& caller, const std::string& name,
                                                const std::string& source, const std::string& if_match) {
  automation::ParseResult parsed = automation::Parse(source);
  if (!parsed.ok()) {
    Json problems = Json::array();
    for (const auto& p : parsed.problems) problems.push_back(p.ToJson());
    return Status::InvalidArgument(automation::FormatProblems(parsed.problems, name + ".yaml"))
        .WithReason("invalid_definition")
        .WithDetails({{"problems", problems}});
  }
  const automation::Definition& def = parsed.definition;
  if (def.name != name) {
    return Status::InvalidArgument("metadata.name is \"" + def.name + "\" but the path names \"" + name + "\"");
  }
  const Result<SaveOutcome> outcome = deps_.writer.Write<SaveOutcome>([&](Transaction& tx) -> Result<SaveOutcome> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(tx.view()));
    const std::string& first = envs.front();
    CL_ASSIGN_OR_RETURN(auto versions, AutomationVersionStore::VersionsOf(tx.view(), name));
    CL_ASSIGN_OR_RETURN(auto live, DeploymentStore::LiveOne(tx.view(), first, name));
    const std::string head = live ? live->version : "";
    if (!if_match.empty() && if_match != head) {
      return Status::Conflict("stale If-Match: the live version in " + first + " is " +
                              (head.empty() ? "none" : head) + ", not " + if_match)
          .WithReason("stale")
          .WithDetails({{"current", head}});
    }
    const auto existing =
        std::find_if(versions.begin(), versions.end(), [&](const StoredVersion& v) { return v.id == def.id; });
    SavedAutomation saved{name, def.id, first};
    if (head == def.id) {
      saved.seq = existing->seq;
      saved.unchanged = true;
      return SaveOutcome{saved, Status::Ok()};
    }
    Status refusal;
    CL_RETURN_IF_ERROR(CheckSavePolicy(tx, deps_, caller, first, def, head, &refusal));
    if (!refusal.ok()) return SaveOutcome{{}, refusal};  // its decision is kept; the save is refused after the commit
    const std::string now = FormatTimestamp(deps_.clock.Now());
    saved.created = existing == versions.end();
    saved.seq = saved.created ? static_cast<int64_t>(versions.size()) + 1 : existing->seq;
    saved.previous_version = head;
    if (saved.created) {
      CL_RETURN_IF_ERROR(
          AutomationVersionStore::Insert(tx, {def.id, name, def.canonical, source, caller.user(), now, saved.seq}));
    }
    CL_RETURN_IF_ERROR(DeploymentStore::Add(tx, {0, first, name, def.id, head, "", "save", now, caller.user()}));
    CL_RETURN_IF_ERROR(deps_.ledger
                           .Append(tx, AutomationSavedEvent(caller.audit, name, first, def.id, saved.seq, head,
                                                            saved.created, source))
                           .status());
    CL_RETURN_IF_ERROR(FailSuperseded(tx, deps_, caller, name, first, def.id));
    return SaveOutcome{saved, Status::Ok()};
  });
  CL_RETURN_IF_ERROR(outcome.status());
  if (!outcome->refusal.ok()) return outcome->refusal;
  return outcome->saved;
}

Result<std::vector<AutomationListing>> AutomationService::List() {
  return deps_.reads.Read<std::vector<AutomationListing>>([&](ReadView db) -> Result<std::vector<AutomationListing>> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    CL_ASSIGN_OR_RETURN(auto summaries, AutomationVersionStore::Summaries(db));
    std::vector<AutomationListing> out;
    for (auto& summary : summaries) {
      AutomationListing item{std::move(summary), {}};
      for (const auto& env : envs) {
        CL_ASSIGN_OR_RETURN(auto d, DeploymentStore::LiveOne(db, env, item.summary.name));
        item.live.emplace_back(env, d ? std::optional<std::string>(d->version) : std::nullopt);
      }
      out.push_back(std::move(item));
    }
    return out;
  });
}

Result<AutomationView> AutomationService::Get(const std::string& name) {
  return deps_.reads.Read<AutomationView>([&](ReadView db) -> Result<AutomationView> {
    AutomationView view{name, {}, {}, ""};
    CL_ASSIGN_OR_RETURN(view.versions, AutomationVersionStore::VersionsOf(db, name));
    if (view.versions.empty()) return Status::NotFound("no automation named " + name);
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    for (const auto& env : envs) {
      CL_ASSIGN_OR_RETURN(auto d, DeploymentStore::LiveOne(db, env, name));
      view.live.emplace_back(env, std::move(d));
    }
    CL_ASSIGN_OR_RETURN(auto pipelines, PipelineStore::InForce(db, envs));
    CL_ASSIGN_OR_RETURN(Pipeline pipeline, PipelineFor(pipelines, name));
    view.pipeline = pipeline.name;
    return view;
  });
}

Result<StoredVersion> AutomationService::GetVersion(const std::string& name, const std::string& id) {
  return deps_.reads.Read<StoredVersion>([&](ReadView db) -> Result<StoredVersion> {
    CL_ASSIGN_OR_RETURN(auto v, AutomationVersionStore::Find(db, id));
    if (!v || v->automation != name) return Status::NotFound("automation " + name + " has no version " + id);
    if (Sha256Hex(v->canonical) != v->id) {
      return Status::Corruption("stored version " + id + " of " + name +
                                " does not hash to its id: its content was altered")
          .WithReason("version_integrity");
    }
    return std::move(*v);
  });
}

Result<VersionDiff> AutomationService::Diff(const std::string& name, const std::string& from, const std::string& to) {
  CL_ASSIGN_OR_RETURN(StoredVersion a, GetVersion(name, from));
  CL_ASSIGN_OR_RETURN(StoredVersion b, GetVersion(name, to));
  CL_ASSIGN_OR_RETURN(Json ja, ParseJson(a.canonical));
  CL_ASSIGN_OR_RETURN(Json jb, ParseJson(b.canonical));
  return VersionDiff{name, from, to, automation::Diff(ja, jb)};
}

}  // namespace cloister::promotion
