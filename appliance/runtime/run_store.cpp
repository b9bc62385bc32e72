#include "appliance/runtime/run_store.h"

namespace cloister::runtime {
namespace {

constexpr const char* kColumns =
    "id, environment, automation, version, trigger, triggered_by, idempotency_key, inputs, state, "
    "queued_at, "
    "COALESCE(started_at, ''), COALESCE(finished_at, ''), next_step, context, lease_owner, "
    "lease_expires_ms, "
    "cancel_requested_by, error_code, error_message";

Result<RunRecord> Decode(const Row& row) {
  RunRecord r;
  r.id = row.Text(0);
  r.environment = row.Text(1);
  r.automation = row.Text(2);
  r.version = row.Text(3);
  r.trigger = row.Text(4);
  r.triggered_by = row.Text(5);
  r.idempotency_key = row.Text(6);
  CL_ASSIGN_OR_RETURN(r.inputs, row.JsonAt(7, "inputs"));
  const auto state = ParseRunState(row.View(8));
  if (!state) return row.Corrupt("state \"" + row.Text(8) + "\" is not a run state");
  r.state = *state;
  r.queued_at = row.Text(9);
  r.started_at = row.Text(10);
  r.finished_at = row.Text(11);
  r.next_step = static_cast<int>(row.Int(12));
  CL_ASSIGN_OR_RETURN(r.context, row.JsonAt(13, "context"));
  if (!r.inputs.is_object() || !r.context.is_object())
    return row.Corrupt("inputs or context is not an object");
  r.lease_owner = row.Text(14);
  r.lease_expires_ms = row.Int(15);
  r.cancel_requested_by = row.Text(16);
  r.error_code = row.Text(17);
  r.error_message = row.Text(18);
  return r;
}

StepAttempt DecodeAttempt(const Row& row) {
  StepAttempt a;
  a.run_id = row.Text(0);
  a.step_index = static_cast<int>(row.Int(1));
  a.attempt = static_cast<int>(row.Int(2));
  a.step_id = row.Text(3);
  a.type = row.Text(4);
  a.outcome = row.Text(5);
  a.started_at = row.Text(6);
  a.duration_ms = row.Int(7);
  a.status = static_cast<int>(row.Int(8));
  a.error_code = row.Text(9);
  a.error_message = row.Text(10);
  a.request_sha256 = row.Text(11);
  a.response_sha256 = row.Text(12);
  if (!row.IsNull(13)) a.output = row.Text(13);
  a.output_truncated = row.Int(14) != 0;
  return a;
}

std::string Select(const std::string& where) {
  return std::string("SELECT ") + kColumns + " FROM runs " + where;
}

}  // namespace

Result<std::optional<RunRecord>> RunStore::Get(ReadView db, const std::string& id) {
  return db.Select("runs", Select("WHERE id = ?")).Bind(1, id).ReadOne(Decode);
}

Result<std::optional<RunRecord>> RunStore::FindByKey(ReadView db, const std::string& environment,
                                                     const std::string& automation,
                                                     const std::string& key) {
  return db
      .Select("runs", Select("WHERE environment = ? AND automation = ? AND idempotency_key = ?"))
      .Bind(1, environment)
      .Bind(2, automation)
      .Bind(3, key)
      .ReadOne(Decode);
}

Result<std::vector<RunRecord>> RunStore::List(ReadView db, const RunFilter& f) {
  return db
      .Select("runs",
              Select("WHERE (?1 = '' OR environment = ?1) AND (?2 = '' OR automation = ?2) AND "
                     "(?3 = '' OR state = ?3) AND (?4 = '' OR queued_at >= ?4) AND "
                     "(?5 = '' OR rowid < (SELECT rowid FROM runs WHERE id = ?5)) "
                     "ORDER BY rowid DESC LIMIT ?6"))
      .Bind(1, f.environment)
      .Bind(2, f.automation)
      .Bind(3, f.state)
      .Bind(4, f.since)
      .Bind(5, f.before_id)
      .Bind(6, static_cast<int64_t>(f.limit))
      .ReadAll(Decode);
}

Result<std::vector<StepAttempt>> RunStore::Attempts(ReadView db, const std::string& run_id) {
  return db
      .Select("run_steps",
              "SELECT run_id, step_index, attempt, step_id, type, outcome, started_at, "
              "duration_ms, status, "
              "error_code, error_message, request_sha256, response_sha256, output, "
              "output_truncated FROM run_steps "
              "WHERE run_id = ? ORDER BY step_index, attempt")
      .Bind(1, run_id)
      .ReadAll(DecodeAttempt);
}

Result<int> RunStore::AttemptsOf(ReadView db, const std::string& run_id, int step_index) {
  CL_ASSIGN_OR_RETURN(int64_t n, db.Select("run_steps",
                                           "SELECT COUNT(*) FROM run_steps WHERE run_id = ? AND "
                                           "step_index = ?")
                                     .Bind(1, run_id)
                                     .Bind(2, static_cast<int64_t>(step_index))
                                     .ReadInt());
  return static_cast<int>(n);
}

Result<int64_t> RunStore::Count(ReadView db, const std::string& environment,
                                const std::string& automation, RunState state) {
  return db
      .Select("runs",
              "SELECT COUNT(*) FROM runs WHERE environment = ?1 AND (?2 = '' OR automation = ?2) "
              "AND state = ?3")
      .Bind(1, environment)
      .Bind(2, automation)
      .Bind(3, RunStateName(state))
      .ReadInt();
}

Result<promotion::RunEvidence> RunStore::EvidenceFor(ReadView db, const std::string& environment,
                                                     const std::string& version,
                                                     const std::string& since) {
  promotion::RunEvidence out;
  CL_ASSIGN_OR_RETURN(
      out.outcomes,
      db.Select("runs",
                "SELECT state, COUNT(*), MAX(finished_at) FROM runs WHERE environment = ?1 "
                "AND version = ?2 AND state IN ('succeeded', 'failed', 'cancelled', "
                "'timed_out') GROUP BY state ORDER BY state")
          .Bind(1, environment)
          .Bind(2, version)
          .ReadAll([](const Row& row) {
            return promotion::RunOutcomes{row.Text(0), row.Int(1), row.Text(2)};
          }));
  CL_ASSIGN_OR_RETURN(
      out.succeeded_in_window,
      db.Select("runs",
                "SELECT COUNT(*) FROM runs WHERE environment = ?1 AND version = ?2 AND "
                "state = 'succeeded' AND finished_at >= ?3")
          .Bind(1, environment)
          .Bind(2, version)
          .Bind(3, since)
          .ReadInt());
  return out;
}

Result<std::optional<RunRecord>> RunStore::NextClaimable(ReadView db, const std::string& pool,
                                                         int64_t now_ms,
                                                         const ClaimLimits& limits) {
  // A lapsed lease first: that run was already started and resumes.
  CL_ASSIGN_OR_RETURN(
      auto lapsed,
      db.Select("runs",
                Select("WHERE state = 'running' AND (substr(lease_owner, 1, length(?1) + 1) "
                       "!= ?1 || '/' OR lease_expires_ms < ?2) ORDER BY rowid LIMIT 1"))
          .Bind(1, pool)
          .Bind(2, now_ms)
          .ReadOne(Decode));
  if (lapsed) return lapsed;
  return db
      .Select("runs",
              Select("WHERE state = 'queued' AND (SELECT COUNT(*) FROM runs b WHERE b.environment "
                     "= runs.environment "
                     "AND b.automation = runs.automation AND b.state = 'running') < ?1 AND (SELECT "
                     "COUNT(*) FROM "
                     "runs e WHERE e.environment = runs.environment AND e.state = 'running') < ?2 "
                     "ORDER BY rowid LIMIT 1"))
      .Bind(1, static_cast<int64_t>(limits.per_automation))
      .Bind(2, static_cast<int64_t>(limits.per_environment))
      .ReadOne(Decode);
}

Status RunStore::Insert(Transaction& tx, const RunRecord& r) {
  CL_ASSIGN_OR_RETURN(
      Statement * s,
      tx.Prepare("INSERT INTO runs (id, environment, automation, version, trigger, triggered_by, "
                 "idempotency_key, inputs, state, queued_at, next_step, context) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  return s->Bind(1, r.id)
      .Bind(2, r.environment)
      .Bind(3, r.automation)
      .Bind(4, r.version)
      .Bind(5, r.trigger)
      .Bind(6, r.triggered_by)
      .Bind(7, r.idempotency_key)
      .Bind(8, r.inputs.dump())
      .Bind(9, RunStateName(r.state))
      .Bind(10, r.queued_at)
      .Bind(11, static_cast<int64_t>(r.next_step))
      .Bind(12, r.context.dump())
      .Run();
}

Status RunStore::Update(Transaction& tx, const RunRecord& r) {
  CL_ASSIGN_OR_RETURN(
      Statement * s,
      tx.Prepare("UPDATE runs SET state = ?2, started_at = ?3, finished_at = ?4, next_step = ?5, "
                 "context = ?6, lease_owner = ?7, lease_expires_ms = ?8, cancel_requested_by = ?9, "
                 "error_code = ?10, error_message = ?11 WHERE id = ?1 AND state IN ('queued', "
                 "'running', 'waiting')"));
  s->Bind(1, r.id).Bind(2, RunStateName(r.state));
  r.started_at.empty() ? s->BindNull(3) : s->Bind(3, r.started_at);
  r.finished_at.empty() ? s->BindNull(4) : s->Bind(4, r.finished_at);
  CL_RETURN_IF_ERROR(s->Bind(5, static_cast<int64_t>(r.next_step))
                         .Bind(6, r.context.dump())
                         .Bind(7, r.lease_owner)
                         .Bind(8, r.lease_expires_ms)
                         .Bind(9, r.cancel_requested_by)
                         .Bind(10, r.error_code)
                         .Bind(11, r.error_message)
                         .Run());
  if (tx.Changes() != 1) {
    return Status::FailedPrecondition("run " + r.id +
                                      " has finished; a finished run is never rewritten")
        .WithReason("run_finished");
  }
  return Status::Ok();
}

Status RunStore::AddAttempt(Transaction& tx, const StepAttempt& a) {
  CL_ASSIGN_OR_RETURN(
      int64_t exists,
      tx.view()
          .Select(
              "run_steps",
              "SELECT COUNT(*) FROM run_steps WHERE run_id = ? AND step_index = ? AND attempt = ?")
          .Bind(1, a.run_id)
          .Bind(2, static_cast<int64_t>(a.step_index))
          .Bind(3, static_cast<int64_t>(a.attempt))
          .ReadInt());
  if (exists) {
    return Status::AlreadyExists("run " + a.run_id + " step " + a.step_id + " attempt " +
                                 std::to_string(a.attempt) + " is recorded already");
  }
  CL_ASSIGN_OR_RETURN(
      Statement * s,
      tx.Prepare("INSERT INTO run_steps (run_id, step_index, attempt, step_id, type, outcome, "
                 "started_at, duration_ms, status, error_code, error_message, request_sha256, "
                 "response_sha256, output, output_truncated) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, a.run_id)
      .Bind(2, static_cast<int64_t>(a.step_index))
      .Bind(3, static_cast<int64_t>(a.attempt))
      .Bind(4, a.step_id)
      .Bind(5, a.type)
      .Bind(6, a.outcome)
      .Bind(7, a.started_at)
      .Bind(8, a.duration_ms)
      .Bind(9, static_cast<int64_t>(a.status))
      .Bind(10, a.error_code)
      .Bind(11, a.error_message)
      .Bind(12, a.request_sha256)
      .Bind(13, a.response_sha256);
  a.output ? s->Bind(14, *a.output) : s->BindNull(14);
  return s->Bind(15, static_cast<int64_t>(a.output_truncated ? 1 : 0)).Run();
}

Result<int64_t> RunStore::PruneOutputs(Transaction& tx, const std::string& before) {
  CL_ASSIGN_OR_RETURN(
      Statement * s,
      tx.Prepare(
          "UPDATE run_steps SET output = NULL WHERE output IS NOT NULL AND run_id IN (SELECT "
          "id FROM runs WHERE finished_at IS NOT NULL AND finished_at < ?)"));
  CL_RETURN_IF_ERROR(s->Bind(1, before).Run());
  const int64_t pruned = tx.Changes();
  CL_ASSIGN_OR_RETURN(
      Statement * c,
      tx.Prepare("UPDATE runs SET context = '{}' WHERE context != '{}' AND finished_at IS NOT NULL "
                 "AND finished_at < ?"));
  CL_RETURN_IF_ERROR(c->Bind(1, before).Run());
  return pruned;
}

Result<std::optional<int64_t>> RunStore::LastFire(ReadView db, const std::string& environment,
                                                  const std::string& automation) {
  return db
      .Select("run_schedules",
              "SELECT last_fire FROM run_schedules WHERE environment = ? AND automation = ?")
      .Bind(1, environment)
      .Bind(2, automation)
      .ReadOne([](const Row& row) { return row.Int(0); });
}

Status RunStore::SetLastFire(Transaction& tx, const std::string& environment,
                             const std::string& automation, int64_t last_fire,
                             const std::string& now) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT OR REPLACE INTO run_schedules (environment, automation, "
                                 "last_fire, updated_at) VALUES (?, ?, ?, ?)"));
  return s->Bind(1, environment).Bind(2, automation).Bind(3, last_fire).Bind(4, now).Run();
}

}  // namespace cloister::runtime
