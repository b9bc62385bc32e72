#include "appliance/runtime/run_service.h"

#include "appliance/core/encoding.h"
#include "appliance/runtime/run_events.h"
#include "appliance/runtime/run_inputs.h"
#include "appliance/runtime/webhook.h"
#include "governance/automation/automation_version_store.h"
#include "governance/environments/environment_config.h"
#include "governance/promotion/deployment_store.h"

namespace cloister::runtime {
namespace {

Status CheckKey(const std::string& key) {
  if (key.size() > 200)
    return Status::InvalidArgument("idempotency key longer than 200 characters");
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return Status::InvalidArgument(
          "idempotency key: only printable ASCII without spaces is allowed");
    }
  }
  return Status::Ok();
}

bool Recorded(const Status& s) {
  const std::string r = s.reason();
  return r == "invalid_inputs" || r == "queue_full" || r == "not_live" ||
         r == "idempotency_conflict" || r == "webhook_replayed" || r == "not_a_webhook" ||
         r == "webhook_secret_missing" || r == "webhook_signature" || r == "webhook_expired";
}

}  // namespace

Result<std::string> NewRunId(Random& random) {
  uint8_t b[12];
  CL_RETURN_IF_ERROR(random.Fill(b, sizeof b));
  return "run_" + HexEncode(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
}

Result<Started> RunService::Trigger(const TriggerRequest& req) {
  CL_RETURN_IF_ERROR(CheckKey(req.idempotency_key));
  CL_ASSIGN_OR_RETURN(const std::string id, NewRunId(deps_.random));
  const std::string key = req.idempotency_key.empty() ? id : req.idempotency_key;
  const std::string now = FormatTimestamp(deps_.clock.Now());
  // The live version and the inputs it takes are read and checked before the
  // unit (versions never change); the unit re-reads only what is live, and a
  // version that changed in between is checked again.
  struct Checked {
    std::string version;
    Json inputs;
  };
  const auto check = [&](ReadView db) -> Result<Checked> {
    CL_ASSIGN_OR_RETURN(auto live,
                        promotion::DeploymentStore::LiveOne(db, req.environment, req.automation));
    if (!live) {
      return Status::NotFound("no version of automation " + req.automation + " is live in " +
                              req.environment)
          .WithReason("not_live");
    }
    CL_ASSIGN_OR_RETURN(auto def, definitions_->Get(db, live->version));
    CL_ASSIGN_OR_RETURN(Json inputs,
                        CheckInputs(def->document.value("inputs", Json()), req.inputs));
    return Checked{live->version, std::move(inputs)};
  };
  auto before = deps_.reads.Read<Checked>(check);
  auto started =
      !before.ok()
          ? Result<Started>(before.status())
          : deps_.writer.Write<Started>([&](Transaction& tx) -> Result<Started> {
              ReadView db = tx.view();
              CL_ASSIGN_OR_RETURN(auto live, promotion::DeploymentStore::LiveOne(
                                                 db, req.environment, req.automation));
              Checked checked = *before;
              if (!live || live->version != checked.version) {
                CL_ASSIGN_OR_RETURN(checked, check(db));
              }
              Json inputs = std::move(checked.inputs);
              CL_ASSIGN_OR_RETURN(auto existing,
                                  RunStore::FindByKey(db, req.environment, req.automation, key));
              if (existing && req.refuse_existing) {
                return Status::Conflict("this delivery was seen before: it started run " +
                                        existing->id)
                    .WithReason("webhook_replayed")
                    .WithDetails({{"run", existing->id}});
              }
              if (existing) {
                if (existing->inputs != inputs || existing->trigger != req.trigger) {
                  return Status::Conflict("idempotency key already started run " + existing->id +
                                          " with other inputs")
                      .WithReason("idempotency_conflict")
                      .WithDetails({{"run", existing->id}});
                }
                return Started{std::move(*existing), false};
              }
              CL_ASSIGN_OR_RETURN(
                  const int64_t queued,
                  RunStore::Count(db, req.environment, req.automation, RunState::kQueued));
              if (queued >= options_.max_queued_per_automation) {
                return Status::ResourceExhausted(
                           "the queue of " + req.automation + " in " + req.environment +
                           " is full (" + std::to_string(queued) + " runs wait); try again later")
                    .WithReason("queue_full");
              }
              RunRecord run;
              run.id = id;
              run.environment = req.environment;
              run.automation = req.automation;
              run.version = checked.version;
              run.trigger = req.trigger;
              run.triggered_by = req.triggered_by;
              run.idempotency_key = key;
              run.inputs = std::move(inputs);
              run.queued_at = now;
              CL_RETURN_IF_ERROR(RunStore::Insert(tx, run));
              CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, RunStartEvent(req.by, run)).status());
              return Started{std::move(run), true};
            });
  if (!started.ok() && Recorded(started.status())) {
    const AuditRecord refused =
        RunRefusedEvent(req.by, req.environment, req.automation, req.trigger, started.status());
    const Status recorded = deps_.writer.Write(
        [&](Transaction& tx) { return deps_.ledger.Append(tx, refused).status(); });
    if (!recorded.ok()) return recorded;
  }
  if (started.ok() && started->created && wake_) wake_();
  return started;
}

Result<Started> RunService::Webhook(const WebhookDelivery& d) {
  const auto checked = [&]() -> Status {
    CL_ASSIGN_OR_RETURN(
        const std::string key,
        deps_.reads.Read<std::string>([&](ReadView db) -> Result<std::string> {
          CL_ASSIGN_OR_RETURN(auto live,
                              promotion::DeploymentStore::LiveOne(db, d.environment, d.automation));
          if (!live) {
            return Status::NotFound("no version of automation " + d.automation + " is live in " +
                                    d.environment)
                .WithReason("not_live");
          }
          CL_ASSIGN_OR_RETURN(const automation::Definition def,
                              automation::AutomationVersionStore::DefinitionOf(db, live->version));
          if (def.trigger != "webhook") {
            return Status::FailedPrecondition("automation " + d.automation + " is triggered by " +
                                              def.trigger + ", not by webhooks")
                .WithReason("not_a_webhook");
          }
          auto secret = RevealSecret(db, d.environment, def.webhook_secret);
          if (!secret.ok() && secret.status().code() == StatusCode::kNotFound) {
            return Status::FailedPrecondition("the webhook key of " + d.automation + " (secret " +
                                              def.webhook_secret + ") is not set in " +
                                              d.environment)
                .WithReason("webhook_secret_missing");
          }
          return secret;
        }));
    return VerifyWebhook(key, d.timestamp, d.signature, d.body,
                         promotion::UnixSeconds(deps_.clock.Now()));
  }();
  if (!checked.ok()) {
    if (Recorded(checked)) {
      const Status recorded = deps_.writer.Write([&](Transaction& tx) {
        return deps_.ledger
            .Append(tx, RunRefusedEvent(d.by, d.environment, d.automation, "webhook", checked))
            .status();
      });
      if (!recorded.ok()) return recorded;
    }
    // An unsigned caller learns nothing of what exists: no automation live
    // there, another trigger and no key all answer as a bad signature (the
    // ledger keeps the real reason).
    const std::string r = checked.reason();
    if (r == "not_live" || r == "not_a_webhook" || r == "webhook_secret_missing") {
      return Status::Unauthenticated("webhook refused: no valid signature for this automation")
          .WithReason("webhook_signature");
    }
    return checked;
  }
  TriggerRequest req;
  req.environment = d.environment;
  req.automation = d.automation;
  req.trigger = "webhook";
  req.triggered_by = "webhook";
  req.by = d.by;
  req.refuse_existing = true;
  // The signature names the delivery: a replay carries the same one.
  req.idempotency_key = "webhook:" + d.signature.substr(d.signature.find('=') + 1);
  if (!d.body.empty()) {
    auto inputs = ParseJsonObject(d.body);
    if (!inputs.ok())
      return Status::InvalidArgument("a webhook body is a JSON object of the run's inputs");
    req.inputs = std::move(inputs).value();
  }
  return Trigger(req);
}

Result<RunRecord> RunService::Cancel(const std::string& id, const AuditRecord& by) {
  const std::string now = FormatTimestamp(deps_.clock.Now());
  return deps_.writer.Write<RunRecord>([&](Transaction& tx) -> Result<RunRecord> {
    CL_ASSIGN_OR_RETURN(auto found, RunStore::Get(tx.view(), id));
    if (!found) return Status::NotFound("no run " + id);
    RunRecord run = std::move(*found);
    if (IsTerminal(run.state)) {
      return Status::FailedPrecondition("run " + id + " has already finished (" +
                                        std::string(RunStateName(run.state)) + ")")
          .WithReason("run_finished");
    }
    if (!run.cancel_requested_by.empty()) return run;  // asked before: nothing more to do
    const std::string before(RunStateName(run.state));
    run.cancel_requested_by = by.actor.id;
    if (run.state == RunState::kQueued) {
      run.state = RunState::kCancelled;
      run.finished_at = now;
      run.error_code = "cancelled";
      run.error_message = "cancelled before it started";
    }
    CL_RETURN_IF_ERROR(RunStore::Update(tx, run));
    CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, RunCancelEvent(by, run, before)).status());
    if (IsTerminal(run.state))
      CL_RETURN_IF_ERROR(deps_.ledger.Append(tx, RunFinishEvent(run)).status());
    return run;
  });
}

Result<RunDetail> RunService::Get(const std::string& id) {
  return deps_.reads.Read<RunDetail>([&](ReadView db) -> Result<RunDetail> {
    CL_ASSIGN_OR_RETURN(auto run, RunStore::Get(db, id));
    if (!run) return Status::NotFound("no run " + id);
    RunDetail out;
    out.run = std::move(*run);
    CL_ASSIGN_OR_RETURN(out.attempts, RunStore::Attempts(db, id));
    CL_ASSIGN_OR_RETURN(const automation::Definition def,
                        automation::AutomationVersionStore::DefinitionOf(db, out.run.version));
    out.steps = def.document.value("steps", Json::array());
    return out;
  });
}

Result<std::vector<RunRecord>> RunService::List(const RunFilter& filter) {
  return deps_.reads.Read<std::vector<RunRecord>>(
      [&](ReadView db) { return RunStore::List(db, filter); });
}

}  // namespace cloister::runtime
