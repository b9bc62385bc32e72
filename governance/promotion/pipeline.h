// Pipelines (docs/promotion-guide.md): for each environment an automation can
// be promoted into, the gates a promotion must pass. Stored versioned like
// policy documents; when no pipeline named "default" is stored, the built-in
// default applies (DefaultPipelineSource).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "governance/policy/policy_set.h"

namespace cloister::promotion {

struct Window {
  std::string name;
  // weekly: days (bit 1 Monday .. bit 7 Sunday), minutes of the day at a
  // fixed UTC offset; to <= from wraps past midnight.
  bool weekly = false;
  unsigned days = 0;
  int from_minute = 0, to_minute = 0;
  int32_t offset_seconds = 0;
  // dated: [from, to) in Unix seconds.
  int64_t from = 0, to = 0;

  bool Contains(int64_t unix_seconds) const;
  // When the window that contains `unix_seconds` ends (for messages).
  int64_t EndAfter(int64_t unix_seconds) const;
  Json ToJson() const;
};

struct ApprovalRule {
  int required = 1;
  std::vector<std::string> roles = {"approver"};  // any of these roles in the target environment
  std::vector<std::string> users;                 // or one of these users
  bool allow_requester = false;
  bool allow_author = false;
  Json ToJson() const;
};

struct Stage {
  std::string environment;
  ApprovalRule approvals;
  std::vector<std::string> policies;  // Policy names that must pass (hard-mandatory)
  std::vector<Window> allow_windows;  // when set, deployments only inside one
  std::vector<Window> deny_windows;   // deny wins over allow
  bool scheduling = true;             // whether a promotion may name a future time
  std::vector<std::string> break_glass_roles;
  bool break_glass_skips_windows = true;
  bool break_glass_skips_approvals = true;
  ApprovalRule rollback;  // rollback: one approval by default
  // Run evidence: at least this many successful runs of the version in the
  // previous environment within the last `evidence_within_days` days (0: no
  // requirement). Rollbacks and break-glass promotions that skip approvals
  // skip it too.
  int64_t evidence_successful_runs = 0;
  int64_t evidence_within_days = 30;
  Json ToJson() const;
};

struct Pipeline {
  std::string name;
  std::string description;
  std::vector<std::string> automations;  // globs of automation names
  std::map<std::string, Stage> stages;   // by target environment
  std::string digest;                    // SHA-256 of the source
  int64_t version = 0;                   // stored version; 0 built-in

  // The gates into `environment`: the stage, or the defaults.
  Stage StageFor(const std::string& environment) const;
  bool Matches(const std::string& automation) const;
  Json ToJson() const;
};

// Parses and checks a pipeline against the appliance's environments (in
// order): every stage names an environment other than the first.
// invalid_argument with "pipeline:line:col: key.path: message".
Result<Pipeline> ParsePipeline(const std::string& source,
                               const std::vector<std::string>& environments);

// The default pipeline's YAML for these environments: one approver for each
// stage, two and the baseline policy pack for the last, break-glass for
// admins, rollback with one approval.
std::string DefaultPipelineSource(const std::vector<std::string>& environments);

// Whether a deployment at `unix_seconds` is outside every window's ban:
// "" when allowed, else why not (naming the window and when it ends).
std::string WindowBlocks(const Stage& stage, int64_t unix_seconds);

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

}  // namespace cloister::promotion
