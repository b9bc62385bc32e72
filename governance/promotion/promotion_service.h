// Promotions (docs/promotion-guide.md): requests to make a version live in
// the next environment, rollbacks, and the decisions people take on them.
// Behind /v1/promotions and /v1/environments/{env}/rollbacks.
//
// Every operation is one unit of the single writer: it reloads the
// promotion and everything its gate reads inside the unit (so concurrent
// operations see each other's effects in order), runs the pure gate
// (gate.h), and commits the state change, its history and its audit events
// together or not at all. A refusal of who may act or of the promotion's
// state is answered with its Status and recorded as a "denied" event, in a
// unit of its own after the refused unit rolled back.
//
// Thread-safe: the service holds only references to thread-safe collaborators.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "governance/automation/automation.h"
#include "governance/promotion/gate.h"
#include "governance/promotion/pipeline.h"
#include "governance/promotion/promotion_store.h"
#include "governance/promotion/service_support.h"

namespace cloister::promotion {

struct PromotionRequest {
  std::string automation;
  std::string version;  // empty: the version live in the source environment
  std::string to;
  std::string scheduled_for;  // RFC 3339, empty for none
  bool emergency = false;
  std::string reason;
};

struct PromotionFilter {
  std::string state;  // "" any, "open", or one state
  std::string automation;
  std::string environment;  // target
  bool unreviewed_emergencies = false;
  int limit = 100;
};

// A promotion with its approvals and history: what every operation answers.
struct PromotionPage {
  PromotionRecord promotion;
  std::vector<ApprovalRecord> approvals;
  std::vector<HistoryEntry> history;
};

class PromotionService {
 public:
  explicit PromotionService(const ServiceDeps& deps) : deps_(deps) {}

  // Errors: invalid_argument (environment, time, emergency reason),
  // failed_precondition "not_live_in_source", not_found (version), conflict
  // "promotion_open", permission_denied "break_glass_not_allowed".
  Result<PromotionPage> Request(const Caller& caller, const PromotionRequest& request);
  // A promotion of the version live before the current one, through the
  // stage's rollback rule.
  Result<PromotionPage> Rollback(const Caller& caller, const std::string& automation, const std::string& environment,
                                 const std::string& reason);
  // Refusals recorded as denied: version_mismatch, self_approval,
  // not_an_eligible_approver, promotion_state (and already_decided answered).
  Result<PromotionPage> Approve(const Caller& caller, const std::string& id, const std::string& version,
                                const std::string& comment);
  Result<PromotionPage> Reject(const Caller& caller, const std::string& id, const std::string& comment);
  Result<PromotionPage> Cancel(const Caller& caller, const std::string& id, const std::string& reason);
  Result<PromotionPage> Override(const Caller& caller, const std::string& id, const std::string& reason);
  // Re-runs the gate and, when it passes, makes the version live. The page
  // of a promotion the gate failed at deployment (its state is then failed,
  // or unchanged) is answered too: NotDeployed(page) says why.
  Result<PromotionPage> Deploy(const Caller& caller, const std::string& id);
  Result<PromotionPage> Review(const Caller& caller, const std::string& id, const std::string& comment);

  Result<PromotionPage> Get(const std::string& id);
  // Newest first, filtered, at most filter.limit.
  Result<std::vector<PromotionRecord>> List(const PromotionFilter& filter);
  // The environment a promotion targets (for permission checks), or not_found.
  Result<std::string> TargetOf(const std::string& id);

  // What an operation on one promotion loads (promotion_service.cpp).
  struct Loaded;

 private:
  Result<PromotionPage> Act(const std::string& id, const std::function<Status(Transaction&, Loaded&)>& action);
  Status WriteDenied(const Caller& caller, const std::string& action, const std::string& id, const Status& why);

  ServiceDeps deps_;
};

// conflict "deploy_failed" when Deploy answered a page that is not
// deployed, naming the state and the failing or waiting checks; OK otherwise.
Status NotDeployed(const PromotionPage& page);

}  // namespace cloister::promotion
