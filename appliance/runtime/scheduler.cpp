#include "appliance/runtime/scheduler.h"

#include <algorithm>

#include "appliance/runtime/run_events.h"
#include "governance/automation/automation_version_store.h"
#include "governance/policy/calendar.h"
#include "governance/promotion/deployment_store.h"

namespace cloister::runtime {
namespace {

constexpr int64_t kDeployRetrySeconds = 300;
constexpr int64_t kPruneEverySeconds = 3600;
constexpr size_t kMaxFiresPerPass = 1000;

AuditRecord SchedulerRecord() {
  AuditRecord base;
  base.actor = {"system", "scheduler", "run and promotion scheduler"};
  return base;
}

Status First(Status a, const Status& b) { return a.ok() ? b : a; }

}  // namespace

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  MutexLock lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    for (;;) {
      const Status st = Tick();
      if (!st.ok()) logger_.Warning("scheduler: " + st.message());
      MutexLock lock(mu_);
      if (cv_.WaitFor(lock, std::chrono::seconds(1), [&]() CL_REQUIRES(mu_) { return stopping_; }))
        return;
    }
  });
}

void Scheduler::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

Status Scheduler::Tick() {
  const int64_t now = promotion::UnixSeconds(deps_.clock.Now());
  Status st = DeployDue(now);
  st = First(st, StartDue(now));
  return First(st, Prune(now));
}

Status Scheduler::DeployDue(int64_t now) {
  promotion::PromotionFilter filter;
  filter.state = "scheduled";
  filter.limit = 1000;
  CL_ASSIGN_OR_RETURN(auto scheduled, promotions_.List(filter));
  {
    // Forget promotions that left the scheduled state some other way.
    MutexLock lock(mu_);
    for (auto it = deploy_attempts_.begin(); it != deploy_attempts_.end();) {
      const bool still = std::any_of(scheduled.begin(), scheduled.end(),
                                     [&](const auto& p) { return p.id == it->first; });
      it = still ? std::next(it) : deploy_attempts_.erase(it);
    }
  }
  promotion::Caller caller;
  caller.audit = SchedulerRecord();
  Status first;
  for (const auto& p : scheduled) {
    const auto at = policy::ParseTime(p.scheduled_for);
    if (!at || *at > now) continue;
    {
      MutexLock lock(mu_);
      int64_t& tried = deploy_attempts_[p.id];
      if (tried != 0 && now - tried < kDeployRetrySeconds) continue;
      tried = now;
    }
    auto page = promotions_.Deploy(caller, p.id);
    if (page.ok() && page->promotion.state != promotion::PromotionState::kScheduled) {
      MutexLock lock(mu_);
      deploy_attempts_.erase(p.id);
    }
    if (!page.ok() && page.status().reason() != "deny_window") first = First(first, page.status());
  }
  return first;
}

Status Scheduler::StartDue(int64_t now) {
  CL_ASSIGN_OR_RETURN(auto environments,
                      deps_.reads.Read<std::vector<std::string>>(
                          [](ReadView db) { return promotion::EnvironmentNames(db); }));
  Status first;
  for (const std::string& env : environments) {
    CL_ASSIGN_OR_RETURN(
        auto live, deps_.reads.Read<std::vector<promotion::Deployment>>(
                       [&](ReadView db) { return promotion::DeploymentStore::LiveIn(db, env); }));
    for (const auto& d : live) {
      const Status st = StartDueOf(env, d.automation, d.version, d.deployed_at, now);
      if (!st.ok())
        logger_.Warning("schedule of " + d.automation + " in " + env + ": " + st.message());
      first = First(first, st);
    }
  }
  return first;
}

Status Scheduler::StartDueOf(const std::string& env, const std::string& automation,
                             const std::string& version, const std::string& deployed_at,
                             int64_t now) {
  CL_ASSIGN_OR_RETURN(const automation::Definition def,
                      deps_.reads.Read<automation::Definition>([&](ReadView db) {
                        return automation::AutomationVersionStore::DefinitionOf(db, version);
                      }));
  if (def.trigger != "schedule") return Status::Ok();
  CL_ASSIGN_OR_RETURN(const CronSchedule cron, CronSchedule::Parse(def.schedule));
  const auto offset = policy::ParseOffset(def.utc_offset);
  if (!offset)
    return Status::InvalidArgument("utc_offset \"" + def.utc_offset + "\" is not an offset");
  CL_ASSIGN_OR_RETURN(auto last, deps_.reads.Read<std::optional<int64_t>>([&](ReadView db) {
    return RunStore::LastFire(db, env, automation);
  }));
  // Before its first fire, a schedule counts from when it went live.
  // A fire time from before this version went live (while one with another
  // trigger was live) was never this schedule's to miss.
  const int64_t live_since = policy::ParseTime(deployed_at).value_or(now);
  const int64_t after = last ? std::max(*last, live_since) : live_since;
  std::vector<int64_t> due = cron.Between(after, now, *offset, kMaxFiresPerPass + 1);
  if (due.empty()) return Status::Ok();
  const bool more = due.size() > kMaxFiresPerPass;
  if (more) due.pop_back();  // later passes handle the rest
  std::vector<int64_t> on_time, missed;
  for (int64_t t : due) (now - t <= kScheduleGraceSeconds ? on_time : missed).push_back(t);
  if (!missed.empty() && def.missed == "once" && !more && on_time.empty())
    on_time.push_back(missed.back());

  Status first;
  for (int64_t t : on_time) {
    TriggerRequest req;
    req.environment = env;
    req.automation = automation;
    req.trigger = "schedule";
    req.triggered_by = "schedule";
    req.idempotency_key = "schedule:" + std::to_string(t);
    req.by = SchedulerRecord();
    auto started = runs_.Trigger(req);  // a refusal is recorded by the trigger
    if (!started.ok()) first = First(first, started.status());
    const StatusCode code = started.ok() ? StatusCode::kOk : started.status().code();
    if (code == StatusCode::kUnavailable || code == StatusCode::kInternal ||
        code == StatusCode::kCorruption) {
      return first;  // not handled: the next pass tries this fire time again (its key keeps it to
                     // one run)
    }
  }
  const std::string stamp = FormatTimestamp(deps_.clock.Now());
  CL_RETURN_IF_ERROR(deps_.writer.Write([&](Transaction& tx) -> Status {
    CL_RETURN_IF_ERROR(RunStore::SetLastFire(tx, env, automation, due.back(), stamp));
    if (missed.empty()) return Status::Ok();
    AuditRecord e = SchedulerRecord();
    e.action = "run.missed";
    e.target_kind = "automation";
    e.target_id = automation;
    e.env = env;
    e.details = {{"automation", automation},
                 {"version", version},
                 {"missed", missed.size()},
                 {"first", policy::FormatTime(missed.front())},
                 {"last", policy::FormatTime(missed.back())},
                 {"policy", def.missed},
                 {"more_follow", more}};
    return deps_.ledger.Append(tx, e).status();
  }));
  return first;
}

Status Scheduler::Prune(int64_t now) {
  {
    MutexLock lock(mu_);
    if (last_prune_ != 0 && now - last_prune_ < kPruneEverySeconds) return Status::Ok();
    last_prune_ = now;
  }
  const std::string before = policy::FormatTime(now - options_.payload_retention_days * 86400);
  return deps_.writer.Write([&](Transaction& tx) -> Status {
    CL_ASSIGN_OR_RETURN(const int64_t pruned, RunStore::PruneOutputs(tx, before));
    if (pruned == 0) return Status::Ok();
    AuditRecord e = SchedulerRecord();
    e.action = "run.prune";
    e.details = {{"step_outputs_dropped", pruned},
                 {"finished_before", before},
                 {"retention_days", options_.payload_retention_days}};
    return deps_.ledger.Append(tx, e).status();
  });
}

}  // namespace cloister::runtime
