#include "appliance/storage/group_commit_writer.h"

#include <algorithm>
#include <exception>

namespace cloister {

void DescribeWriterMetrics(Metrics& metrics) {
  metrics.DescribeHistogram("cloister_writer_batch_units", "Units of work committed per transaction.",
                            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
  metrics.DescribeHistogram("cloister_writer_commit_seconds", "Time from BEGIN to durable COMMIT of a batch.",
                            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  metrics.DescribeCounter("cloister_writer_units_total", "Units of work by outcome (committed, failed).");
  metrics.DescribeCounter("cloister_writer_hook_failures_total",
                          "Commit hooks that threw after their unit committed (logged, not retried).");
  metrics.DescribeCounter("cloister_writer_failed_commits_total",
                          "Batches that could not be committed; no unit in them took effect.");
  metrics.DescribeCounter("cloister_writer_refused_total",
                          "Units refused at submit because the writer's queue was full (503 overloaded).");
  metrics.DescribeGauge("cloister_writer_queued_units", "Units waiting for the writer when it took its last batch.");
}

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> conn, WriterOptions options,
                                     const Clock& clock, Metrics* metrics)
    : conn_(std::move(conn)), options_(options), clock_(clock), metrics_(metrics), open_(NewBatch()) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

GroupCommitWriter::Batch GroupCommitWriter::NewBatch() const {
  Batch b;
  b.units.reserve(std::min<size_t>(options_.max_batch, 64));
  b.completion = std::make_shared<BatchCompletion>(b.units.capacity());
  return b;
}

void GroupCommitWriter::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

std::optional<WriterFault> GroupCommitWriter::LastFault() const {
  MutexLock lock(mu_);
  return fault_;
}

WriteTicket GroupCommitWriter::Submit(Unit unit) {
  MutexLock lock(mu_);
  if (stopping_) {
    return WriteTicket::Failed(
        Status::Unavailable("the writer is stopped (the appliance is sealing or shutting down)").WithReason("sealed"));
  }
  if (queued_ >= options_.max_queued_units) {
    lock.Unlock();
    if (metrics_) metrics_->Increment("cloister_writer_refused_total", {});
    return WriteTicket::Failed(Status::Unavailable("the database writer has " +
                                                   std::to_string(options_.max_queued_units) +
                                                   " changes waiting (storage.writer_max_queued); retry shortly")
                                   .WithReason("overloaded"));
  }
  if (open_.units.size() >= options_.max_batch) {
    full_.push_back(std::move(open_));
    open_ = NewBatch();
  }
  WriteTicket ticket(open_.completion, open_.units.size());
  open_.units.push_back(std::move(unit));
  ++queued_;
  // A busy writer looks at the queue again before it waits: wake it only when idle.
  const bool wake = writer_idle_;
  writer_idle_ = false;
  lock.Unlock();
  if (wake) cv_.NotifyOne();
  return ticket;
}

void GroupCommitWriter::Loop() {
  for (;;) {
    Batch batch;
    size_t waiting = 0;
    {
      MutexLock lock(mu_);
      writer_idle_ = true;
      while (!stopping_ && full_.empty() && open_.units.empty()) cv_.Wait(lock);
      writer_idle_ = false;
      if (!full_.empty()) {
        batch = std::move(full_.front());
        full_.pop_front();
      } else if (!open_.units.empty()) {
        batch = std::move(open_);
        open_ = NewBatch();
      } else {
        return;  // stopping and drained
      }
      queued_ -= batch.units.size();
      waiting = queued_;
    }
    if (metrics_) metrics_->Set("cloister_writer_queued_units", static_cast<double>(waiting));
    RunBatch(batch);
  }
}

Status GroupCommitWriter::RunUnit(Unit& unit, Statement* savepoint, Statement* release,
                                  Statement* rollback_to, Status* outcome,
                                  std::vector<std::function<void()>>& hooks) {
  if (savepoint) {
    savepoint->Reset();
    CL_RETURN_IF_ERROR(savepoint->Run());
  }
  Transaction tx(*conn_, &rollbacks_);
  try {
    *outcome = unit(tx);
  } catch (const std::exception& e) {
    *outcome = Status::Internal(std::string("unit of work threw: ") + e.what());
  } catch (...) {
    *outcome = Status::Internal("unit of work threw an exception that is not a std::exception");
  }
  tx.ResetStatements();
  if (outcome->ok()) {
    for (auto& h : tx.TakeOnCommit()) hooks.push_back(std::move(h));
  }
  if (!savepoint) return Status::Ok();
  if (!outcome->ok()) {
    ++rollbacks_;
    rollback_to->Reset();
    CL_RETURN_IF_ERROR(rollback_to->Run());
  }
  release->Reset();
  return release->Run();
}

// The batch is durable whatever a hook does: a hook that throws is logged
// and counted, and the others still run.
void GroupCommitWriter::RunHooks(std::vector<std::function<void()>>& hooks) {
  for (auto& hook : hooks) {
    std::string error;
    try {
      hook();
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "an exception that is not a std::exception";
    }
    if (error.empty()) continue;
    logger_.Error("a commit hook threw (its unit stays committed): " + error);
    if (metrics_) metrics_->Increment("cloister_writer_hook_failures_total", {});
  }
}

// Runs every unit without savepoints first: a savepoint makes SQLCipher
// encrypt each touched page into the statement journal, which costs more
// than the insert itself. Only when a unit fails is the transaction rolled
// back and the batch replayed with one savepoint per unit, so the failing
// unit rolls back alone and the rest commit (docs/adr/0001-group-commit.md).
Status GroupCommitWriter::CommitBatch(Batch& batch, std::vector<Status>& results,
                                      std::vector<std::function<void()>>& hooks) {
  const size_t n = batch.units.size();
  auto begin = conn_->Cached("BEGIN IMMEDIATE");
  auto rollback = conn_->Cached("ROLLBACK");
  auto savepoint = conn_->Cached("SAVEPOINT unit");
  auto release = conn_->Cached("RELEASE unit");
  auto rollback_to = conn_->Cached("ROLLBACK TO unit");
  auto commit = conn_->Cached("COMMIT");
  for (const Status* st : {&begin.status(), &rollback.status(), &savepoint.status(), &release.status(),
                           &rollback_to.status(), &commit.status()}) {
    if (!st->ok()) return st->Annotate("preparing the write transaction");
  }
  if (Status st = (*begin)->Run(); !st.ok()) return st.Annotate("beginning the write transaction");

  bool all_ok = true;
  for (size_t i = 0; i < n && all_ok; ++i) {
    all_ok = RunUnit(batch.units[i], nullptr, nullptr, nullptr, &results[i], hooks).ok() && results[i].ok();
  }
  if (!all_ok) {
    hooks.clear();
    ++rollbacks_;
    (*rollback)->Reset();
    if (Status st = (*rollback)->Run(); !st.ok()) return st.Annotate("rolling back for replay");
    (*begin)->Reset();
    if (Status st = (*begin)->Run(); !st.ok()) return st.Annotate("beginning the replay");
    for (size_t i = 0; i < n; ++i) {
      Status fatal = RunUnit(batch.units[i], *savepoint, *release, *rollback_to, &results[i], hooks);
      if (!fatal.ok()) return fatal.Annotate("isolating a unit of work");
    }
  }
  if (Status st = (*commit)->Run(); !st.ok()) {
    return Status::Unavailable("committing the write transaction failed; nothing in it was saved: " + st.message());
  }
  return Status::Ok();
}

void GroupCommitWriter::RunBatch(Batch& batch) {
  const auto started = clock_.Monotonic();
  const size_t n = batch.units.size();
  std::vector<Status> results(n);
  std::vector<std::function<void()>> hooks;
  if (Status failed = CommitBatch(batch, results, hooks); !failed.ok()) {
    ++rollbacks_;
    conn_->ResetBusyStatements();
    conn_->Exec("ROLLBACK");  // best effort (SQLite may have rolled back already); `failed` is what callers need
    NoteCommitFailed(failed);
    batch.completion->Finish(std::vector<Status>(n, failed));
    if (metrics_) metrics_->Increment("cloister_writer_units_total", {{"outcome", "failed"}}, static_cast<double>(n));
    return;
  }
  const double seconds = std::chrono::duration<double>(clock_.Monotonic() - started).count();
  NoteCommitSucceeded();
  RunHooks(hooks);
  const auto failed = static_cast<size_t>(std::count_if(results.begin(), results.end(),
                                                        [](const Status& st) { return !st.ok(); }));
  batch.completion->Finish(std::move(results), std::move(batch.units));
  if (metrics_) {
    metrics_->Observe("cloister_writer_batch_units", static_cast<double>(n));
    metrics_->Observe("cloister_writer_commit_seconds", seconds);
    metrics_->Increment("cloister_writer_units_total", {{"outcome", "committed"}}, static_cast<double>(n - failed));
    if (failed) metrics_->Increment("cloister_writer_units_total", {{"outcome", "failed"}}, static_cast<double>(failed));
  }
}

void GroupCommitWriter::NoteCommitFailed(const Status& error) {
  const auto now = clock_.Now();
  uint64_t count = 0;
  {
    MutexLock lock(mu_);
    if (!fault_) fault_ = WriterFault{error, now, now, 0};
    fault_->error = error;
    fault_->last = now;
    count = ++fault_->failed_commits;
  }
  faulted_ = true;
  if (metrics_) metrics_->Increment("cloister_writer_failed_commits_total", {});
  // Every failure is worth a line, but a failing disk fails every batch:
  // the first, then each power of two, keep the log readable.
  if ((count & (count - 1)) == 0) {
    logger_.Error("a batch of changes could not be committed (" + std::to_string(count) +
                  " since the last commit that succeeded): " + error.message());
  }
}

void GroupCommitWriter::NoteCommitSucceeded() {
  if (!faulted_) return;
  faulted_ = false;
  uint64_t count = 0;
  {
    MutexLock lock(mu_);
    count = fault_ ? fault_->failed_commits : 0;
    fault_.reset();
  }
  logger_.Info("commits succeed again after " + std::to_string(count) + " failed");
}

}  // namespace cloister
