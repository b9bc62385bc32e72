// Automations, pipelines, promotions, deployments and rollback: the
// governance service behind /v1/automations, /v1/pipelines, /v1/promotions
// and the environment views (docs/promotion-guide.md).
//
// Every operation that changes something is one unit of the single writer:
// the state change, its history and its audit events commit together or not
// at all. Each promotion operation reloads the promotion and everything its
// gate reads inside that unit, so concurrent requests see each other's
// effects in order.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/storage/read_pool.h"
#include "appliance/storage/writer.h"
#include "audit/audit_ledger.h"
#include "governance/automation/automation.h"
#include "governance/policy/policy_set.h"
#include "governance/promotion/pipeline.h"

namespace cloister::promotion {

// Who is calling: the audit actor and request (copied into every event) and
// the roles they hold in the environment the operation concerns. The actor
// is the person (a token's owner, never the token's name), so user() is the
// stable user id that every comparison and every stored "who" uses.
struct Caller {
  AuditRecord audit;
  std::vector<std::string> roles;

  const std::string& user() const { return audit.actor.id; }
  const std::string& user_name() const { return audit.actor.name; }
  bool Holds(const std::vector<std::string>& any_of) const;  // admin holds every role
};

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

// The policies a pipeline's stage for `environment` requires, bound as the
// promotion gate binds them (hard mandatory, that environment only), and
// those it names that are not loaded as promotion policies. The gate and
// what-if evaluation share it.
struct PipelinePolicies {
  std::string pipeline;
  std::vector<policy::PolicyBinding> bindings;
  std::vector<std::string> missing;
};
PipelinePolicies BindPipelinePolicies(const Pipeline& pipeline, const std::string& environment,
                                      const policy::PolicySet& set);

class Service {
 public:
  using PolicySource = std::function<std::shared_ptr<const policy::PolicySet>()>;
  // The current display name of a stored user id (the id itself when it
  // names nobody, as rows from before ids do). Outputs show both.
  using NameOf = std::function<std::string(const std::string& id)>;
  Service(Writer& writer, ReadPool& reads, AuditLedger& ledger, const Clock& clock, Random& random,
          PolicySource policies, policy::EvalLimits limits, NameOf names)
      : writer_(writer), reads_(reads), ledger_(ledger), clock_(clock), random_(random),
        policies_(std::move(policies)), limits_(limits), names_(std::move(names)) {}

  // ---- automations ----
  // Validates and stores a version in the first environment and makes it
  // live there. invalid_argument with details {"problems": [...]} when it
  // does not validate; failed_precondition "stale" when `if_match` is set and
  // is not the current version; policy_denied when an automation.save
  // binding refuses it. Saving the live content again changes nothing.
  Result<Json> SaveAutomation(const Caller& caller, const std::string& name, const std::string& source,
                              const std::string& if_match);
  Result<Json> ListAutomations();
  Result<Json> GetAutomation(const std::string& name);
  // The stored canonical bytes (verified against the id) and source.
  struct StoredVersion {
    std::string id, automation, canonical, source, author, created_at;
    int64_t seq = 0;
  };
  Result<StoredVersion> GetVersion(const std::string& name, const std::string& id);
  Result<Json> DiffVersions(const std::string& name, const std::string& from, const std::string& to);

  // ---- environments ----
  Result<Json> Live(const std::string& environment);
  Result<Json> Deployments(const std::string& environment, const std::string& automation);
  Result<Json> DiffEnvironments(const std::string& from, const std::string& to);

  // ---- pipelines ----
  Result<Json> PutPipeline(const Caller& caller, const std::string& name, const std::string& source);
  Result<Json> ListPipelines();
  Result<Json> GetPipeline(const std::string& name, int64_t version);
  Result<Json> PipelineVersions(const std::string& name);

  // ---- promotions ----
  Result<Json> Request(const Caller& caller, const PromotionRequest& request);
  Result<Json> Rollback(const Caller& caller, const std::string& automation, const std::string& environment,
                        const std::string& reason);
  Result<Json> Approve(const Caller& caller, const std::string& id, const std::string& version,
                       const std::string& comment);
  Result<Json> Reject(const Caller& caller, const std::string& id, const std::string& comment);
  Result<Json> Cancel(const Caller& caller, const std::string& id, const std::string& reason);
  Result<Json> Override(const Caller& caller, const std::string& id, const std::string& reason);
  Result<Json> Deploy(const Caller& caller, const std::string& id);
  Result<Json> Review(const Caller& caller, const std::string& id, const std::string& comment);
  Result<Json> Get(const std::string& id);
  Result<Json> List(const PromotionFilter& filter);

  // The pipeline-bound policies that gate promotions of `automation` into
  // `environment`, as the gate binds them (for what-if evaluation).
  Result<PipelinePolicies> PipelinePoliciesFor(const std::string& automation, const std::string& environment);

  // The environment a promotion targets (for permission checks), or not_found.
  Result<std::string> TargetOf(const std::string& id);

  // What an operation on one promotion loads (promotion_service.cpp).
  struct Loaded;

 private:
  Result<Json> Act(const std::string& id,
                   const std::function<Status(Transaction&, Loaded&)>& action);
  Status WriteDenied(const Caller& caller, const std::string& action, const std::string& id, const Status& why);

  Writer& writer_;
  ReadPool& reads_;
  AuditLedger& ledger_;
  const Clock& clock_;
  Random& random_;
  PolicySource policies_;
  policy::EvalLimits limits_;
  NameOf names_;
};

}  // namespace cloister::promotion
