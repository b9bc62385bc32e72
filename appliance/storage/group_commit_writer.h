// GroupCommitWriter: the Writer on one SQLCipher connection and one thread.
//
// The thread takes whatever units are queued (up to max_batch), opens one
// transaction, runs the units, commits, then resolves the batch's tickets.
// If a unit fails, the batch is rolled back and replayed with a savepoint
// per unit, so that unit alone is undone. While it commits, new units queue up, so the batch size
// adapts to load: one unit per commit when idle, hundreds under contention.
// Nothing a unit or a commit hook throws leaves the thread: a unit that
// throws fails alone (internal), a hook that throws is logged and counted.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/metrics.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct WriterOptions {
  size_t max_batch = 1024;  // units per transaction at most
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

  WriteTicket Submit(Unit unit) override;

  // Runs the queued units, then stops the thread; later submits fail with
  // unavailable. Idempotent.
  void Stop();

 private:
  // Units queued together; they run and commit as one transaction.
  struct Batch {
    std::vector<Unit> units;
    std::shared_ptr<BatchCompletion> completion;
  };

  Batch NewBatch() const;
  void Loop();
  void RunBatch(Batch& batch);
  // Runs one unit, in its own savepoint when `savepoint` is not null, and
  // stores its outcome in *outcome. Returns an error only when the savepoint
  // itself failed: then the unit cannot be isolated and the batch is abandoned.
  Status RunUnit(Unit& unit, Statement* savepoint, Statement* release, Statement* rollback_to,
                 Status* outcome, std::vector<std::function<void()>>& hooks);
  // Runs the committed units' hooks; one that throws is logged, never fatal.
  void RunHooks(std::vector<std::function<void()>>& hooks);

  std::unique_ptr<Connection> conn_;
  uint64_t rollbacks_ = 0;  // writer thread only; see Transaction::rollback_generation
  const WriterOptions options_;
  const Clock& clock_;
  Metrics* metrics_;
  const Logger logger_{"writer"};

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  Batch open_;              // filling; the writer takes it when idle
  std::deque<Batch> full_;  // reached max_batch while the writer was busy
  bool writer_idle_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// Declares the writer's metric families on `metrics`.
void DescribeWriterMetrics(Metrics& metrics);

}  // namespace cloister
