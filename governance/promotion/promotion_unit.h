// Inside a promotion operation's unit: what it loads, and running the gate
// on it. Shared by promotion_service.cpp and promotion_actions.cpp; not for
// other callers.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "governance/promotion/promotion_service.h"

namespace cloister::promotion {

// Everything a promotion's gate reads, loaded inside the writer's unit.
struct PromotionService::Loaded {
  PromotionRecord p;
  std::vector<ApprovalRecord> approvals;
  std::vector<std::string> envs;
  Pipeline pipeline;
  Stage stage;
  automation::Definition definition;
};
using Loaded = PromotionService::Loaded;

// The pipeline in force for the promotion's automation, and its stage for
// the target.
Status LoadGates(ReadView db, Loaded& l);

// Runs the gate on `l` (gate.h), stores its checks and the policy decision
// on the promotion (recording the decision), and moves the promotion to the
// state the checks lead to. At deployment a passing gate leaves the state
// for the caller, which deploys.
Result<GateResult> RunGate(Transaction& tx, const ServiceDeps& deps, const Caller& caller, Loaded& l, Phase phase);

// The stage's approval rule for the promotion's kind.
const ApprovalRule& RuleFor(const Loaded& l);

// conflict "promotion_state" unless `p` is in one of `states`, naming what
// failed when it is failed or blocked.
Status RequireState(const PromotionRecord& p, std::initializer_list<PromotionState> states, const std::string& doing);

// The page of a promotion as the unit left it.
Result<PromotionPage> PageOf(ReadView db, const PromotionRecord& p);

// "prm-" and 16 hex digits.
Result<std::string> NewPromotionId(Random& random);

// Whether an operation ended in one of its refusals: the answers that are
// also recorded as a denied event (after the unit rolled back). Decided from
// the status the unit's last run returned, never from a variable a run
// sets, which a replay of the unit could leave stale.
bool RefusedWith(const Result<PromotionPage>& result, std::initializer_list<std::string_view> reasons);
// A refusal of who may act, or of the promotion's state: recorded as denied.
bool Refused(const Result<PromotionPage>& result);

}  // namespace cloister::promotion
