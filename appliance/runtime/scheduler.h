// Time-driven work of the runtime (docs/runtime.md, "Schedules"), one pass
// per Tick:
//   - scheduled promotions whose time has come are deployed: the promotion
//     service re-checks windows and policy at that moment and deploys,
//     blocks or fails them, recording it (a deny window in force leaves the
//     promotion scheduled and is retried every 5 minutes);
//   - automations live with a schedule trigger start their runs: a fire
//     time within the grace period starts a run whose idempotency key is
//     "schedule:<unix seconds>", so a repeated tick never starts it twice;
//     older fire times (the appliance was down or sealed) are missed, and
//     the trigger's `missed` choice decides: skip (none run) or once (one
//     run for all of them); either way a run.missed event records how many
//     and when;
//   - step outputs older than the retention period are dropped (hourly),
//     recorded as run.prune.
// Runs on its own thread between Start and Stop; Tick is public so tests
// drive it with a manual clock. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "appliance/core/logging.h"
#include "appliance/core/mutex.h"
#include "appliance/runtime/cron.h"
#include "appliance/runtime/run_service.h"
#include "governance/promotion/promotion_service.h"

namespace cloister::runtime {

// A fire time older than this at the tick that sees it counts as missed.
inline constexpr int64_t kScheduleGraceSeconds = 60;

class Scheduler {
 public:
  // Everything referenced must outlive the scheduler.
  Scheduler(const promotion::ServiceDeps& deps, RunService& runs,
            promotion::PromotionService& promotions, const RuntimeOptions& options,
            const Logger& logger)
      : deps_(deps), runs_(runs), promotions_(promotions), options_(options), logger_(logger) {}
  ~Scheduler();

  void Start() CL_EXCLUDES(mu_);
  void Stop() CL_EXCLUDES(mu_);

  // One pass over promotions, schedules and retention. Errors of one item
  // are logged and do not stop the others; the first is returned.
  Status Tick() CL_EXCLUDES(mu_);

 private:
  Status DeployDue(int64_t now) CL_EXCLUDES(mu_);
  Status StartDue(int64_t now) CL_EXCLUDES(mu_);
  Status StartDueOf(const std::string& environment, const std::string& automation,
                    const std::string& version, const std::string& deployed_at, int64_t now)
      CL_EXCLUDES(mu_);
  Status Prune(int64_t now) CL_EXCLUDES(mu_);

  promotion::ServiceDeps deps_;
  RunService& runs_;
  promotion::PromotionService& promotions_;
  const RuntimeOptions options_;
  Logger logger_;

  Mutex mu_;
  CondVar cv_;
  bool stopping_ CL_GUARDED_BY(mu_) = false;
  std::map<std::string, int64_t> deploy_attempts_ CL_GUARDED_BY(mu_);  // promotion id -> last try
  int64_t last_prune_ CL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // written by Start and Stop only
};

}  // namespace cloister::runtime
