#include "governance/promotion/promotion_transitions.h"

#include "governance/promotion/gate.h"
#include "governance/promotion/promotion_events.h"

namespace cloister::promotion {

Status Begin(Transaction& tx, const ServiceDeps& deps, const Caller& caller, PromotionRecord& p,
             const std::string& note) {
  p.state = PromotionState::kPendingChecks;
  p.updated_at = FormatTimestamp(deps.clock.Now());
  CL_RETURN_IF_ERROR(
      PromotionStore::AppendHistory(tx, p.id, "", std::string(StateName(p.state)), caller.user(), p.updated_at, note));
  return deps.ledger.Append(tx, TransitionEvent(caller.audit, p, "", note)).status();
}

Status Transition(Transaction& tx, const ServiceDeps& deps, const Caller& caller, PromotionRecord& p,
                  PromotionState to, const std::string& note) {
  if (p.state == to) return Status::Ok();
  const std::string from(StateName(p.state));
  p.state = to;
  p.updated_at = FormatTimestamp(deps.clock.Now());
  CL_RETURN_IF_ERROR(
      PromotionStore::AppendHistory(tx, p.id, from, std::string(StateName(to)), caller.user(), p.updated_at, note));
  return deps.ledger.Append(tx, TransitionEvent(caller.audit, p, from, note)).status();
}

Status FailSuperseded(Transaction& tx, const ServiceDeps& deps, const Caller& caller, const std::string& automation,
                      const std::string& environment, const std::string& live_version) {
  CL_ASSIGN_OR_RETURN(auto open, PromotionStore::OpenFromOtherThan(tx.view(), automation, environment, live_version));
  for (PromotionRecord& r : open) {
    const std::string note = "superseded: version " + live_version.substr(0, 12) + " is now live in " + environment;
    r.checks.push_back(Check{"source", "fail", note, nullptr}.ToJson());
    CL_RETURN_IF_ERROR(Transition(tx, deps, caller, r, PromotionState::kFailed, note));
    CL_RETURN_IF_ERROR(PromotionStore::Update(tx, r));
  }
  return Status::Ok();
}

}  // namespace cloister::promotion
