// The promotion gate (docs/promotion-guide.md): every check a promotion
// passes on its way to an environment, and the state the checks lead to.
//
// EvaluateGate is a pure function of its input: it reads no database, no
// clock and no name directory, and writes nothing. The caller loads a
// GateInput (inside the writer's unit, so the checks see the state they
// commit with), stores the checks and the next state, and records the
// policy decision in the audit ledger when the result carries one.
//
// The checks, in order, and what each can say:
//   source         pass | fail      the version is live where it comes from
//                                   (a rollback always passes)
//   configuration  pass | fail      every referenced variable and secret is
//                                   set in the target
//   schedule       fail             only when a time is named and the stage
//                                   does not allow scheduling
//   window         pass | fail | skipped | notice
//                                   no deny window (and inside an allow
//                                   window) at the deployment time
//   evidence       pass | fail | skipped
//                                   enough successful runs of the version
//                                   in the previous environment, when the
//                                   stage asks for them
//   approvals      pass | waiting | skipped
//   policy         pass | fail | waiting | pending | skipped
//                                   evaluated once nothing else fails and
//                                   the approvals are in
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "governance/automation/automation.h"
#include "governance/policy/policy_set.h"
#include "governance/promotion/pipeline.h"
#include "governance/promotion/promotion_state.h"

namespace cloister::promotion {

// When the gate runs: at the request (and after a rollback request), at
// each review (approval, override), and at deployment. The phase decides
// which time the windows are checked at and what a window in force does:
// at request it fails the promotion, at review it is a notice, at
// deployment it holds this deployment back without failing the promotion.
enum class Phase { kRequest, kReview, kDeploy };

struct Check {
  std::string name;
  std::string status;  // pass, fail, waiting, skipped, pending, notice
  std::string message;
  Json details;  // null when there are none

  // {"name", "status", "message"} and "details" when set.
  Json ToJson() const;
};

// One approval or rejection given on the promotion.
struct GateApproval {
  std::string user;                // the stable user id: every comparison uses it
  std::string user_name;           // the user's current name: outputs, and the rule's "users"
  std::string decision;            // "approve" or "reject"
  std::string version;             // the version approved
  std::vector<std::string> roles;  // the roles the user held in the target when giving it
  std::string comment;
  std::string at;  // as stored (RFC 3339)
};

// The version's facts the gate reads.
struct GateDefinition {
  std::set<std::string> variables;    // referenced as ${vars.NAME}
  std::set<std::string> secrets;      // referenced as ${secrets.NAME}
  Json policy_view = Json::object();  // automation::Definition::PolicyView()

  static GateDefinition Of(const automation::Definition& definition);
};

// The version of the automation live in one environment.
struct LiveVersion {
  std::string environment;
  std::string version;
  std::string deployed_at;  // as stored (FormatTimestamp)
};

// Runs of the version in the environment it comes from, by final state.
struct RunOutcomes {
  std::string state;  // succeeded, failed, cancelled, timed_out
  int64_t count = 0;
  std::string last_finished_at;  // as stored (FormatTimestamp)
};

// The run evidence of a promotion: every finished run of the version in
// `from`, and the successful ones within the stage's window.
struct RunEvidence {
  std::vector<RunOutcomes> outcomes;
  int64_t succeeded_in_window = 0;
};

// Everything the gate reads, as plain data.
struct GateInput {
  // The promotion.
  std::string id, automation, version, from, to;
  std::string kind = "promotion";  // or "rollback"
  bool emergency = false;          // break-glass
  std::string reason;
  std::string requester, requester_name;                    // id and current name
  std::string author, author_name;                          // of the version: id and current name
  std::string scheduled_for;                                // RFC 3339 as stored; "" for none
  std::string created_at;                                   // as stored (FormatTimestamp)
  std::optional<policy::OverrideRequest> override_request;  // see OverrideFromJson
  std::vector<GateApproval> approvals;                      // every decision given, in any order

  // The gates: the pipeline in force for the automation, and its stage for
  // `to` (pipeline.StageFor(to)).
  Pipeline pipeline;
  Stage stage;

  GateDefinition definition;

  // What the appliance holds now.
  std::optional<std::string> live_in_source;  // the version live in `from`; unused for rollbacks
  std::vector<std::string> environments;      // in order
  std::vector<LiveVersion> live;              // of `automation`, at most one per environment
  std::set<std::string> target_variables;     // names set in `to`
  std::set<std::string> target_secrets;
  std::vector<std::string> target_egress_allow;  // `to`'s settings (empty when unset)
  std::vector<std::string> target_model_endpoints;
  RunEvidence evidence;  // of `version` in `from`
  int64_t now = 0;       // Unix seconds

  // The policies in force; EvaluateGate reads them only when the policy
  // check is evaluated.
  std::shared_ptr<const policy::PolicySet> policies;
  policy::EvalLimits limits;
};

// A policy decision the gate made.
struct GatePolicyDecision {
  policy::Decision decision;
  Json input;  // the promotion hook's input it was evaluated on
  // The bindings made from the stage's policies (BindPipelinePolicies).
  // decision.bindings point into them: they are shared, never copied, so a
  // copy of this struct keeps them alive with its decision.
  std::shared_ptr<const std::vector<policy::PolicyBinding>> bindings;
  // The outcome is "overridden": input.override_request was applied, and the
  // decision's ledger event carries its reason.
  bool override_applied = false;
};

struct GateResult {
  std::vector<Check> checks;
  // The state the checks lead to: failed (kDeploy) or blocked when a check
  // failed, awaiting_approval when one waits, else scheduled (a future time,
  // not at kDeploy) or approved.
  PromotionState next_state = PromotionState::kPendingChecks;
  // kDeploy and the gate passes: the promotion keeps its state and the
  // caller deploys, unless HeldByWindow(). Otherwise the caller moves the
  // promotion to next_state.
  bool caller_deploys = false;
  // For the transition: "<check>: <message>" of every failing check (and of
  // every waiting one when the next state is awaiting_approval), joined by "; ".
  std::string note;
  std::optional<GatePolicyDecision> policy;  // set when the policy was evaluated

  Json ChecksJson() const;
  // A window in force at deployment: the "window" check failed.
  bool HeldByWindow() const;
};

// Runs every check. Errors: invalid_argument from binding the policy input
// to the promotion hook's schema; internal when the policy check is reached
// without a policy set. Thread-safe: it touches only its arguments (and
// the immutable policy set).
Result<GateResult> EvaluateGate(const GateInput& input, Phase phase);

// Whether `approval` counts towards `rule` on this promotion, else why not
// (in `why`): the requester and the author do not count unless the rule
// allows them, an approval of another version never counts, and the
// approver is named in the rule's users or held one of its roles (admin
// holds every role). The decision (approve or reject) is not looked at.
bool Eligible(const GateApproval& approval, const GateInput& input, const ApprovalRule& rule,
              std::string* why);

// The promotion hook's input document (docs/policy-language.md) for this
// promotion. People appear by name; times the stored texts do not give are
// `now`.
Json PromotionPolicyInput(const GateInput& input);

// The override stored on a promotion ({"user", "user_id", "roles", "reason",
// "at"}), as the policy set applies it; nullopt when `stored` is not an
// object (no override). corruption when its user, roles or reason have the
// wrong type.
Result<std::optional<policy::OverrideRequest>> OverrideFromJson(const Json& stored);

}  // namespace cloister::promotion
