// The worker pool that executes runs (docs/runtime.md, "Queue and workers").
//
// Each worker claims a run in a writer unit (the oldest whose automation and
// environment are under their limits, a run whose lease lapsed first), holds
// a lease on it, and executes its steps from run.next_step. Every attempt of
// a step is recorded in one unit with its run.step event, together with the
// run's progress (next step, outputs so far, and when it ends its final
// state and run.finish), so a crash loses at most the attempt in flight: the
// run resumes from its last completed step, and that step runs again with
// the same Idempotency-Key (steps are at least once; ADR 0007). A unit that
// finds the run finished or leased by another pool writes nothing.
//
// One pool runs per data directory (cloisterd's file lock; a seal stops the
// pool before the next unseal starts another), so at start a pool resumes at
// once every run another pool instance left running.
//
// Thread-safe. Start once; Stop joins the workers after the step each is
// running ends (bounded by its timeout).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/logging.h"
#include "appliance/core/metrics.h"
#include "appliance/core/mutex.h"
#include "appliance/runtime/definition_cache.h"
#include "appliance/runtime/run_store.h"
#include "appliance/runtime/runtime_options.h"
#include "appliance/runtime/step_runner.h"
#include "governance/automation/automation.h"
#include "governance/environments/environment_config.h"
#include "governance/promotion/service_support.h"

namespace cloister::runtime {

class RunWorkers {
 public:
  // Everything referenced must outlive the pool. `metrics` may be null.
  RunWorkers(const promotion::ServiceDeps& deps, const RuntimeOptions& options, Resolver& resolver,
             Metrics* metrics, const Logger& logger);
  ~RunWorkers();
  RunWorkers(const RunWorkers&) = delete;
  RunWorkers& operator=(const RunWorkers&) = delete;

  // Starts options.workers threads (at most once).
  Status Start() CL_EXCLUDES(mu_);
  // Asks every worker to stop at its next step boundary and joins them. The
  // runs they held stay running and resume at the next Start of a pool.
  void Stop() CL_EXCLUDES(mu_);
  // A run was queued: an idle worker looks for it now.
  void Wake() CL_EXCLUDES(mu_);

  // This pool's id; its workers' lease owner ids are "<instance>/<n>".
  const std::string& instance() const { return instance_; }

 private:
  // `owner`: this worker's lease owner id, "<instance>/<n>".
  void Loop(const std::string& owner);
  Result<std::optional<RunRecord>> Claim(const std::string& owner);
  void Execute(RunRecord run, const std::string& owner);
  // How long a lease on a run about to start `step` lasts: the lease period
  // plus the most its attempts and backoffs can take.
  int64_t LeaseMs(const Json& step) const;
  // The run.step policy hook before step `index` (docs/policy-language.md):
  // OK to go on, or the failure the step ends with (policy_denied). A
  // decision in which a binding failed is recorded.
  Status CheckStepPolicy(const RunRecord& run, const automation::Definition& def, int index,
                         const EnvironmentSettings& settings, const std::vector<ConfigEntry>& vars);
  // Waits up to `d` or until stopped (or woken, when `wakeable`); false once stopping.
  bool Sleep(std::chrono::milliseconds d, bool wakeable) CL_EXCLUDES(mu_);
  bool Stopping() CL_EXCLUDES(mu_);
  Result<std::shared_ptr<const automation::Definition>> DefinitionOf(const std::string& version);
  void UpdateQueueGauge();

  promotion::ServiceDeps deps_;
  const RuntimeOptions options_;
  StepRunner runner_;
  Metrics* metrics_;
  Logger logger_;
  std::string instance_;

  Mutex mu_;
  CondVar cv_;
  bool started_ CL_GUARDED_BY(mu_) = false;
  bool stopping_ CL_GUARDED_BY(mu_) = false;
  uint64_t wakes_ CL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point last_gauge_ CL_GUARDED_BY(mu_);
  DefinitionCache definitions_;
  std::atomic<int> running_{0};       // runs being executed, for the gauge
  std::vector<std::thread> threads_;  // written by Start and Stop only, which callers do not race
};

// Declares the runtime's metric families.
void DescribeRuntimeMetrics(Metrics& metrics);

}  // namespace cloister::runtime
