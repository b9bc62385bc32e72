// What is live in each environment, what was deployed there, and how two
// environments differ (behind /v1/environments/{env}/live, /deployments and
// /v1/environment-diff). Reads only.
//
// Thread-safe: the service holds only references to thread-safe collaborators.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "governance/promotion/deployment_store.h"
#include "governance/promotion/service_support.h"

namespace cloister::promotion {

struct LiveAutomation {
  Deployment deployment;           // the one that made it live (its time is "since")
  std::optional<int64_t> version_seq;  // the version's number, when the version is stored
};

struct AutomationDifference {
  std::string automation;
  std::string from_version;
  std::optional<std::string> to_version;  // nothing live in the target
  std::string status;                     // same, differs or new
  Json changes;                           // automation::Diff from the target's to the source's
  std::vector<std::string> missing_variables, missing_secrets;  // in the target
};

struct EnvironmentDiff {
  std::string from, to;
  std::vector<AutomationDifference> automations;
  std::vector<std::string> variables_only_in_from, secrets_only_in_from;
};

class EnvironmentService {
 public:
  explicit EnvironmentService(const ServiceDeps& deps) : deps_(deps) {}

  // invalid_argument naming the environments when `environment` is none.
  Result<std::vector<LiveAutomation>> Live(const std::string& environment);
  // The latest 500 deployments, newest first (of one automation when set).
  Result<std::vector<Deployment>> Deployments(const std::string& environment, const std::string& automation);
  // What promoting everything live in `from` into `to` would change.
  Result<EnvironmentDiff> Diff(const std::string& from, const std::string& to);

 private:
  ServiceDeps deps_;
};

}  // namespace cloister::promotion
