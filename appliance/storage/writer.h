// The single writer. Every change to the database is a unit of work: a
// function that receives the open Transaction and returns a Status. The
// writer runs many units in one SQLite transaction, each inside its own
// savepoint, and commits once (group commit). A unit that returns an error
// (or throws) is rolled back to its savepoint alone; the others in its batch
// still commit. A unit's future resolves only after the commit is durable
// (WAL, synchronous=FULL), with the unit's own Status, or with unavailable
// when the commit itself failed (then no unit of the batch took effect).
//
// A unit may run more than once: when another unit of its batch fails, the
// batch is rolled back and replayed. So a unit acts only through the
// transaction and what it returns, and keeps no state outside its return
// value: a unit that produces an output (a new id, a page to answer with)
// goes through Write<T>, which hands back the value of the run that
// committed, never one left over from a run that was rolled back. Audit
// events are appended from inside the same unit as the change they record,
// so a change never exists without its event.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "appliance/core/mutex.h"
#include "appliance/core/status.h"
#include "appliance/storage/connection.h"
#include "appliance/storage/rows.h"

namespace cloister {

// The writer's connection during one unit. Not thread-safe: valid only
// inside the unit, on the writer thread.
class Transaction {
 public:
  // `rollbacks`, when given, counts the rollbacks of this connection's
  // transactions; it lets caches of database state notice that work they
  // saw was undone (see rollback_generation()).
  explicit Transaction(Connection& conn, const uint64_t* rollbacks = nullptr) : conn_(conn), rollbacks_(rollbacks) {}

  // Changes whenever a transaction or savepoint on this connection rolls
  // back; nullopt when unknown (then callers must re-read what they cached).
  std::optional<uint64_t> rollback_generation() const {
    return rollbacks_ ? std::optional<uint64_t>(*rollbacks_) : std::nullopt;
  }

  // A cached prepared statement, reset and ready to bind. Statements left
  // mid-step by the unit are reset when the unit ends.
  Result<Statement*> Prepare(std::string_view sql) {
    Result<Statement*> stmt = conn_.Cached(sql);
    if (stmt.ok()) used_.push_back(*stmt);
    return stmt;
  }
  Status Exec(std::string_view sql) { return conn_.Exec(sql); }
  // The database as this unit sees it, for reads (appliance/storage/rows.h).
  ReadView view() const { return ReadView(conn_); }
  int64_t LastInsertRowId() const { return conn_.LastInsertRowId(); }
  int64_t Changes() const { return conn_.Changes(); }

  // Runs `fn` on the writer thread after the batch holding this unit commits,
  // and only if this unit committed. For notifications, never for writes. A
  // hook that throws is logged; the unit stays committed and the writer
  // goes on.
  void OnCommit(std::function<void()> fn) { on_commit_.push_back(std::move(fn)); }

  std::vector<std::function<void()>> TakeOnCommit() { return std::move(on_commit_); }
  void ResetStatements() {
    for (Statement* s : used_) s->Reset();
    used_.clear();
  }

 private:
  Connection& conn_;
  const uint64_t* rollbacks_;
  std::vector<Statement*> used_;
  std::vector<std::function<void()>> on_commit_;
};

using Unit = std::function<Status(Transaction&)>;

// The outcome of one batch, shared by the tickets of its units. Completing
// a batch wakes its waiters once (not once per unit), which is what keeps
// acknowledgements cheap under load. Thread-safe.
class BatchCompletion {
 public:
  explicit BatchCompletion(size_t expected = 0) { results_.reserve(expected); }
  // Publishes every unit's Status; called once, by the writer. `done_units`
  // are the batch's finished units: they are destroyed with the completion,
  // which happens on the thread that lets go of it last (a submitter), so
  // freeing what they captured costs the writer nothing.
  void Finish(std::vector<Status> results, std::vector<std::function<Status(Transaction&)>> done_units = {})
      CL_EXCLUDES(mu_);
  // Blocks until Finish, then returns unit `index`'s Status.
  Status Wait(size_t index) CL_EXCLUDES(mu_);

 private:
  Mutex mu_;
  CondVar cv_;
  bool done_ CL_GUARDED_BY(mu_) = false;
  std::vector<Status> results_ CL_GUARDED_BY(mu_);
  std::vector<std::function<Status(Transaction&)>> done_units_ CL_GUARDED_BY(mu_);
};

// What Submit returns: Wait() blocks until the unit is durable (OK) or has
// failed (its error). May be waited on from any thread, more than once.
class WriteTicket {
 public:
  WriteTicket(std::shared_ptr<BatchCompletion> completion, size_t index)
      : completion_(std::move(completion)), index_(index) {}
  // A ticket that has already failed with `status`.
  static WriteTicket Failed(Status status);
  Status Wait() const { return completion_->Wait(index_); }

 private:
  std::shared_ptr<BatchCompletion> completion_;
  size_t index_;
};

// A writer that cannot commit: set when a batch fails as a whole (its
// transaction could not be begun, isolated or committed, so no unit in it
// took effect), kept until a later batch commits.
struct WriterFault {
  Status error;                                // the latest failure
  std::chrono::system_clock::time_point since;  // the first failure since the last commit that succeeded
  std::chrono::system_clock::time_point last;   // the latest failure
  uint64_t failed_commits = 0;                  // batches failed since the last commit that succeeded
};

// Thread-safe: Submit may be called from any thread.
class Writer {
 public:
  virtual ~Writer() = default;
  // Queues `unit`; its ticket resolves once it is durable or has failed. A
  // writer with too much queued refuses at once: the ticket has failed with
  // unavailable, reason "overloaded" (the API answers 503 with Retry-After).
  virtual WriteTicket Submit(Unit unit) = 0;
  // The lasting commit failure, or nullopt while commits succeed (and for
  // writers that do not track it).
  virtual std::optional<WriterFault> LastFault() const { return std::nullopt; }
  // Submit and wait.
  Status Write(Unit unit) { return Submit(std::move(unit)).Wait(); }

  // Submit and wait, for a unit with an output. Every run of `unit` (a
  // replay included) starts with no output and produces its own; the value
  // returned is the one of the run that committed. The unit's error, when
  // its last run failed or threw, or unavailable when the batch's commit
  // failed; never a value from a run that was rolled back. Call with the
  // type named: writer.Write<Json>([&](Transaction& tx) -> Result<Json> {...}).
  template <typename T>
  Result<T> Write(std::function<Result<T>(Transaction&)> unit);
};

template <typename T>
Result<T> Writer::Write(std::function<Result<T>(Transaction&)> unit) {
  // Written only on the writer thread while the caller waits; read after
  // the ticket resolves, which orders the two (BatchCompletion's mutex).
  auto output = std::make_shared<std::optional<T>>();
  const Status written = Write([unit = std::move(unit), output](Transaction& tx) -> Status {
    output->reset();  // nothing survives from an earlier run
    Result<T> result = unit(tx);
    if (!result.ok()) return result.status();
    output->emplace(std::move(result).value());
    return Status::Ok();
  });
  if (!written.ok()) return written;
  if (!output->has_value()) return Status::Internal("a unit of work committed without producing its output");
  return std::move(**output);
}

}  // namespace cloister
