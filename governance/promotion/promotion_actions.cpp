// The decisions people take on a promotion: approve, reject, cancel,
// override, deploy, review.
#include <algorithm>

#include "appliance/core/clock.h"
#include "governance/policy/calendar.h"
#include "governance/promotion/deployment_store.h"
#include "governance/promotion/promotion_events.h"
#include "governance/promotion/promotion_transitions.h"
#include "governance/promotion/promotion_unit.h"

namespace cloister::promotion {

using S = PromotionState;

Result<PromotionPage> PromotionService::Approve(const Caller& caller, const std::string& id,
                                                const std::string& version, const std::string& comment) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(LoadGates(tx.view(), l));
    // The same approval again changes nothing.
    for (const auto& a : l.approvals) {
      if (a.user == caller.user() && a.decision == "approve" && a.version == version) return Status::Ok();
    }
    CL_RETURN_IF_ERROR(RequireState(l.p, {S::kAwaitingApproval}, "approved"));
    if (version != l.p.version) {
      return Status::Conflict("this promotion is for version " + l.p.version + "; an approval of " + version +
                              " does not apply to it (approvals are bound to one version)")
          .WithReason("version_mismatch");
    }
    const ApprovalRecord a{caller.user(), "approve", version, comment, FormatTimestamp(deps_.clock.Now()),
                           caller.roles};
    GateInput who;
    who.requester = l.p.requester;
    who.author = l.p.author;
    who.version = l.p.version;
    who.to = l.p.to;
    std::string why;
    if (!Eligible({a.user, deps_.names(a.user), a.decision, a.version, a.roles, a.comment, a.at}, who, RuleFor(l),
                  &why)) {
      const bool self = a.user == l.p.requester || a.user == l.p.author;
      return Status::PermissionDenied("you may not approve this promotion: " + why)
          .WithReason(self ? "self_approval" : "not_an_eligible_approver");
    }
    for (const auto& other : l.approvals) {
      if (other.user == caller.user()) {
        return Status::Conflict(caller.user_name() + " already " +
                                (other.decision == "approve" ? "approved" : "rejected") + " this promotion")
            .WithReason("already_decided");
      }
    }
    CL_RETURN_IF_ERROR(PromotionStore::AddApproval(tx, id, a, /*replace=*/false));
    l.approvals.push_back(a);
    CL_RETURN_IF_ERROR(
        deps_.ledger.Append(tx, ApprovalEvent(caller.audit, l.p, "approve", comment, &caller.roles)).status());
    return RunGate(tx, deps_, caller, l, Phase::kReview).status();
  });
  if (RefusedWith(result, {"version_mismatch", "self_approval", "not_an_eligible_approver", "promotion_state"})) {
    return WriteDenied(caller, "promotion.approval", id, result.status());
  }
  return result;
}

Result<PromotionPage> PromotionService::Reject(const Caller& caller, const std::string& id,
                                               const std::string& comment) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(LoadGates(tx.view(), l));
    CL_RETURN_IF_ERROR(RequireState(l.p, {S::kAwaitingApproval, S::kApproved, S::kScheduled}, "rejected"));
    const ApprovalRule& rule = RuleFor(l);
    if (!caller.Holds(rule.roles) &&
        std::find(rule.users.begin(), rule.users.end(), caller.user_name()) == rule.users.end()) {
      return Status::PermissionDenied("rejecting needs one of the roles " + Json(rule.roles).dump() + " in " + l.p.to)
          .WithReason("not_an_eligible_approver");
    }
    if (comment.empty()) return Status::InvalidArgument("a rejection needs a comment saying why");
    CL_RETURN_IF_ERROR(PromotionStore::AddApproval(
        tx, id, {caller.user(), "reject", l.p.version, comment, FormatTimestamp(deps_.clock.Now()), caller.roles},
        /*replace=*/true));
    CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, ApprovalEvent(caller.audit, l.p, "reject", comment, nullptr)).status());
    CL_RETURN_IF_ERROR(Transition(tx, deps_, caller, l.p, S::kRejected, caller.user_name() + ": " + comment));
    return PromotionStore::Update(tx, l.p);
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.approval", id, result.status());
  return result;
}

Result<PromotionPage> PromotionService::Cancel(const Caller& caller, const std::string& id,
                                               const std::string& reason) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(RequireState(l.p, {S::kPendingChecks, S::kAwaitingApproval, S::kApproved, S::kScheduled},
                                    "cancelled"));
    if (caller.user() != l.p.requester && !caller.Holds({"admin"})) {
      return Status::PermissionDenied("only the requester (" + deps_.names(l.p.requester) +
                                      ") or an admin may cancel it")
          .WithReason("not_the_requester");
    }
    CL_RETURN_IF_ERROR(Transition(tx, deps_, caller, l.p, S::kCancelled, caller.user_name() + ": " + reason));
    return PromotionStore::Update(tx, l.p);
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.cancel", id, result.status());
  return result;
}

Result<PromotionPage> PromotionService::Override(const Caller& caller, const std::string& id,
                                                 const std::string& reason) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(LoadGates(tx.view(), l));
    CL_RETURN_IF_ERROR(RequireState(l.p, {S::kAwaitingApproval}, "overridden"));
    const auto policy_check = std::find_if(l.p.checks.begin(), l.p.checks.end(),
                                           [](const Json& c) { return c.value("name", "") == "policy"; });
    if (policy_check == l.p.checks.end() || (*policy_check).value("status", "") != "waiting") {
      return Status::Conflict("the policy gate is not waiting for an override").WithReason("no_override_needed");
    }
    const Json& details = (*policy_check).contains("details") ? (*policy_check)["details"] : Json::object();
    const auto roles = details.is_object() ? details.value("override_roles", std::vector<std::string>{})
                                           : std::vector<std::string>{};
    if (!caller.Holds(roles)) {
      return Status::PermissionDenied("an override needs one of the roles " + Json(roles).dump() + " in " + l.p.to)
          .WithReason("override_not_allowed");
    }
    if (reason.empty() || reason.size() > 2000) {
      return Status::InvalidArgument("an override needs a written reason (1 to 2000 characters)");
    }
    l.p.override_ = {{"user", caller.user_name()},
                     {"user_id", caller.user()},
                     {"roles", caller.roles},
                     {"reason", reason},
                     {"at", FormatTimestamp(deps_.clock.Now())}};
    CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, OverrideEvent(caller.audit, l.p, reason)).status());
    return RunGate(tx, deps_, caller, l, Phase::kReview).status();
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.override", id, result.status());
  return result;
}

Result<PromotionPage> PromotionService::Deploy(const Caller& caller, const std::string& id) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(LoadGates(tx.view(), l));
    CL_RETURN_IF_ERROR(RequireState(l.p, {S::kApproved, S::kScheduled}, "deployed"));
    const auto scheduled = l.p.scheduled_for.empty() ? std::nullopt : policy::ParseTime(l.p.scheduled_for);
    if (scheduled && *scheduled > UnixSeconds(deps_.clock.Now())) {
      return Status::Conflict("promotion " + id + " is scheduled for " + l.p.scheduled_for).WithReason("scheduled");
    }
    // Re-check what may have changed since approval: source, configuration,
    // window, policy. A failure is recorded (the promotion fails); a window
    // in force only refuses this attempt.
    CL_ASSIGN_OR_RETURN(const GateResult gate, RunGate(tx, deps_, caller, l, Phase::kDeploy));
    if (!gate.caller_deploys) return Status::Ok();
    for (const Check& c : gate.checks) {
      if (c.name == "window" && c.status == "fail") {
        return Status::Conflict("not deployed: " + c.message).WithReason("deny_window");
      }
    }
    CL_ASSIGN_OR_RETURN(auto live, DeploymentStore::LiveOne(tx.view(), l.p.to, l.p.automation));
    const std::string previous = live ? live->version : "";
    const std::string now = FormatTimestamp(deps_.clock.Now());
    CL_RETURN_IF_ERROR(DeploymentStore::Add(
        tx, {0, l.p.to, l.p.automation, l.p.version, previous, l.p.id, l.p.kind, now, caller.user()}));
    CL_RETURN_IF_ERROR(
        Transition(tx, deps_, caller, l.p, S::kDeployed,
                   "live in " + l.p.to + (previous.empty() ? "" : ", replacing " + previous.substr(0, 12))));
    CL_RETURN_IF_ERROR(PromotionStore::Update(tx, l.p));
    return FailSuperseded(tx, deps_, caller, l.p.automation, l.p.to, l.p.version);
  });
  if (RefusedWith(result, {"deny_window", "promotion_state"})) {
    return WriteDenied(caller, "promotion.deploy", id, result.status());
  }
  return result;
}

Status NotDeployed(const PromotionPage& page) {
  const PromotionRecord& p = page.promotion;
  if (p.state == S::kDeployed) return Status::Ok();
  std::string why;
  for (const Json& c : p.checks) {
    const std::string status = c.value("status", "");
    if (status == "fail" || status == "waiting") why += "; " + c.value("name", "") + ": " + c.value("message", "");
  }
  return Status::Conflict("not deployed, the promotion is now " + std::string(StateName(p.state)) + why)
      .WithReason("deploy_failed");
}

Result<PromotionPage> PromotionService::Review(const Caller& caller, const std::string& id,
                                               const std::string& comment) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    if (!l.p.emergency) return Status::FailedPrecondition("promotion " + id + " is not an emergency promotion");
    if (!l.p.review.is_null()) {
      return Status::Conflict("promotion " + id + " was already reviewed").WithReason("reviewed");
    }
    if (caller.user() == l.p.requester) {
      return Status::PermissionDenied("the requester of a break-glass promotion may not review it")
          .WithReason("self_review");
    }
    if (!caller.Holds({"approver"})) return Status::PermissionDenied("a review needs the approver role in " + l.p.to);
    if (comment.empty()) return Status::InvalidArgument("a review needs a comment");
    const std::string at = FormatTimestamp(deps_.clock.Now());
    l.p.review = {{"user", caller.user_name()}, {"user_id", caller.user()}, {"comment", comment}, {"at", at}};
    l.p.updated_at = at;
    CL_RETURN_IF_ERROR(PromotionStore::Update(tx, l.p));
    return deps_.ledger.Append(tx, ReviewEvent(caller.audit, l.p, comment)).status();
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.review", id, result.status());
  return result;
}

}  // namespace cloister::promotion
