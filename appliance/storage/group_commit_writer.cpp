#include "appliance/storage/group_commit_writer.h"

#include <exception>

namespace cloister {

void DescribeWriterMetrics(Metrics& metrics) {
  metrics.DescribeHistogram("cloister_writer_batch_units", "Units of work committed per transaction.",
                            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
  metrics.DescribeHistogram("cloister_writer_commit_seconds", "Time from BEGIN to durable COMMIT of a batch.",
                            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  metrics.DescribeCounter("cloister_writer_units_total", "Units of work by outcome (committed, failed).");
}

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> conn, WriterOptions options,
                                     const Clock& clock, Metrics* metrics)
    : conn_(std::move(conn)), options_(options), clock_(clock), metrics_(metrics) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

void GroupCommitWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::future<Status> GroupCommitWriter::Submit(Unit unit) {
  Pending p{std::move(unit), {}};
  std::future<Status> f = p.done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      p.done.set_value(Status::Unavailable("the writer is stopped (the appliance is sealing or shutting down)")
                           .WithReason("sealed"));
      return f;
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
  return f;
}

void GroupCommitWriter::Loop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      const size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
}

Status GroupCommitWriter::RunUnit(Pending& p, Statement* savepoint, Statement* release,
                                  Statement* rollback_to, Status* outcome,
                                  std::vector<std::function<void()>>& hooks) {
  savepoint->Reset();
  CL_RETURN_IF_ERROR(savepoint->Run());
  Transaction tx(*conn_);
  try {
    *outcome = p.unit(tx);
  } catch (const std::exception& e) {
    *outcome = Status::Internal(std::string("unit of work threw: ") + e.what());
  }
  tx.ResetStatements();
  if (outcome->ok()) {
    for (auto& h : tx.TakeOnCommit()) hooks.push_back(std::move(h));
  } else {
    rollback_to->Reset();
    CL_RETURN_IF_ERROR(rollback_to->Run());
  }
  release->Reset();
  return release->Run();
}

void GroupCommitWriter::RunBatch(std::vector<Pending>& batch) {
  const auto started = clock_.Monotonic();
  std::vector<Status> results(batch.size());
  std::vector<std::function<void()>> hooks;

  auto fail_all = [&](const Status& why) {
    conn_->Exec("ROLLBACK");  // best effort; `why` is what callers need
    for (auto& p : batch) p.done.set_value(why);
    if (metrics_) metrics_->Increment("cloister_writer_units_total", {{"outcome", "failed"}}, batch.size());
  };

  auto begin = conn_->Cached("BEGIN IMMEDIATE");
  auto savepoint = conn_->Cached("SAVEPOINT unit");
  auto release = conn_->Cached("RELEASE unit");
  auto rollback_to = conn_->Cached("ROLLBACK TO unit");
  auto commit = conn_->Cached("COMMIT");
  for (const Status* st : {&begin.status(), &savepoint.status(), &release.status(), &rollback_to.status(),
                           &commit.status()}) {
    if (!st->ok()) return fail_all(st->Annotate("preparing the write transaction"));
  }
  if (Status st = (*begin)->Run(); !st.ok()) return fail_all(st.Annotate("beginning the write transaction"));

  size_t failed = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Status fatal = RunUnit(batch[i], *savepoint, *release, *rollback_to, &results[i], hooks);
    if (!fatal.ok()) return fail_all(fatal.Annotate("isolating a unit of work"));
    if (!results[i].ok()) ++failed;
  }
  if (Status st = (*commit)->Run(); !st.ok()) {
    return fail_all(Status::Unavailable("committing the write transaction failed; nothing in it was saved: " +
                                        st.message()));
  }
  const double seconds = std::chrono::duration<double>(clock_.Monotonic() - started).count();
  for (auto& h : hooks) h();
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done.set_value(std::move(results[i]));
  if (metrics_) {
    metrics_->Observe("cloister_writer_batch_units", static_cast<double>(batch.size()));
    metrics_->Observe("cloister_writer_commit_seconds", seconds);
    metrics_->Increment("cloister_writer_units_total", {{"outcome", "committed"}}, batch.size() - failed);
    if (failed) metrics_->Increment("cloister_writer_units_total", {{"outcome", "failed"}}, failed);
  }
}

}  // namespace cloister
