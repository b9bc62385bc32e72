// What is live where (table deployments): every change of the version live
// in an environment, append-only. The latest row per (environment,
// automation) is what is live; the one before it is what a rollback returns to.
//
// Reads take a ReadView; writes a Transaction of the single writer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister::promotion {

struct Deployment {
  int64_t seq = 0;
  std::string environment, automation, version;
  std::string previous_version;  // "" when nothing was live before
  std::string promotion_id;      // "" for a save in the first environment
  std::string kind;              // save, promotion or rollback
  std::string deployed_at;
  std::string deployed_by;  // user id
};

class DeploymentStore {
 public:
  // The latest deployment of each automation in `environment` (of
  // `automation` alone when it is not empty), by automation name.
  static Result<std::vector<Deployment>> LiveIn(ReadView db, const std::string& environment,
                                                const std::string& automation = "");
  static Result<std::optional<Deployment>> LiveOne(ReadView db, const std::string& environment,
                                                   const std::string& automation);
  // The most recent deployments into `environment` (of `automation` when
  // set), newest first, at most `limit`.
  static Result<std::vector<Deployment>> History(ReadView db, const std::string& environment,
                                                 const std::string& automation, int limit);

  // Appends one (its seq is assigned by the database).
  static Status Add(Transaction& tx, const Deployment& deployment);
};

}  // namespace cloister::promotion
