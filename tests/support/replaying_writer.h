// A Writer for tests that makes a unit run twice, as the group-commit
// writer does when another unit of the unit's batch fails.
//
// Armed with ReplayNext, the next Submit holds the real writer busy, then
// queues three units so that they share one batch: a "before" unit, the
// submitted unit, and a unit that always fails. The failure rolls the batch
// back and the writer replays it, so the submitted unit runs twice. The
// "before" unit calls `before_replay` on its second run only: that is after
// the unit's first run (whether it succeeded or failed) and before its
// replay, and what it writes commits with the batch. Tests use it to make
// the replay see something its first run did not.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <utility>

#include "appliance/storage/writer.h"

namespace cloister::testing {

class ReplayingWriter final : public Writer {
 public:
  using BeforeReplay = std::function<Status(Transaction&)>;

  explicit ReplayingWriter(Writer& inner) : inner_(inner) {}

  // The next Submit runs twice in one batch; `before_replay`, when set, runs
  // between its two runs.
  void ReplayNext(BeforeReplay before_replay = nullptr) {
    armed_ = true;
    before_replay_ = std::move(before_replay);
  }
  // How many times the last replayed unit ran (2 when the replay happened).
  int runs() const { return runs_ ? runs_->load() : 0; }

  WriteTicket Submit(Unit unit) override {
    if (!armed_.exchange(false)) return inner_.Submit(std::move(unit));
    runs_ = std::make_shared<std::atomic<int>>(0);
    std::promise<void> entered, release;
    std::shared_future<void> released = release.get_future().share();
    WriteTicket held = inner_.Submit([&entered, released](Transaction&) {
      entered.set_value();
      released.wait();
      return Status::Ok();
    });
    entered.get_future().wait();  // the writer is busy: what follows shares the next batch
    auto before_runs = std::make_shared<int>(0);
    WriteTicket before = inner_.Submit([before_runs, hook = std::move(before_replay_)](Transaction& tx) -> Status {
      if (++*before_runs == 2 && hook) return hook(tx);
      return Status::Ok();
    });
    WriteTicket ticket = inner_.Submit([runs = runs_, unit = std::move(unit)](Transaction& tx) {
      ++*runs;
      return unit(tx);
    });
    WriteTicket failing = inner_.Submit(
        [](Transaction&) { return Status::FailedPrecondition("a unit that fails, so that its batch is replayed"); });
    release.set_value();
    held.Wait();
    before.Wait();
    failing.Wait();
    return ticket;
  }

 private:
  Writer& inner_;
  std::atomic<bool> armed_{false};
  BeforeReplay before_replay_;
  std::shared_ptr<std::atomic<int>> runs_;
};

}  // namespace cloister::testing
