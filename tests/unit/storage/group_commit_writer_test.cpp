#include "appliance/storage/group_commit_writer.h"

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "appliance/storage/read_pool.h"
#include "tests/support/fault_injecting_vfs.h"
#include "tests/support/replaying_writer.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

class GroupCommitWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConnectionOptions options;
    options.create = true;
    auto conn = Connection::Open(path_, key_, options);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("CREATE TABLE rows (thread INTEGER, i INTEGER, payload TEXT, PRIMARY KEY (thread, i))").ok());
    DescribeWriterMetrics(metrics_);
    writer_ = std::make_unique<GroupCommitWriter>(std::move(conn).value(), WriterOptions{}, clock_, &metrics_);
  }

  static Unit Insert(int64_t thread, int64_t i) {
    return [thread, i](Transaction& tx) -> Status {
      CL_ASSIGN_OR_RETURN(Statement * stmt, tx.Prepare("INSERT INTO rows (thread, i, payload) VALUES (?, ?, ?)"));
      return stmt->Bind(1, thread).Bind(2, i).Bind(3, std::string(200, 'p')).Run();
    };
  }

  // Rows in the database, read through a fresh connection.
  std::set<std::pair<int64_t, int64_t>> Rows() {
    auto conn = *Connection::Open(path_, key_, ConnectionOptions{});
    auto stmt = *conn->Prepare("SELECT thread, i FROM rows");
    std::set<std::pair<int64_t, int64_t>> out;
    while (*stmt->Step()) out.insert({stmt->ColumnInt(0), stmt->ColumnInt(1)});
    return out;
  }

  int64_t MetricValue(const std::string& line_prefix) {
    const std::string text = metrics_.Render();
    const size_t at = text.find(line_prefix + " ");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + line_prefix.size() + 1));
  }

  // Holds the writer thread inside a unit until Release(), so that what is
  // submitted meanwhile lands in the next batch together.
  class Gate {
   public:
    Unit Hold() {
      return [this](Transaction&) {
        entered_.set_value();
        release_.get_future().wait();
        return Status::Ok();
      };
    }
    void WaitEntered() { entered_.get_future().wait(); }
    void Release() { release_.set_value(); }

   private:
    std::promise<void> entered_;
    std::promise<void> release_;
  };

  testing::TempDir dir_;
  std::string path_ = dir_.File("writer.db");
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  SystemClock clock_;
  Metrics metrics_;
  std::unique_ptr<GroupCommitWriter> writer_;
};

TEST_F(GroupCommitWriterTest, EightThreadsTenThousandUnitsEachAllDurable) {
  constexpr int kThreads = 8;
  constexpr int kUnits = 10000;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> acked(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Keep a window of units in flight, as concurrent requests would.
      std::deque<std::pair<int64_t, WriteTicket>> in_flight;
      for (int i = 0; i < kUnits; ++i) {
        in_flight.emplace_back(i, writer_->Submit(Insert(t, i)));
        if (in_flight.size() >= 32 || i == kUnits - 1) {
          while (!in_flight.empty()) {
            if (in_flight.front().second.Wait().ok()) acked[t].push_back({t, in_flight.front().first});
            in_flight.pop_front();
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const int64_t batches = MetricValue("cloister_writer_batch_units_count");
  writer_.reset();  // stop and close before reopening

  const auto rows = Rows();
  size_t total = 0;
  for (const auto& list : acked) {
    total += list.size();
    for (const auto& key : list) ASSERT_TRUE(rows.count(key)) << key.first << "/" << key.second;
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kUnits));
  EXPECT_EQ(rows.size(), total);
  EXPECT_LT(batches, kThreads * kUnits / 4) << "units were not grouped into shared commits";
}

TEST_F(GroupCommitWriterTest, FailingUnitRollsBackAloneInItsBatch) {
  Gate gate;
  auto held = writer_->Submit(gate.Hold());
  gate.WaitEntered();
  std::vector<WriteTicket> results;
  for (int i = 0; i < 10; ++i) {
    if (i == 4) {
      // Writes a row, then fails: the row must vanish with it.
      results.push_back(writer_->Submit([](Transaction& tx) -> Status {
        CL_RETURN_IF_ERROR(Insert(99, 1)(tx));
        return Status::InvalidArgument("this unit is refused");
      }));
    } else if (i == 7) {
      results.push_back(writer_->Submit([](Transaction&) -> Status { throw std::runtime_error("boom"); }));
    } else {
      results.push_back(writer_->Submit(Insert(1, i)));
    }
  }
  gate.Release();
  ASSERT_TRUE(held.Wait().ok());
  for (int i = 0; i < 10; ++i) {
    const Status st = results[i].Wait();
    if (i == 4) {
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    } else if (i == 7) {
      EXPECT_EQ(st.code(), StatusCode::kInternal);
      EXPECT_NE(st.message().find("boom"), std::string::npos);
    } else {
      EXPECT_TRUE(st.ok()) << i << ": " << st.ToString();
    }
  }
  writer_.reset();
  const auto rows = Rows();
  EXPECT_EQ(rows.size(), 8u);
  EXPECT_FALSE(rows.count({99, 1}));
  // The ten units after the gate shared one transaction.
  EXPECT_NE(metrics_.Render().find("cloister_writer_batch_units_bucket{le=\"16\"} 2"), std::string::npos)
      << metrics_.Render();
}

TEST_F(GroupCommitWriterTest, ConstraintViolationFailsOnlyThatUnit) {
  ASSERT_TRUE(writer_->Write(Insert(5, 5)).ok());
  Gate gate;
  auto held = writer_->Submit(gate.Hold());
  gate.WaitEntered();
  auto dup = writer_->Submit(Insert(5, 5));
  auto fresh = writer_->Submit(Insert(5, 6));
  gate.Release();
  EXPECT_EQ(dup.Wait().code(), StatusCode::kConflict);
  EXPECT_TRUE(fresh.Wait().ok());
  writer_.reset();
  EXPECT_EQ(Rows().size(), 2u);
}

TEST_F(GroupCommitWriterTest, OnCommitHooksRunOnlyForCommittedUnits) {
  std::atomic<int> ran{0};
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) {
    tx.OnCommit([&] { ran += 1; });
    return Insert(1, 1)(tx);
  }).ok());
  EXPECT_FALSE(writer_->Write([&](Transaction& tx) {
    tx.OnCommit([&] { ran += 100; });
    return Status::Conflict("no");
  }).ok());
  EXPECT_EQ(ran.load(), 1);
}

TEST_F(GroupCommitWriterTest, ReplayedBatchCommitsEachSurvivorOnceAndRunsItsHooksOnce) {
  std::atomic<int> hooks{0};
  std::atomic<int> runs{0};
  Gate gate;
  auto held = writer_->Submit(gate.Hold());
  gate.WaitEntered();
  auto survivor = writer_->Submit([&](Transaction& tx) -> Status {
    ++runs;
    tx.OnCommit([&] { ++hooks; });
    return Insert(8, 1)(tx);
  });
  auto failing = writer_->Submit([](Transaction&) { return Status::FailedPrecondition("refused"); });
  gate.Release();
  EXPECT_TRUE(survivor.Wait().ok());
  EXPECT_EQ(failing.Wait().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(runs.load(), 2);   // once optimistically, once in the replay
  EXPECT_EQ(hooks.load(), 1);  // but its effects and hooks happen once
  writer_.reset();
  EXPECT_EQ(Rows().size(), 1u);
}

TEST_F(GroupCommitWriterTest, WriteOfTReturnsTheOutputOfTheUnitOrItsError) {
  const Result<int64_t> rowid = writer_->Write<int64_t>([](Transaction& tx) -> Result<int64_t> {
    CL_RETURN_IF_ERROR(Insert(4, 1)(tx));
    return tx.LastInsertRowId();
  });
  ASSERT_TRUE(rowid.ok()) << rowid.status().ToString();
  EXPECT_EQ(*rowid, 1);
  const Result<std::string> refused = writer_->Write<std::string>([](Transaction& tx) -> Result<std::string> {
    CL_RETURN_IF_ERROR(Insert(4, 2)(tx));
    return Status::Conflict("refused after writing");
  });
  EXPECT_EQ(refused.status().code(), StatusCode::kConflict);
  const Result<int> threw = writer_->Write<int>([](Transaction&) -> Result<int> { throw std::runtime_error("boom"); });
  EXPECT_EQ(threw.status().code(), StatusCode::kInternal);
  writer_.reset();
  EXPECT_EQ(Rows(), (std::set<std::pair<int64_t, int64_t>>{{4, 1}}));
}

// Each run produces its own output: the caller gets the one of the run
// that committed, here the replay, whose row is the one in the database.
TEST_F(GroupCommitWriterTest, ReplayedUnitReturnsTheOutputOfItsReplayNotOfItsFirstRun) {
  testing::ReplayingWriter replaying(*writer_);
  replaying.ReplayNext();
  int run = 0;  // counts runs only to make each run's output differ
  const Result<int64_t> out = replaying.Write<int64_t>([&](Transaction& tx) -> Result<int64_t> {
    ++run;
    CL_RETURN_IF_ERROR(Insert(6, run)(tx));
    return run;
  });
  EXPECT_EQ(replaying.runs(), 2);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, 2);
  writer_.reset();
  EXPECT_EQ(Rows(), (std::set<std::pair<int64_t, int64_t>>{{6, 2}}));
}

// The first run succeeds and produces an output; its replay fails. No
// output from the rolled-back first run may reach the caller.
TEST_F(GroupCommitWriterTest, ReplayThatFailsReturnsItsErrorNotTheFirstRunsOutput) {
  testing::ReplayingWriter replaying(*writer_);
  // Before the replay, another unit takes the row the unit inserts.
  replaying.ReplayNext([](Transaction& tx) { return Insert(7, 1)(tx); });
  const Result<std::string> out = replaying.Write<std::string>([](Transaction& tx) -> Result<std::string> {
    CL_RETURN_IF_ERROR(Insert(7, 1)(tx));
    return std::string("saved");
  });
  EXPECT_EQ(replaying.runs(), 2);
  EXPECT_EQ(out.status().code(), StatusCode::kConflict) << (out.ok() ? *out : out.status().ToString());
}

// The first run fails; the replay succeeds: its output is the answer.
TEST_F(GroupCommitWriterTest, ReplayThatSucceedsAfterAFailedFirstRunReturnsTheReplaysOutput) {
  testing::ReplayingWriter replaying(*writer_);
  replaying.ReplayNext([](Transaction& tx) { return Insert(8, 0)(tx); });
  const Result<int64_t> out = replaying.Write<int64_t>([](Transaction& tx) -> Result<int64_t> {
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("SELECT COUNT(*) FROM rows WHERE thread = 8"));
    CL_RETURN_IF_ERROR(s->Step().status());
    const int64_t seen = s->ColumnInt(0);
    if (seen == 0) return Status::FailedPrecondition("no row yet");
    CL_RETURN_IF_ERROR(Insert(8, 1)(tx));
    return seen;
  });
  EXPECT_EQ(replaying.runs(), 2);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, 1);
  writer_.reset();
  EXPECT_EQ(Rows(), (std::set<std::pair<int64_t, int64_t>>{{8, 0}, {8, 1}}));
}

// A hook runs after its unit committed; one that throws used to escape the
// writer thread and end the process.
TEST_F(GroupCommitWriterTest, ThrowingCommitHookIsLoggedAndTheWriterGoesOn) {
  std::atomic<int> ran{0};
  const Status st = writer_->Write([&](Transaction& tx) {
    tx.OnCommit([] { throw std::runtime_error("notification failed"); });
    tx.OnCommit([] { throw 42; });
    tx.OnCommit([&] { ++ran; });
    return Insert(9, 1)(tx);
  });
  EXPECT_TRUE(st.ok()) << st.ToString();  // the change is durable: its hooks only notify
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(MetricValue("\ncloister_writer_hook_failures_total"), 2) << metrics_.Render();
  EXPECT_TRUE(writer_->Write(Insert(9, 2)).ok());
  writer_.reset();
  EXPECT_EQ(Rows().size(), 2u);
}

TEST_F(GroupCommitWriterTest, UnitThrowingSomethingNotAnExceptionFailsAlone) {
  EXPECT_EQ(writer_->Write([](Transaction&) -> Status { throw 42; }).code(), StatusCode::kInternal);
  EXPECT_TRUE(writer_->Write(Insert(10, 1)).ok());
}

TEST_F(GroupCommitWriterTest, StopDrainsQueuedUnitsThenRefusesNewOnes) {
  Gate gate;
  auto held = writer_->Submit(gate.Hold());
  gate.WaitEntered();
  std::vector<WriteTicket> queued;
  for (int i = 0; i < 50; ++i) queued.push_back(writer_->Submit(Insert(2, i)));
  std::thread stopper([&] { writer_->Stop(); });
  gate.Release();
  stopper.join();
  for (auto& f : queued) EXPECT_TRUE(f.Wait().ok());
  const Status late = writer_->Write(Insert(3, 0));
  EXPECT_EQ(late.code(), StatusCode::kUnavailable);
  writer_.reset();
  EXPECT_EQ(Rows().size(), 50u);
}

// The writer over a connection whose disk refuses writes on demand
// (tests/support/fault_injecting_vfs.h): a failed COMMIT is the real one.
class GroupCommitWriterFaultTest : public GroupCommitWriterTest {
 protected:
  void SetUp() override {
    GroupCommitWriterTest::SetUp();
    Reopen(WriterOptions{});
  }
  void TearDown() override {
    vfs_.FailWalWrites(false);
    writer_.reset();
  }

  // A new writer with `options`, its connection opened through the VFS.
  void Reopen(WriterOptions options) {
    writer_.reset();
    Result<std::unique_ptr<Connection>> conn = Status::Internal("not opened");
    {
      testing::FaultInjectingVfs::DefaultScope scope(vfs_);
      conn = Connection::Open(path_, key_, ConnectionOptions{});
    }
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    writer_ = std::make_unique<GroupCommitWriter>(std::move(conn).value(), options, clock_, &metrics_);
  }

  testing::FaultInjectingVfs& vfs_ = testing::FaultInjectingVfs::Instance();
};

TEST_F(GroupCommitWriterFaultTest, FailedCommitFailsTheWholeBatchAndLeavesAFaultUntilACommitSucceeds) {
  ASSERT_TRUE(writer_->Write(Insert(1, 0)).ok());
  EXPECT_FALSE(writer_->LastFault().has_value());

  Gate gate;
  auto held = writer_->Submit(gate.Hold());
  gate.WaitEntered();
  std::vector<WriteTicket> batch;
  for (int i = 1; i <= 5; ++i) batch.push_back(writer_->Submit(Insert(1, i)));
  vfs_.FailWalWrites(true);
  gate.Release();
  ASSERT_TRUE(held.Wait().ok());  // it changed nothing: its commit wrote nothing
  for (auto& ticket : batch) {
    const Status st = ticket.Wait();
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find("committing the write transaction failed"), std::string::npos) << st.ToString();
  }
  EXPECT_GT(vfs_.failed_writes(), 0);

  const std::optional<WriterFault> first = writer_->LastFault();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->failed_commits, 1u);
  EXPECT_EQ(first->error.code(), StatusCode::kUnavailable);
  EXPECT_EQ(first->since, first->last);

  // It lasts: another failure counts and keeps the time it began.
  EXPECT_EQ(writer_->Write(Insert(2, 0)).code(), StatusCode::kUnavailable);
  const std::optional<WriterFault> second = writer_->LastFault();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->failed_commits, 2u);
  EXPECT_EQ(second->since, first->since);
  EXPECT_EQ(MetricValue("\ncloister_writer_failed_commits_total"), 2) << metrics_.Render();

  // The disk recovers: the next commit clears the fault.
  vfs_.FailWalWrites(false);
  ASSERT_TRUE(writer_->Write(Insert(3, 0)).ok());
  EXPECT_FALSE(writer_->LastFault().has_value());
  writer_.reset();
  EXPECT_EQ(Rows(), (std::set<std::pair<int64_t, int64_t>>{{1, 0}, {3, 0}}));
}

// Units that fail alone, or hooks that throw, are the units' business: the
// writer itself is fine.
TEST_F(GroupCommitWriterFaultTest, FailingUnitsAndThrowingHooksLeaveNoWriterFault) {
  EXPECT_EQ(writer_->Write([](Transaction&) { return Status::Conflict("refused"); }).code(), StatusCode::kConflict);
  EXPECT_TRUE(writer_->Write([](Transaction& tx) {
    tx.OnCommit([] { throw std::runtime_error("notification failed"); });
    return Insert(4, 1)(tx);
  }).ok());
  EXPECT_FALSE(writer_->LastFault().has_value());
}

TEST_F(GroupCommitWriterFaultTest, FullQueueRefusesAtOnceAsOverloadedThenAcceptsOnceDrained) {
  WriterOptions options;
  options.max_queued_units = 4;
  Reopen(options);
  Gate gate;
  auto held = writer_->Submit(gate.Hold());  // running, so not queued
  gate.WaitEntered();
  std::vector<WriteTicket> queued;
  for (int i = 0; i < 4; ++i) queued.push_back(writer_->Submit(Insert(5, i)));

  WriteTicket refused = writer_->Submit(Insert(5, 99));
  auto answer = std::async(std::launch::async, [&] { return refused.Wait(); });
  const bool at_once = answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  gate.Release();  // lets the test end either way
  ASSERT_TRUE(at_once) << "a submit to a full queue waited instead of being refused";
  const Status st = answer.get();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ(st.reason(), "overloaded") << st.ToString();
  EXPECT_EQ(MetricValue("\ncloister_writer_refused_total"), 1) << metrics_.Render();

  ASSERT_TRUE(held.Wait().ok());
  for (auto& ticket : queued) EXPECT_TRUE(ticket.Wait().ok());
  EXPECT_TRUE(writer_->Write(Insert(5, 100)).ok());  // drained: accepted again
  EXPECT_FALSE(writer_->LastFault().has_value());    // refusing is not failing
  writer_.reset();
  EXPECT_EQ(Rows().size(), 5u);
}

}  // namespace
}  // namespace cloister
