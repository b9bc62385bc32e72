// Starting, cancelling and reading runs: what the API and the triggers call.
// Each change is one writer unit with its audit event. Thread-safe: it holds
// only references to thread-safe collaborators.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "appliance/runtime/definition_cache.h"
#include "appliance/runtime/run_store.h"
#include "appliance/runtime/runtime_options.h"
#include "governance/promotion/service_support.h"

namespace cloister::runtime {

struct TriggerRequest {
  std::string environment, automation;
  std::string trigger = "manual";  // manual, schedule or webhook
  std::string triggered_by;        // a user id, or "schedule" / "webhook"
  Json inputs = Json::object();
  std::string idempotency_key;  // "" for a fresh one (every call a new run)
  AuditRecord by;               // actor and request, for the events
  // A key that names an existing run is refused (conflict
  // "webhook_replayed") instead of answered with that run.
  bool refuse_existing = false;
};

// One webhook delivery (webhook.h), as it arrived.
struct WebhookDelivery {
  std::string environment, automation;
  std::string timestamp, signature;  // the X-Cloister-Timestamp and X-Cloister-Signature headers
  std::string body;                  // a JSON object: the run's inputs ("" for none)
  AuditRecord by;                    // the anonymous caller's address and request
};

struct Started {
  RunRecord run;
  bool created = true;  // false: the idempotency key named a run that exists
};

struct RunDetail {
  RunRecord run;
  std::vector<StepAttempt> attempts;
  Json steps;  // the version's steps, as defined (id and type at least)
};

class RunService {
 public:
  // `wake` is called after a run is queued (the worker pool's Wake).
  RunService(const promotion::ServiceDeps& deps, const RuntimeOptions& options,
             std::function<void()> wake)
      : deps_(deps), options_(options), wake_(std::move(wake)) {}

  // Queues a run of the version live in the environment, with the inputs
  // checked against it (run_inputs.h), and records run.start. A key that
  // names an existing run with the same inputs returns that run (created
  // false); with other inputs it is conflict "idempotency_conflict".
  // not_found "not_live" when nothing is live there; resource_exhausted
  // "queue_full" past max_queued_per_automation. Refusals are recorded
  // (run.start, outcome denied).
  Result<Started> Trigger(const TriggerRequest& request);

  // Cancels a queued run at once; a running one stops at its next step
  // boundary (run.cancel now, run.finish then). failed_precondition
  // "run_finished" for a run that has ended; not_found for no such run.
  Result<RunRecord> Cancel(const std::string& id, const AuditRecord& by);

  // Starts a run of a webhook-triggered automation from a signed delivery.
  // unauthenticated "webhook_signature" (also when nothing is live there, its
  // trigger is another or its key is not set: the event records which, the
  // caller learns nothing) or "webhook_expired"; conflict "webhook_replayed"
  // for a delivery seen before; then as Trigger. Refusals are recorded.
  Result<Started> Webhook(const WebhookDelivery& delivery);

  Result<RunDetail> Get(const std::string& id);
  Result<std::vector<RunRecord>> List(const RunFilter& filter);

 private:
  promotion::ServiceDeps deps_;
  RuntimeOptions options_;
  std::function<void()> wake_;
  // shared: the service is copied into the session's services.
  std::shared_ptr<DefinitionCache> definitions_ = std::make_shared<DefinitionCache>();
};

// "run_" and 24 hex characters.
Result<std::string> NewRunId(Random& random);

}  // namespace cloister::runtime
