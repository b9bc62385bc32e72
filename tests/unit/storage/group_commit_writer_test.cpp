#include "appliance/storage/group_commit_writer.h"

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "appliance/storage/read_pool.h"
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

}  // namespace
}  // namespace cloister
