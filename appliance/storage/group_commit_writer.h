// GroupCommitWriter: the Writer on one SQLCipher connection and one thread.
//
// The thread takes whatever units are queued (up to max_batch), opens one
// transaction, runs the units, commits, then resolves the batch's tickets.
// If a unit fails, the batch is rolled back and replayed with a savepoint
// per unit, so that unit alone is undone. While it commits, new units queue up, so the batch size
// adapts to load: one unit per commit when idle, hundreds under contention.
// Nothing a unit or a commit hook throws leaves the thread: a unit that
// throws fails alone (internal), a hook that throws is logged and counted.
//
// The queue is bounded: past max_queued_units waiting units, Submit refuses
// at once (unavailable, reason "overloaded") instead of letting memory and
// latency grow without limit. A batch that cannot be committed leaves a
// lasting fault (LastFault) until a later batch commits; both are logged.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/metrics.h"
#include "appliance/core/mutex.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct WriterOptions {
  size_t max_batch = 1024;          // units per transaction at most
  size_t max_queued_units = 10000;  // units waiting for the writer at most; more are refused ("overloaded")
};

class GroupCommitWriter final : public Writer {
 public:
  // Takes ownership of `conn` (a migrated writer connection) and starts the
  // thread. `metrics` may be null; when set, it must outlive the writer and
  // have the families of DescribeWriterMetrics.
  GroupCommitWriter(std::unique_ptr<Connection> conn, WriterOptions options, const Clock& clock,
                    Metrics* metrics);
  // Stops after running every unit already queued.
  ~GroupCommitWriter() override;

  WriteTicket Submit(Unit unit) CL_EXCLUDES(mu_) override;
  std::optional<WriterFault> LastFault() const CL_EXCLUDES(mu_) override;

  // Runs the queued units, then stops the thread; later submits fail with
  // unavailable. Idempotent.
  void Stop() CL_EXCLUDES(mu_);

 private:
  // Units queued together; they run and commit as one transaction.
  struct Batch {
    std::vector<Unit> units;
    std::shared_ptr<BatchCompletion> completion;
  };

  Batch NewBatch() const;
  void Loop() CL_EXCLUDES(mu_);
  void RunBatch(Batch& batch) CL_EXCLUDES(mu_);
  // Runs the batch's units in one transaction, filling `results` and the
  // committed units' `hooks`, and commits. An error means the batch failed
  // as a whole (no unit took effect); the transaction may still be open.
  Status CommitBatch(Batch& batch, std::vector<Status>& results, std::vector<std::function<void()>>& hooks);
  // Runs one unit, in its own savepoint when `savepoint` is not null, and
  // stores its outcome in *outcome. Returns an error only when the savepoint
  // itself failed: then the unit cannot be isolated and the batch is abandoned.
  Status RunUnit(Unit& unit, Statement* savepoint, Statement* release, Statement* rollback_to,
                 Status* outcome, std::vector<std::function<void()>>& hooks);
  // Runs the committed units' hooks; one that throws is logged, never fatal.
  void RunHooks(std::vector<std::function<void()>>& hooks);
  // Keep or clear the lasting fault after a batch failed or committed.
  void NoteCommitFailed(const Status& error) CL_EXCLUDES(mu_);
  void NoteCommitSucceeded() CL_EXCLUDES(mu_);

  // Writer thread only (after construction).
  std::unique_ptr<Connection> conn_;
  uint64_t rollbacks_ = 0;  // see Transaction::rollback_generation
  bool faulted_ = false;    // whether fault_ is set; spares a lock per successful batch

  const WriterOptions options_;
  const Clock& clock_;
  Metrics* metrics_;
  const Logger logger_{"writer"};

  mutable Mutex mu_;
  CondVar cv_;
  Batch open_ CL_GUARDED_BY(mu_);              // filling; the writer takes it when idle
  std::deque<Batch> full_ CL_GUARDED_BY(mu_);  // reached max_batch while the writer was busy
  size_t queued_ CL_GUARDED_BY(mu_) = 0;       // units in open_ and full_
  bool writer_idle_ CL_GUARDED_BY(mu_) = false;
  bool stopping_ CL_GUARDED_BY(mu_) = false;
  std::optional<WriterFault> fault_ CL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Declares the writer's metric families on `metrics`.
void DescribeWriterMetrics(Metrics& metrics);

}  // namespace cloister
