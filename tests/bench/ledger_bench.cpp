// ledger_bench: the audit ledger's speed, as ratios against baselines
// measured in the same run.
//   1. durable appends/s through the writer (8 threads) vs the raw batched
//      SQLCipher insert loop of writer_bench (target >= 40%);
//   2. full-ledger verification of 1M events, events/s, vs raw SHA-256 over
//      the same bytes (target >= 500,000 events/s);
//   3. inclusion and consistency proof generation at 1M events (target < 1 ms).
//
// Usage: ledger_bench [events]   (default 1000000; build in Release)
// BENCH_THREADS and BENCH_WINDOW change the submitting threads (8) and the
// units each keeps in flight (64).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "appliance/server/schema.h"
#include "appliance/storage/group_commit_writer.h"
#include "appliance/storage/migrator.h"
#include "appliance/storage/read_pool.h"
#include "audit/checkpointer.h"
#include "audit/ledger_verifier.h"

namespace cloister {
namespace {

static int kThreads = std::getenv("BENCH_THREADS") ? std::atoi(std::getenv("BENCH_THREADS")) : 8;
static size_t kWindow = std::getenv("BENCH_WINDOW") ? std::strtoul(std::getenv("BENCH_WINDOW"), nullptr, 10) : 64;

using Seconds = std::chrono::duration<double>;
double Since(std::chrono::steady_clock::time_point t) { return Seconds(std::chrono::steady_clock::now() - t).count(); }

void Check(const Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

// A typical event: an authenticated API request.
AuditRecord Record(uint64_t i) {
  AuditRecord r;
  r.action = "auth.token";
  r.actor = {"token", "tok_4f1c2a9b8e7d6c5b", "deploy pipeline"};
  r.request_id = "7d0c6f0e2b1a49c8a3f5e6d7c8b9a0f1";
  r.request_ip = "10.20.30.40";
  r.details = {{"method", "GET"}, {"path", "/v1/environments"}, {"n", i}};
  return r;
}

struct Db {
  std::string path;
  SecureBytes key;
  SystemClock clock;

  std::unique_ptr<Connection> Open(bool create) {
    ConnectionOptions o;
    o.create = create;
    auto conn = Connection::Open(path, key, o);
    Check(conn.status(), "open");
    return std::move(conn).value();
  }
};

double RawLoop(Db& db, size_t rows) {
  auto conn = db.Open(true);
  Check(conn->Exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, thread INTEGER, i INTEGER, payload TEXT)"), "schema");
  auto stmt = *conn->Prepare("INSERT INTO rows (thread, i, payload) VALUES (?, ?, ?)");
  const std::string payload(260, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rows;) {
    Check(conn->Exec("BEGIN IMMEDIATE"), "begin");
    for (size_t k = 0; k < 1000 && i < rows; ++k, ++i) {
      stmt->Reset();
      Check(stmt->Bind(1, static_cast<int64_t>(i % kThreads)).Bind(2, static_cast<int64_t>(i)).Bind(3, payload).Run(), "insert");
    }
    Check(conn->Exec("COMMIT"), "commit");
  }
  return static_cast<double>(rows) / Since(start);
}

// Records are built before the clock starts, as the raw loop's rows are;
// preparing each event (validation, canonical bytes, hashing) is timed, on
// the submitting threads, where AuditService::Record does it.
double Appends(GroupCommitWriter& writer, AuditLedger& ledger, size_t events) {
  std::vector<AuditRecord> records;
  records.reserve(events);
  for (size_t i = 0; i < events; ++i) records.push_back(Record(i));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::deque<WriteTicket> in_flight;
      for (size_t i = t; i < events; i += kThreads) {
        // As in the appliance (AuditService::Record): the request's thread
        // prepares the event, the writer appends it.
        in_flight.push_back(writer.Submit([&ledger, event = *PreparedEvent::Prepare(records[i])](Transaction& tx) {
          return ledger.Append(tx, event).status();
        }));
        if (in_flight.size() >= kWindow) {
          Check(in_flight.front().Wait(), "append");
          in_flight.pop_front();
        }
      }
      for (auto& f : in_flight) Check(f.Wait(), "append");
    });
  }
  for (auto& th : threads) th.join();
  return static_cast<double>(events) / Since(start);
}

// Grows the ledger to `total` events quickly: many appends per unit.
void Fill(GroupCommitWriter& writer, AuditLedger& ledger, size_t from, size_t total) {
  for (size_t i = from; i < total;) {
    const size_t n = std::min<size_t>(5000, total - i);
    Check(writer.Write([&, i, n](Transaction& tx) -> Status {
      for (size_t k = 0; k < n; ++k) CL_RETURN_IF_ERROR(ledger.Append(tx, Record(i + k)).status());
      return Status::Ok();
    }), "fill");
    i += n;
  }
}

}  // namespace
}  // namespace cloister

int main(int argc, char** argv) {
  using namespace cloister;
  const size_t total = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
  const size_t append_events = std::min<size_t>(total, 200000);
  char tmpl[] = "/tmp/cloister-ledger-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  SystemRandom random;
  Db raw{dir + "/raw.db", SecureBytes(32), {}}, led{dir + "/ledger.db", SecureBytes(32), {}};
  Check(random.Fill(raw.key.data(), 32), "random");
  Check(random.Fill(led.key.data(), 32), "random");
  std::printf("ledger_bench: %zu-event ledger, %d submitting threads x %zu in flight, SQLCipher, WAL, synchronous=FULL\n",
              total, kThreads, kWindow);

  // 1. Appends vs the raw insert loop.
  const double raw_rate = RawLoop(raw, append_events);
  auto conn = led.Open(true);
  auto migrations = ApplianceMigrations();
  Check(migrations.status(), "schema");
  Check(Migrate(*conn, *migrations, led.clock).status(), "migrate");
  auto writer = std::make_unique<GroupCommitWriter>(std::move(conn), WriterOptions{}, led.clock, nullptr);
  AuditLedger ledger(led.clock);
  const double append_rate = Appends(*writer, ledger, append_events);
  std::printf("  raw SQLCipher insert loop, 1000 rows/commit : %10.0f rows/s\n", raw_rate);
  std::printf("  ledger appends through the writer           : %10.0f events/s (%zu events)\n", append_rate, append_events);
  std::printf("ratio appends / raw insert loop: %.2f  (target >= 0.40) %s\n", append_rate / raw_rate,
              append_rate / raw_rate >= 0.40 ? "met" : "NOT MET");

  // Grow to the full size (many appends per unit) and sign a checkpoint.
  const auto fill_start = std::chrono::steady_clock::now();
  Fill(*writer, ledger, append_events, total);
  std::printf("  ledger appends, 5000 per unit (one thread)  : %10.0f events/s\n",
              static_cast<double>(total - append_events) / Since(fill_start));
  auto reads = *ReadPool::Open(led.path, led.key, 2);
  verify::NoteSigner signer;
  std::string error;
  if (!signer.Init("bench/audit", std::array<uint8_t, 32>{1}, &error)) return 1;
  {
    Checkpointer cp(*writer, *reads, ledger, signer, led.clock, Logger("bench"), {std::chrono::hours(1), std::chrono::hours(1)});
    Check(cp.SignNow().status(), "checkpoint");
  }
  verify::VerifierKey key;
  verify::ParseVerifierKey(signer.verifier_key(), &key, &error);

  // 2. Full verification vs raw SHA-256 over the same bytes.
  std::vector<std::string> data;
  data.reserve(total);
  reads->Read([&](ReadView db) -> Status {
    for (uint64_t from = 0; from < total; from += 100000) {
      CL_ASSIGN_OR_RETURN(auto events, AuditLedger::Events(db, from, total - 1, 100000));
      for (auto& e : events) data.push_back(std::move(e.data));
    }
    return Status::Ok();
  });
  auto t0 = std::chrono::steady_clock::now();
  uint8_t sink = 0;
  for (const auto& d : data) sink ^= verify::Sha256(d)[0];
  const double sha_rate = static_cast<double>(data.size()) / Since(t0);
  t0 = std::chrono::steady_clock::now();
  auto report = reads->Read<LedgerReport>([&](ReadView db) { return VerifyLedger(db, key, false); });
  const double verify_rate = static_cast<double>(total) / Since(t0);
  Check(report.status(), "verify");
  if (!report->ok) std::fprintf(stderr, "verification failed: %s\n", report->problem.c_str());
  std::printf("  raw SHA-256 over the event bytes            : %10.0f events/s (sink %u)\n", sha_rate, sink);
  std::printf("  full-ledger verification                    : %10.0f events/s (%llu events, %llu checkpoints)\n",
              verify_rate, static_cast<unsigned long long>(report->events_checked),
              static_cast<unsigned long long>(report->checkpoints_checked));
  std::printf("ratio verification / raw SHA-256: %.2f; %s 500,000 events/s target\n", verify_rate / sha_rate,
              verify_rate >= 500000 ? "meets the" : "BELOW the");

  // 3. Proof generation at full size.
  std::mt19937_64 rng(7);
  const int kProofs = 2000;
  double inclusion_total = 0, consistency_total = 0, lookup_total = 0;
  reads->Read([&](ReadView db) -> Status {
    auto mth = [&](uint64_t b, uint64_t e) { return *AuditLedger::SubtreeHash(db, b, e); };
    for (int i = 0; i < kProofs; ++i) {
      const uint64_t seq = rng() % total;
      auto t = std::chrono::steady_clock::now();
      auto leaf = AuditLedger::LeafHash(db, seq);
      lookup_total += Since(t);
      t = std::chrono::steady_clock::now();
      auto proof = verify::InclusionProof(seq, total, mth);
      inclusion_total += Since(t);
      t = std::chrono::steady_clock::now();
      auto cproof = verify::ConsistencyProof(1 + rng() % (total - 1), total, mth);
      consistency_total += Since(t);
      if (proof.empty() || !leaf.ok()) return Status::Internal("no proof");
    }
    return Status::Ok();
  });
  const double inclusion_us = inclusion_total / kProofs * 1e6;
  std::printf("  inclusion proof at %zu events               : %8.1f us (one leaf lookup: %.1f us, ratio %.0fx)\n", total,
              inclusion_us, lookup_total / kProofs * 1e6, inclusion_total / lookup_total);
  std::printf("  consistency proof at %zu events             : %8.1f us\n", total, consistency_total / kProofs * 1e6);
  std::printf("inclusion proof: %.3f ms (target < 1 ms) %s\n", inclusion_us / 1000, inclusion_us < 1000 ? "met" : "NOT MET");
  writer.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
