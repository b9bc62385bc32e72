// The stored versions of automations (table automation_versions): each an
// immutable definition, identified by the SHA-256 of its canonical form,
// numbered 1, 2, 3... per automation in the order first saved.
//
// Reads take a ReadView; writes a Transaction of the single writer. Rows
// that do not decode are corruption naming the version.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"
#include "governance/automation/automation.h"

namespace cloister::automation {

struct StoredVersion {
  std::string id;  // SHA-256 hex of `canonical`
  std::string automation;
  std::string canonical;  // RFC 8785 bytes of the definition
  std::string source;     // the YAML as saved
  std::string author;     // user id
  std::string created_at;
  int64_t seq = 0;
};

struct AutomationSummary {
  std::string name;
  int64_t versions = 0;
  std::string last_saved_at;
};

class AutomationVersionStore {
 public:
  static Result<std::optional<StoredVersion>> Find(ReadView db, const std::string& id);
  // Every version of `automation`, by seq.
  static Result<std::vector<StoredVersion>> VersionsOf(ReadView db, const std::string& automation);
  // Every automation with at least one version, by name.
  static Result<std::vector<AutomationSummary>> Summaries(ReadView db);
  // The definition of a stored version, re-read from its canonical form and
  // checked against its id: not_found, or corruption when it was altered.
  static Result<Definition> DefinitionOf(ReadView db, const std::string& id);

  static Status Insert(Transaction& tx, const StoredVersion& version);
};

}  // namespace cloister::automation
