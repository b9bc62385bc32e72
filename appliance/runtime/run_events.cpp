#include "appliance/runtime/run_events.h"

#include "appliance/core/encoding.h"
#include "audit/verify/jcs.h"

namespace cloister::runtime {
namespace {

AuditRecord RunEvent(const AuditRecord& base, const std::string& action, const RunRecord& run) {
  AuditRecord e = base;
  e.action = action;
  e.target_kind = "run";
  e.target_id = run.id;
  e.env = run.environment;
  e.details = {{"automation", run.automation},
               {"version", run.version},
               {"trigger", run.trigger},
               {"triggered_by", run.triggered_by},
               {"state", std::string(RunStateName(run.state))}};
  return e;
}

AuditRecord SystemBase() {
  AuditRecord base;
  base.actor = RuntimeActor();
  return base;
}

}  // namespace

AuditActor RuntimeActor() { return {"system", "runtime", "automation runtime"}; }

AuditRecord RunStartEvent(const AuditRecord& base, const RunRecord& run) {
  AuditRecord e = RunEvent(base, "run.start", run);
  e.details["idempotency_key_sha256"] = Sha256Hex(run.idempotency_key);
  e.details["inputs_sha256"] = Sha256Hex(verify::Canonicalize(run.inputs));
  return e;
}

AuditRecord RunStepEvent(const RunRecord& run, const StepAttempt& a) {
  AuditRecord e = RunEvent(SystemBase(), "run.step", run);
  e.outcome = a.outcome == "failed" ? "error" : "success";
  e.details["step"] = a.step_id;
  e.details["type"] = a.type;
  e.details["attempt"] = a.attempt;
  e.details["outcome"] = a.outcome;
  e.details["duration_ms"] = a.duration_ms;
  if (a.status != 0) e.details["status"] = a.status;
  if (!a.error_code.empty()) e.details["error"] = a.error_code;
  if (!a.request_sha256.empty()) e.details["request_sha256"] = a.request_sha256;
  if (!a.response_sha256.empty()) e.details["response_sha256"] = a.response_sha256;
  return e;
}

AuditRecord RunFinishEvent(const RunRecord& run) {
  AuditRecord e = RunEvent(SystemBase(), "run.finish", run);
  e.outcome = run.state == RunState::kSucceeded ? "success" : "error";
  if (run.state == RunState::kCancelled) e.outcome = "success";
  if (!run.error_code.empty()) e.details["error"] = run.error_code;
  e.details["started_at"] = run.started_at;
  e.details["finished_at"] = run.finished_at;
  return e;
}

AuditRecord RunCancelEvent(const AuditRecord& base, const RunRecord& run,
                           const std::string& state_before) {
  AuditRecord e = RunEvent(base, "run.cancel", run);
  e.details["state_before"] = state_before;
  return e;
}

AuditRecord RunRefusedEvent(const AuditRecord& base, const std::string& environment,
                            const std::string& automation, const std::string& trigger,
                            const Status& why) {
  AuditRecord e = base;
  e.action = "run.start";
  e.outcome = "denied";
  e.target_kind = "automation";
  e.target_id = automation;
  e.env = environment;
  e.reason = why.reason();
  e.details = {{"automation", automation}, {"trigger", trigger}, {"message", why.message()}};
  return e;
}

}  // namespace cloister::runtime
