#include "appliance/runtime/run_workers.h"

#include <algorithm>
#include <set>

#include "appliance/core/encoding.h"
#include "appliance/runtime/run_events.h"
#include "appliance/runtime/secret_mask.h"
#include "governance/automation/automation_version_store.h"
#include "governance/environments/environment_config.h"
#include "governance/policy/calendar.h"
#include "governance/promotion/promotion_events.h"

namespace cloister::runtime {
namespace {

int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The names of the secrets a step's text references.
std::set<std::string> SecretsOf(const Json& v) {
  std::set<std::string> out;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    for (size_t at = 0; (at = s.find("${secrets.", at)) != std::string::npos;) {
      const size_t end = s.find('}', at);
      if (end == std::string::npos) break;
      if (at == 0 || s[at - 1] != '$') out.insert(s.substr(at + 10, end - at - 10));
      at = end;
    }
  } else if (v.is_structured()) {
    for (const Json& c : v) {
      for (auto& n : SecretsOf(c)) out.insert(n);
    }
  }
  return out;
}

// `value` as JSON text of at most `max` bytes; cut text is no longer JSON.
std::pair<std::string, bool> Cut(const Json& value, size_t max) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() <= max) return {std::move(text), false};
  text.resize(max);
  while (!text.empty() && !IsValidUtf8(text)) text.pop_back();  // never split a character
  return {std::move(text), true};
}

// What later steps see of an output: the output itself, or its cut text.
Json Kept(const Json& output, size_t max) {
  auto [text, cut] = Cut(output, max);
  return cut ? Json(text) : output;
}

// This machine's addresses; none when they cannot be read (loopback and the
// unspecified address still count as the appliance's own listener).
std::vector<std::string> OwnAddresses() {
  auto addresses = LocalInterfaceAddresses();
  return addresses.ok() ? std::move(addresses).value() : std::vector<std::string>{};
}

}  // namespace

void DescribeRuntimeMetrics(Metrics& m) {
  m.DescribeCounter("cloister_runs_total", "Runs that ended, by final state.");
  m.DescribeCounter("cloister_runs_started_total", "Runs a worker started or resumed.");
  m.DescribeGauge("cloister_run_queue_depth", "Runs waiting for a worker.");
  m.DescribeGauge("cloister_runs_running", "Runs a worker of this appliance is executing.");
  m.DescribeHistogram("cloister_step_duration_seconds", "Duration of step attempts, by step type.",
                      {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  m.DescribeCounter("cloister_step_retries_total",
                    "Step attempts that failed and were retried, by step type.");
  m.DescribeCounter("cloister_egress_denied_total",
                    "Outbound connections refused by an environment's egress rules.");
}

RunWorkers::RunWorkers(const promotion::ServiceDeps& deps, const RuntimeOptions& options,
                       Resolver& resolver, Metrics* metrics, const Logger& logger)
    : deps_(deps),
      options_(options),
      runner_(resolver, options.own_port, OwnAddresses(), deps.limits),
      metrics_(metrics),
      logger_(logger) {
  uint8_t b[8] = {};
  (void)deps_.random.Fill(b, sizeof b);  // an id, not a secret: zeros would only weaken nothing
  instance_ = "pool_" + HexEncode(b, sizeof b);
}

RunWorkers::~RunWorkers() { Stop(); }

Status RunWorkers::Start() {
  MutexLock lock(mu_);
  if (started_) return Status::FailedPrecondition("the run workers are started already");
  started_ = true;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    threads_.emplace_back([this, owner = instance_ + "/" + std::to_string(i)] { Loop(owner); });
  }
  return Status::Ok();
}

void RunWorkers::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_ || !started_) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void RunWorkers::Wake() {
  {
    MutexLock lock(mu_);
    ++wakes_;
  }
  cv_.NotifyOne();
}

bool RunWorkers::Stopping() {
  MutexLock lock(mu_);
  return stopping_;
}

bool RunWorkers::Sleep(std::chrono::milliseconds d, bool wakeable) {
  MutexLock lock(mu_);
  const uint64_t seen = wakes_;
  cv_.WaitFor(lock, d,
              [&]() CL_REQUIRES(mu_) { return stopping_ || (wakeable && wakes_ != seen); });
  return !stopping_;
}

void RunWorkers::Loop(const std::string& owner) {
  while (!Stopping()) {
    auto claimed = Claim(owner);
    if (!claimed.ok()) {
      logger_.Warning("claiming a run failed: " + claimed.status().message());
      Sleep(std::chrono::seconds(1), false);
      continue;
    }
    if (!*claimed) {
      // Idle: a Wake, or a periodic look for leases that lapsed.
      Sleep(std::chrono::seconds(1), true);
      continue;
    }
    if (metrics_) metrics_->Set("cloister_runs_running", static_cast<double>(++running_));
    Execute(std::move(**claimed), owner);
    if (metrics_) metrics_->Set("cloister_runs_running", static_cast<double>(--running_));
  }
}

int64_t RunWorkers::LeaseMs(const Json& step) const {
  const int64_t attempts = StepRunner::MaxAttempts(step);
  return options_.lease_seconds * 1000 +
         attempts * std::chrono::duration_cast<std::chrono::milliseconds>(StepRunner::Timeout(step))
                        .count() +
         (attempts - 1) * options_.retry_max_ms;
}

Status RunWorkers::CheckStepPolicy(const RunRecord& run, const automation::Definition& def,
                                   int index, const EnvironmentSettings& settings,
                                   const std::vector<ConfigEntry>& vars) {
  const auto set = deps_.policies ? deps_.policies() : nullptr;
  if (!set || !set->HasBindings("run.step")) return Status::Ok();
  const Json view = def.PolicyView();
  Json variables = Json::array(), secrets = Json::array();
  for (const auto& v : vars) variables.push_back(v.name);
  CL_ASSIGN_OR_RETURN(auto names, deps_.reads.Read<std::vector<ConfigEntry>>([&](ReadView db) {
    return ListSecrets(db, run.environment);
  }));
  for (const auto& s : names) secrets.push_back(s.name);
  CL_ASSIGN_OR_RETURN(auto envs, deps_.reads.Read<std::vector<std::string>>(
                                     [](ReadView db) { return promotion::EnvironmentNames(db); }));
  const int64_t position = std::find(envs.begin(), envs.end(), run.environment) - envs.begin();
  const int64_t now = promotion::UnixSeconds(deps_.clock.Now());
  const auto started = policy::ParseTime(run.started_at);
  const Json input = {
      {"time", policy::FormatTime(now)},
      {"run",
       {{"id", run.id},
        {"automation", run.automation},
        {"version", run.version},
        {"trigger", run.trigger},
        {"triggered_by",
         run.trigger == "manual" && deps_.names ? deps_.names(run.triggered_by) : run.triggered_by},
        {"started_at", policy::FormatTime(started ? *started : now)}}},
      {"step", view["steps"][static_cast<size_t>(index)]},
      {"definition", view},
      {"environment",
       {{"name", run.environment},
        {"position", position},
        {"egress_allow", settings.egress_allow},
        {"model_endpoints", settings.model_endpoints},
        {"variables", variables},
        {"secrets", secrets}}}};
  CL_ASSIGN_OR_RETURN(policy::Document doc,
                      policy::Document::Bind(*policy::HookSchema("run.step"), input));
  policy::Evaluator evaluator(deps_.limits);
  const policy::Decision d = set->Decide("run.step", run.environment, doc, evaluator);
  if (std::none_of(d.bindings.begin(), d.bindings.end(), [](const auto& b) { return b.failed; }))
    return Status::Ok();
  AuditRecord base;
  base.actor = RuntimeActor();
  AuditRecord e = promotion::PolicyDecisionEvent(base, "run.step", d, input);
  e.target_kind = "run";
  e.target_id = run.id;
  e.env = run.environment;
  CL_RETURN_IF_ERROR(
      deps_.writer.Write([&](Transaction& tx) { return deps_.ledger.Append(tx, e).status(); }));
  if (d.allowed) return Status::Ok();  // advisory failures are recorded only
  // No one can override at run time: a soft-mandatory denial stops the step too.
  return Status::PermissionDenied("refused by policy: " + d.Summary()).WithReason("policy_denied");
}

Result<std::optional<RunRecord>> RunWorkers::Claim(const std::string& owner) {
  const auto now = deps_.clock.Now();
  auto claimed = deps_.writer.Write<std::optional<RunRecord>>(
      [&](Transaction& tx) -> Result<std::optional<RunRecord>> {
        CL_ASSIGN_OR_RETURN(
            auto next, RunStore::NextClaimable(tx.view(), instance_, UnixMs(now), options_.limits));
        if (!next) return next;
        next->state = RunState::kRunning;
        if (next->started_at.empty()) next->started_at = FormatTimestamp(now);
        next->lease_owner = owner;
        next->lease_expires_ms = UnixMs(now) + options_.lease_seconds * 1000;
        auto def = DefinitionOf(next->version);
        if (def.ok() && next->next_step < static_cast<int>((*def)->document["steps"].size())) {
          next->lease_expires_ms =
              UnixMs(now) +
              LeaseMs((*def)->document["steps"][static_cast<size_t>(next->next_step)]);
        }
        CL_RETURN_IF_ERROR(RunStore::Update(tx, *next));
        return next;
      });
  if (claimed.ok() && *claimed) {
    if (metrics_) metrics_->Increment("cloister_runs_started_total");
    UpdateQueueGauge();
  }
  return claimed;
}

void RunWorkers::UpdateQueueGauge() {
  if (!metrics_) return;
  {
    // Counting a long queue reads every entry of its index: at most once a second.
    MutexLock lock(mu_);
    const auto now = deps_.clock.Monotonic();
    if (now - last_gauge_ < std::chrono::seconds(1)) return;
    last_gauge_ = now;
  }
  auto depth = deps_.reads.Read<int64_t>([](ReadView db) {
    return db.Select("runs", "SELECT COUNT(*) FROM runs WHERE state = 'queued'").ReadInt();
  });
  if (depth.ok()) metrics_->Set("cloister_run_queue_depth", static_cast<double>(*depth));
}

Result<std::shared_ptr<const automation::Definition>> RunWorkers::DefinitionOf(
    const std::string& version) {
  return deps_.reads.Read<std::shared_ptr<const automation::Definition>>(
      [&](ReadView db) { return definitions_.Get(db, version); });
}

void RunWorkers::Execute(RunRecord run, const std::string& owner) {
  const auto finish = [&](RunRecord& r, RunState state, std::string code, std::string message) {
    r.state = state;
    r.finished_at = FormatTimestamp(deps_.clock.Now());
    r.error_code = std::move(code);
    r.error_message = std::move(message);
    r.lease_owner.clear();
    r.lease_expires_ms = 0;
  };
  // Attempts of steps without effects outside the run (transform,
  // condition), not yet written: they go with the next write. A crash before
  // it only means they run again, with the same result.
  std::vector<std::pair<StepAttempt, Json>> pending;
  // Writes `after`, the pending attempts and `attempt` (when set) with their
  // events, if the run is still this worker's.
  const auto record = [&](const RunRecord& after, const StepAttempt* attempt,
                          const Json& extra) -> Status {
    if (attempt) pending.emplace_back(*attempt, extra);
    const Status written = deps_.writer.Write([&](Transaction& tx) -> Status {
      CL_ASSIGN_OR_RETURN(auto stored, RunStore::Get(tx.view(), after.id));
      if (!stored || IsTerminal(stored->state) || stored->lease_owner != owner) {
        return Status::Conflict("run " + after.id + " is no longer held by this worker");
      }
      RunRecord next = after;
      next.cancel_requested_by =
          stored->cancel_requested_by;  // a cancel may have arrived meanwhile
      for (const auto& [a, details] : pending) {
        CL_RETURN_IF_ERROR(RunStore::AddAttempt(tx, a));
        AuditRecord e = RunStepEvent(next, a);
        for (const auto& [k, v] : details.items()) e.details[k] = v;
        CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, e).status());
      }
      CL_RETURN_IF_ERROR(RunStore::Update(tx, next));
      if (IsTerminal(next.state))
        CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, RunFinishEvent(next)).status());
      return Status::Ok();
    });
    pending.clear();
    return written;
  };
  const auto ended = [&](const RunRecord& r) {
    if (metrics_ && IsTerminal(r.state))
      metrics_->Increment("cloister_runs_total", {{"state", std::string(RunStateName(r.state))}});
  };

  auto def = DefinitionOf(run.version);
  const auto env_read = deps_.reads.Read<std::pair<EnvironmentSettings, std::vector<ConfigEntry>>>(
      [&](ReadView db) -> Result<std::pair<EnvironmentSettings, std::vector<ConfigEntry>>> {
        CL_ASSIGN_OR_RETURN(auto settings, GetSettings(db, run.environment));
        CL_ASSIGN_OR_RETURN(auto vars, ListVariables(db, run.environment));
        return std::make_pair(std::move(settings), std::move(vars));
      });
  if (!def.ok() || !env_read.ok()) {
    const Status& why = !def.ok() ? def.status() : env_read.status();
    finish(run, RunState::kFailed, "run_setup_failed", why.message());
    if (record(run, nullptr, Json::object()).ok()) ended(run);
    return;
  }
  const Json& steps = (*def)->document["steps"];
  RunScope scope;
  scope.inputs = run.inputs;
  scope.steps = run.context.value("steps", Json::object());
  for (const auto& v : env_read->second) scope.vars[v.name] = v.value;

  while (run.next_step < static_cast<int>(steps.size())) {
    if (Stopping()) return;  // the lease stays; the next pool resumes here
    auto current = deps_.reads.Read<std::optional<RunRecord>>(
        [&](ReadView db) { return RunStore::Get(db, run.id); });
    if (!current.ok() || !*current || (*current)->lease_owner != owner ||
        IsTerminal((*current)->state))
      return;
    if (!(*current)->cancel_requested_by.empty()) {
      finish(run, RunState::kCancelled, "cancelled", "cancelled at a step boundary");
      if (record(run, nullptr, Json::object()).ok()) ended(run);
      return;
    }
    const int index = run.next_step;
    const Json& step = steps[static_cast<size_t>(index)];
    const std::string type = step.value("type", std::string());
    auto done_before =
        deps_.reads.Read<int>([&](ReadView db) { return RunStore::AttemptsOf(db, run.id, index); });
    if (!done_before.ok()) return;
    const int max_attempts = StepRunner::MaxAttempts(step);
    if (!pending.empty() && type != "transform" && type != "condition") {
      // Before a step with effects outside the run: the steps before it are
      // written, and the lease covers this step (the deferred ones did not
      // renew it).
      run.lease_expires_ms = UnixMs(deps_.clock.Now()) + LeaseMs(step);
      if (!record(run, nullptr, Json::object()).ok()) return;
    }

    // Secrets are decrypted only now, for this step, and kept in memory only.
    RunScope step_scope = scope;
    std::string secret_problem;
    for (const std::string& name : SecretsOf(step)) {
      auto value = deps_.reads.Read<std::string>(
          [&](ReadView db) { return RevealSecret(db, run.environment, name); });
      if (!value.ok()) {
        secret_problem = "secret " + name + " cannot be read in " + run.environment + ": " +
                         value.status().message();
        break;
      }
      step_scope.secrets[name] = *value;
    }

    StepAttempt attempt;
    attempt.run_id = run.id;
    attempt.step_index = index;
    attempt.attempt = *done_before + 1;
    attempt.step_id = step.value("id", std::string());
    attempt.type = type;
    attempt.started_at = FormatTimestamp(deps_.clock.Now());
    const auto t0 = deps_.clock.Monotonic();
    StepResult result;
    const Status allowed = CheckStepPolicy(run, **def, index, env_read->first, env_read->second);
    if (!allowed.ok()) {
      result.error_code = allowed.reason() == "policy_denied" ? "policy_denied" : "policy_error";
      result.error_message = "step \"" + attempt.step_id + "\": " + allowed.message();
    } else if (!secret_problem.empty()) {
      result.error_code = "secret_unavailable";
      result.error_message = secret_problem;
    } else if (*done_before >= max_attempts) {
      result.error_code = "attempts_exhausted";
      result.error_message = "step \"" + attempt.step_id + "\" used all its attempts";
    } else {
      result = runner_.Run(StepInput{run.id, step, steps, step_scope, env_read->first});
    }
    attempt.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deps_.clock.Monotonic() - t0).count();
    if (metrics_) {
      metrics_->Observe("cloister_step_duration_seconds",
                        static_cast<double>(attempt.duration_ms) / 1000.0, {{"type", type}});
      if (result.error_code == "egress_denied") metrics_->Increment("cloister_egress_denied_total");
    }
    attempt.status = result.status;
    attempt.request_sha256 = result.request_sha256;
    attempt.response_sha256 = result.response_sha256;
    attempt.error_code = result.error_code;
    attempt.error_message = MaskSecrets(result.error_message, step_scope.secrets);

    RunRecord after = run;
    std::chrono::milliseconds backoff{0};
    if (result.ok) {
      attempt.outcome = "succeeded";
      const Json output = MaskSecrets(result.output, step_scope.secrets);
      auto [text, cut] = Cut(output, options_.output_max_bytes);
      attempt.output = std::move(text);
      attempt.output_truncated = cut;
      Json entry = {{"output", Kept(output, options_.output_max_bytes)}};
      if (result.status) entry["status"] = result.status;
      scope.steps[attempt.step_id] = entry;
      after.context["steps"] = scope.steps;
      after.next_step = result.next_step.value_or(index + 1);
      if (after.next_step >= static_cast<int>(steps.size()))
        finish(after, RunState::kSucceeded, "", "");
    } else if (result.retryable && attempt.attempt < max_attempts) {
      attempt.outcome = "retrying";
      const int64_t exp = options_.retry_base_ms << std::min(attempt.attempt - 1, 20);
      uint8_t r[2] = {};
      (void)deps_.random.Fill(r, sizeof r);
      const double jitter = 0.5 + 0.5 * ((r[0] << 8 | r[1]) / 65535.0);  // half to all of the step
      backoff = std::chrono::milliseconds(
          static_cast<int64_t>(std::min(exp, options_.retry_max_ms) * jitter));
      backoff = std::max(
          backoff, std::min(result.retry_after, std::chrono::milliseconds(options_.retry_max_ms)));
      if (metrics_) metrics_->Increment("cloister_step_retries_total", {{"type", type}});
    } else {
      attempt.outcome = "failed";
      finish(after, result.error_code == "timeout" ? RunState::kTimedOut : RunState::kFailed,
             result.error_code, attempt.error_message);
    }
    if (!IsTerminal(after.state)) {  // the lease covers the step that comes next (this one again,
                                     // when retrying)
      after.lease_expires_ms = UnixMs(deps_.clock.Now()) + backoff.count() +
                               LeaseMs(steps[static_cast<size_t>(after.next_step)]);
    }
    const Json extra = result.event_details.is_object() ? result.event_details : Json::object();
    if (attempt.outcome == "succeeded" && !IsTerminal(after.state) &&
        (type == "transform" || type == "condition")) {
      pending.emplace_back(std::move(attempt), extra);
      run = std::move(after);
      continue;
    }
    const Status written = record(after, &attempt, extra);
    if (!written.ok()) {
      if (written.code() != StatusCode::kConflict)
        logger_.Warning("recording run " + run.id + " failed: " + written.message());
      return;
    }
    run = std::move(after);
    if (IsTerminal(run.state)) {
      ended(run);
      return;
    }
    if (backoff.count() > 0 && !Sleep(backoff, false)) return;
  }
  if (!IsTerminal(
          run.state)) {  // a run with nothing left to do (never expected: the last step ends it)
    finish(run, RunState::kSucceeded, "", "");
    if (record(run, nullptr, Json::object()).ok()) ended(run);
  }
}

}  // namespace cloister::runtime
