// Runs and their step attempts (tables runs and run_steps, runtime_schema.h).
// The runs table is the durable queue: a queued run waits for a worker, a
// running run is leased by one worker until lease_expires_ms, and a terminal
// run is never written again (every update below refuses one; retention's
// PruneOutputs, which drops step outputs, is the one exception).
//
// Reads take a ReadView; writes a Transaction of the single writer. A row
// that does not decode is corruption naming the table and the run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/runtime/run_state.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"
#include "governance/promotion/gate.h"

namespace cloister::runtime {

struct RunRecord {
  std::string id;
  std::string environment, automation, version;
  std::string trigger;          // manual, schedule or webhook
  std::string triggered_by;     // a user id, or "schedule" / "webhook"
  std::string idempotency_key;  // unique per environment and automation
  Json inputs = Json::object();
  RunState state = RunState::kQueued;
  std::string queued_at, started_at, finished_at;  // RFC 3339; "" until then
  int next_step = 0;                               // the index of the next step to run
  Json context = Json::object();          // {"steps": {id: {"output", "status"}}} of finished steps
  std::string lease_owner;                // the worker pool instance holding it; "" for none
  int64_t lease_expires_ms = 0;           // Unix milliseconds
  std::string cancel_requested_by;        // a user id once a cancel was asked for
  std::string error_code, error_message;  // why it failed; "" otherwise
};

// One attempt of one step.
struct StepAttempt {
  std::string run_id;
  int step_index = 0;
  int attempt = 1;  // 1-based, counted over restarts
  std::string step_id, type;
  std::string outcome;  // succeeded, failed, or retrying (another attempt follows)
  std::string started_at;
  int64_t duration_ms = 0;
  int status = 0;  // the HTTP status, 0 for none
  std::string error_code, error_message;
  std::string request_sha256, response_sha256;
  std::optional<std::string> output;  // JSON text, masked and cut; nullopt once pruned (or none)
  bool output_truncated = false;
};

struct RunFilter {
  std::string environment, automation, state;
  std::string since;      // queued_at >= since; "" for any
  std::string before_id;  // a page cursor: runs queued before this one
  int limit = 100;
};

// Concurrency limits a claim respects.
struct ClaimLimits {
  int per_automation = 4;
  int per_environment = 16;
};

class RunStore {
 public:
  static Result<std::optional<RunRecord>> Get(ReadView db, const std::string& id);
  static Result<std::optional<RunRecord>> FindByKey(ReadView db, const std::string& environment,
                                                    const std::string& automation,
                                                    const std::string& key);
  // Newest first.
  static Result<std::vector<RunRecord>> List(ReadView db, const RunFilter& filter);
  // The attempts of a run, in step and attempt order.
  static Result<std::vector<StepAttempt>> Attempts(ReadView db, const std::string& run_id);
  // The number of attempts recorded for a step so far.
  static Result<int> AttemptsOf(ReadView db, const std::string& run_id, int step_index);
  // Runs of an automation (or of every automation when empty) in `state`.
  static Result<int64_t> Count(ReadView db, const std::string& environment,
                               const std::string& automation, RunState state);
  // The finished runs of `version` in `environment` by state, and the
  // successful ones that finished at or after `since`: promotion evidence.
  static Result<promotion::RunEvidence> EvidenceFor(ReadView db, const std::string& environment,
                                                    const std::string& version,
                                                    const std::string& since);

  // The run a worker of pool `pool` should take next, or nullopt: a running
  // run whose lease lapsed or belongs to another pool (lease owners are
  // "<pool>/<worker>") first, since it resumes, then the oldest queued run
  // whose automation and environment are under their limits.
  static Result<std::optional<RunRecord>> NextClaimable(ReadView db, const std::string& pool,
                                                        int64_t now_ms, const ClaimLimits& limits);

  static Status Insert(Transaction& tx, const RunRecord& run);
  // Writes every mutable field of `run` (state, times, next_step, context,
  // lease, cancel, error). failed_precondition "run_finished" when the stored
  // run is already terminal: a finished run is never rewritten.
  static Status Update(Transaction& tx, const RunRecord& run);
  // already_exists when the attempt is recorded already.
  static Status AddAttempt(Transaction& tx, const StepAttempt& attempt);
  // Drops the outputs of attempts of runs that finished before `before`;
  // returns how many were dropped.
  static Result<int64_t> PruneOutputs(Transaction& tx, const std::string& before);

  // The last fire time (Unix seconds) the scheduler handled for a scheduled
  // automation, or nullopt before its first.
  static Result<std::optional<int64_t>> LastFire(ReadView db, const std::string& environment,
                                                 const std::string& automation);
  static Status SetLastFire(Transaction& tx, const std::string& environment,
                            const std::string& automation, int64_t last_fire,
                            const std::string& now);
};

}  // namespace cloister::runtime
