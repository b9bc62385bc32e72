// Moving a promotion between states: the history entry and the audit event
// of each move, written in the caller's unit. Shared by the services that
// move promotions (a promotion's own operations, and saves and deployments
// that supersede open promotions).
#pragma once

#include <string>

#include "governance/promotion/promotion_store.h"
#include "governance/promotion/service_support.h"

namespace cloister::promotion {

// Records a new promotion's first state (pending_checks) and its
// "promotion.requested" event. `p` is inserted by the caller.
Status Begin(Transaction& tx, const ServiceDeps& deps, const Caller& caller, PromotionRecord& p,
             const std::string& note);

// Moves `p` to `to` (nothing when it is there already): its history, its
// "promotion.<state>" event, and p.updated_at. The caller stores `p`.
Status Transition(Transaction& tx, const ServiceDeps& deps, const Caller& caller, PromotionRecord& p,
                  PromotionState to, const std::string& note);

// Fails the open promotions of `automation` out of `environment` whose
// version is no longer the one live there: their approvals were for what is
// now superseded.
Status FailSuperseded(Transaction& tx, const ServiceDeps& deps, const Caller& caller, const std::string& automation,
                      const std::string& environment, const std::string& live_version);

}  // namespace cloister::promotion
