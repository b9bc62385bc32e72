// What the governance services share: their collaborators, the caller, and
// small reads every one of them makes. Not part of the module's public
// surface: services include it, the API does not.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/storage/read_pool.h"
#include "appliance/storage/writer.h"
#include "audit/audit_ledger.h"
#include "governance/policy/policy_set.h"
#include "governance/promotion/gate.h"

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

// The collaborators of the governance services, shared by all of them.
// Everything referenced must outlive the services.
struct ServiceDeps {
  using PolicySource = std::function<std::shared_ptr<const policy::PolicySet>()>;
  // The current display name of a stored user id (the id itself when it
  // names nobody). The gate matches pipelines' "users" and policies see
  // people by name.
  using NameOf = std::function<std::string(const std::string& id)>;
  // The runs of `version` in `environment` (successes counted from `since`,
  // FormatTimestamp form), read in the caller's view: the runtime's.
  using EvidenceOf =
      std::function<Result<RunEvidence>(ReadView db, const std::string& environment,
                                        const std::string& version, const std::string& since)>;

  Writer& writer;
  ReadPool& reads;
  AuditLedger& ledger;
  const Clock& clock;
  Random& random;
  PolicySource policies;
  policy::EvalLimits limits;
  NameOf names;
  EvidenceOf evidence;  // empty: no runs (the evidence check then fails)
};

inline int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The environments, in promotion order.
Result<std::vector<std::string>> EnvironmentNames(ReadView db);
// invalid_argument naming the environments unless `env` is one of them.
Status CheckEnvironmentName(const std::vector<std::string>& envs, const std::string& env);

// The variable and secret names set in an environment.
struct ConfigNames {
  std::set<std::string> variables, secrets;
};
Result<ConfigNames> NamesIn(ReadView db, const std::string& environment);

// The names in `wanted` that `have` lacks, in order.
std::vector<std::string> Missing(const std::set<std::string>& wanted,
                                 const std::set<std::string>& have);

}  // namespace cloister::promotion
