// The runtime's audit events (docs/runtime.md, "Audit"): run.start when a
// trigger queues a run, run.step for each attempt of a step, run.finish when
// a run ends, run.cancel when someone asks to stop one, and run.trigger
// refusals. Each names the run as its target and carries the environment,
// automation, version and trigger. Bodies and payloads never appear: a
// step's request and response are recorded as SHA-256 digests.
#pragma once

#include <string>

#include "appliance/runtime/run_store.h"
#include "audit/audit_record.h"

namespace cloister::runtime {

// The actor of events the runtime writes by itself (steps, finishes).
AuditActor RuntimeActor();

// `base` carries the actor and request; the run fills target, env and details.
AuditRecord RunStartEvent(const AuditRecord& base, const RunRecord& run);
AuditRecord RunStepEvent(const RunRecord& run, const StepAttempt& attempt);
AuditRecord RunFinishEvent(const RunRecord& run);
AuditRecord RunCancelEvent(const AuditRecord& base, const RunRecord& run,
                           const std::string& state_before);
// A trigger refused before any run existed (bad inputs, queue full, nothing
// live): outcome "denied", the reason in `reason`.
AuditRecord RunRefusedEvent(const AuditRecord& base, const std::string& environment,
                            const std::string& automation, const std::string& trigger,
                            const Status& why);

}  // namespace cloister::runtime
