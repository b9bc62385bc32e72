// Per-environment configuration: variables (plain values), secrets
// (write-only: their values are encrypted with AES-256-GCM under a key kept
// in the database, bound to the environment and name, and never read back
// through any API, export or log) and settings (egress allow-list and
// approved model endpoints). Functions taking a ReadView read; a stored row
// that does not decode (settings that are not lists of strings, a secrets
// key of the wrong size) is corruption naming its table and key.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/json.h"
#include "appliance/core/random.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct ConfigEntry {
  std::string name;
  std::string value;  // variables only; always empty for secrets
  std::string updated_at;
  std::string updated_by;
};

struct EnvironmentSettings {
  std::vector<std::string> egress_allow;     // host globs HTTP steps may call
  std::vector<std::string> model_endpoints;  // host globs LLM steps may call
  // PEM certificates steps verify HTTPS services against; "" = the system's.
  std::string ca_bundle;
  Json ToJson() const {
    return {{"egress_allow", egress_allow},
            {"model_endpoints", model_endpoints},
            {"ca_bundle", ca_bundle}};
  }
};

// A variable or secret name: 1-64 of A-Z, a-z, 0-9, _ and -, not starting with a digit.
Status ValidateConfigName(const std::string& name);

Result<std::vector<ConfigEntry>> ListVariables(ReadView db, const std::string& environment);
// Names and change times only.
Result<std::vector<ConfigEntry>> ListSecrets(ReadView db, const std::string& environment);
Status SetVariable(Transaction& tx, const std::string& environment, const std::string& name,
                   const std::string& value, const std::string& actor, const Clock& clock);
// Encrypts `value`; creates the secrets key on first use.
Status SetSecret(Transaction& tx, const std::string& environment, const std::string& name,
                 const std::string& value, const std::string& actor, const Clock& clock,
                 Random& random);
// not_found when there is no such variable or secret. `secret` picks the table.
Status DeleteConfig(Transaction& tx, bool secret, const std::string& environment,
                    const std::string& name);
// The decrypted value of a secret, for the runtime only.
Result<std::string> RevealSecret(ReadView db, const std::string& environment,
                                 const std::string& name);

// Empty settings when none are stored.
Result<EnvironmentSettings> GetSettings(ReadView db, const std::string& environment);
Status SetSettings(Transaction& tx, const std::string& environment,
                   const EnvironmentSettings& settings, const std::string& actor,
                   const Clock& clock);

}  // namespace cloister
