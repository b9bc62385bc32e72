// writer_bench: durable units/s of the group-commit writer against, in the
// same run and on the same rows, (a) the same writer committing each unit on
// its own and (b) a raw SQLCipher insert loop committing 1,000 rows per
// transaction. Prints the ratios and whether the targets are met:
//   group commit >= 20x one-commit-per-unit, >= 50% of the raw batched loop.
//
// Usage: writer_bench [units]   (default 200000; build in Release)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/storage/group_commit_writer.h"

namespace cloister {
namespace {

constexpr int kThreads = 8;
constexpr size_t kWindow = 64;  // units each thread keeps in flight, like concurrent requests
constexpr char kSchema[] = "CREATE TABLE rows (id INTEGER PRIMARY KEY, thread INTEGER, i INTEGER, payload TEXT)";
constexpr char kInsert[] = "INSERT INTO rows (thread, i, payload) VALUES (?, ?, ?)";
const std::string kPayload(260, 'x');  // ~300-byte rows

struct Bench {
  std::string dir;
  SecureBytes key;
  SystemClock clock;
  int run = 0;

  std::unique_ptr<Connection> Fresh() {
    const std::string path = dir + "/bench-" + std::to_string(run++) + ".db";
    ConnectionOptions options;
    options.create = true;
    auto conn = Connection::Open(path, key, options);
    if (!conn.ok() || !(*conn)->Exec(kSchema).ok()) {
      std::fprintf(stderr, "cannot create %s: %s\n", path.c_str(), conn.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(conn).value();
  }

  double Writer(size_t units, size_t max_batch) {
    Metrics metrics;
    DescribeWriterMetrics(metrics);
    std::optional<GroupCommitWriter> writer_holder;
    writer_holder.emplace(Fresh(), WriterOptions{max_batch}, clock, &metrics);
    GroupCommitWriter& writer = *writer_holder;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<size_t> failed{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::deque<WriteTicket> in_flight;
        for (size_t i = t; i < units; i += kThreads) {
          in_flight.push_back(writer.Submit([t, i](Transaction& tx) -> Status {
            CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(kInsert));
            return s->Bind(1, int64_t{t}).Bind(2, static_cast<int64_t>(i)).Bind(3, kPayload).Run();
          }));
          if (in_flight.size() >= kWindow) {
            failed += !in_flight.front().Wait().ok();
            in_flight.pop_front();
          }
        }
        for (auto& f : in_flight) failed += !f.Wait().ok();
      });
    }
    for (auto& th : threads) th.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    writer_holder.reset();
    last_batches = BatchCount(metrics);
    if (failed) std::fprintf(stderr, "%zu units failed\n", failed.load());
    return static_cast<double>(units) / seconds;
  }

  static double BatchCount(const Metrics& m) {
    const std::string text = m.Render();
    const std::string key = "cloister_writer_batch_units_count ";
    const size_t at = text.find(key);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + key.size()));
  }
  double last_batches = 0;

  double RawLoop(size_t rows) {
    auto conn = Fresh();
    auto stmt = *conn->Prepare(kInsert);
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < rows;) {
      if (!conn->Exec("BEGIN IMMEDIATE").ok()) std::exit(1);
      for (size_t k = 0; k < 1000 && i < rows; ++k, ++i) {
        stmt->Reset();
        if (!stmt->Bind(1, static_cast<int64_t>(i % kThreads)).Bind(2, static_cast<int64_t>(i)).Bind(3, kPayload).Run().ok()) {
          std::exit(1);
        }
      }
      if (!conn->Exec("COMMIT").ok()) std::exit(1);
    }
    return static_cast<double>(rows) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

}  // namespace
}  // namespace cloister

int main(int argc, char** argv) {
  using namespace cloister;
  const size_t units = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
  const size_t single_units = std::max<size_t>(units / 50, 2000);
  char dir_template[] = "/tmp/cloister-writer-bench-XXXXXX";
  Bench bench{mkdtemp(dir_template), SecureBytes(32), {}, 0};
  SystemRandom random;
  if (!random.Fill(bench.key.data(), bench.key.size()).ok()) return 1;

  std::printf("writer_bench: %d submitting threads, %zu units in flight each, ~300-byte rows, "
              "WAL, synchronous=FULL, SQLCipher\n", kThreads, kWindow);
  const double raw = bench.RawLoop(units);
  std::printf("  raw SQLCipher insert loop, 1000 rows/commit : %10.0f rows/s  (%zu rows)\n", raw, units);
  const double single = bench.Writer(single_units, 1);
  std::printf("  writer, one commit per unit                 : %10.0f units/s (%zu units)\n", single, single_units);
  const double group = bench.Writer(units, WriterOptions{}.max_batch);
  std::printf("  writer, group commit                        : %10.0f units/s (%zu units, %.0f units/commit)\n",
              group, units, units / bench.last_batches);

  const double vs_single = group / single;
  const double vs_raw = group / raw;
  std::printf("ratio group commit / one commit per unit: %6.1fx  (target >= 20x)  %s\n", vs_single,
              vs_single >= 20 ? "met" : "NOT MET");
  std::printf("ratio group commit / raw batched loop   : %6.2f   (target >= 0.50) %s\n", vs_raw,
              vs_raw >= 0.5 ? "met" : "NOT MET");
  std::filesystem::remove_all(bench.dir);
  return 0;
}
