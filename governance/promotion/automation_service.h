// Automations (docs/automations.md): saving versions into the first
// environment, and reading them back. Behind /v1/automations.
//
// A save is one unit of the single writer: the version (when its content is
// new), its deployment in the first environment, its audit event, and the
// failing of open promotions whose version it supersedes commit together.
//
// Thread-safe: the service holds only references to thread-safe collaborators.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "governance/automation/automation_version_store.h"
#include "governance/promotion/deployment_store.h"
#include "governance/promotion/service_support.h"

namespace cloister::promotion {

struct SavedAutomation {
  std::string name, version, environment;
  int64_t seq = 0;
  bool created = false;    // new content (a version first saved now)
  bool unchanged = false;  // the live version was saved again: nothing changed
  std::string previous_version;  // live before the save; "" for none (unset when unchanged)
};

struct AutomationListing {
  automation::AutomationSummary summary;
  // The version live in each environment, in environment order.
  std::vector<std::pair<std::string, std::optional<std::string>>> live;
};

struct AutomationView {
  std::string name;
  std::vector<automation::StoredVersion> versions;
  std::vector<std::pair<std::string, std::optional<Deployment>>> live;  // per environment, in order
  std::string pipeline;  // the pipeline that governs it
  // The version live in the first environment, if any.
  std::optional<std::string> head() const;
};

struct VersionDiff {
  std::string automation, from, to;
  Json changes;  // automation::Diff
};

class AutomationService {
 public:
  explicit AutomationService(const ServiceDeps& deps) : deps_(deps) {}

  // Validates and stores a version in the first environment and makes it
  // live there. invalid_argument (reason invalid_definition, details
  // {"problems": [...]}) when it does not validate; conflict "stale" when
  // `if_match` is set and is not the live version; permission_denied
  // "policy_denied" when an automation.save binding refuses it (its decision
  // is recorded, the version is not saved). Saving the live content again
  // changes nothing.
  Result<SavedAutomation> Save(const Caller& caller, const std::string& name, const std::string& source,
                               const std::string& if_match);
  Result<std::vector<AutomationListing>> List();
  // not_found when no version of `name` exists.
  Result<AutomationView> Get(const std::string& name);
  // The stored version, its canonical bytes verified against its id:
  // not_found, or corruption "version_integrity" when it was altered.
  Result<automation::StoredVersion> GetVersion(const std::string& name, const std::string& id);
  Result<VersionDiff> Diff(const std::string& name, const std::string& from, const std::string& to);

 private:
  ServiceDeps deps_;
};

}  // namespace cloister::promotion
