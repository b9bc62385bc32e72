// runtime_bench: runs/s of the runtime executing a 3-step automation
// (transform, condition, http POST to a local HTTPS service) with 8 workers,
// against, in the same run, a plain loop making the same HTTPS calls through
// the same egress-checked client from 8 threads. Also prints the time from a
// run's trigger to the start of its first step with an idle queue (p50,
// p99) and the resident memory with 10,000 runs queued. Every run is durable:
// each attempt and the run's progress are committed with their audit events
// in the encrypted database, as in cloisterd.
//
// Targets: runtime >= 0.5 of the plain loop; trigger-to-first-step p99 < 50
// ms; RSS with 10,000 queued runs < 200 MB.
//
// Usage: runtime_bench [runs]   (default 20000; build in Release: make bench)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/random.h"
#include "appliance/runtime/run_service.h"
#include "appliance/runtime/run_workers.h"
#include "appliance/server/schema.h"
#include "appliance/storage/group_commit_writer.h"
#include "appliance/storage/migrator.h"
#include "governance/environments/environment_config.h"
#include "governance/environments/environment_store.h"
#include "governance/policy/policy_engine.h"
#include "governance/promotion/automation_service.h"
#include "tests/support/local_service.h"

namespace cloister {
namespace {

constexpr int kThreads = 8;

void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "runtime_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

double RssMb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

struct Bench {
  std::string dir;
  SystemClock clock;
  SystemRandom random;
  std::unique_ptr<GroupCommitWriter> writer;
  std::unique_ptr<ReadPool> reads;
  std::unique_ptr<AuditLedger> ledger;
  std::unique_ptr<policy::PolicyEngine> policies;
  std::unique_ptr<promotion::ServiceDeps> deps;
  std::unique_ptr<testing::LocalService> service;
  runtime::SystemResolver resolver;
  runtime::RuntimeOptions options;

  void Open() {
    auto key = SecureBytes::Generate(random, 32);
    if (!key.ok()) Die("key", key.status());
    const std::string path = dir + "/cloister.db";
    ConnectionOptions create;
    create.create = true;
    auto conn = Connection::Open(path, *key, create);
    if (!conn.ok()) Die("database", conn.status());
    auto migrations = ApplianceMigrations();
    if (!migrations.ok() || !Migrate(**conn, *migrations, clock).ok())
      Die("migrations", migrations.status());
    writer = std::make_unique<GroupCommitWriter>(std::move(conn).value(), WriterOptions{}, clock,
                                                 nullptr);
    auto pool = ReadPool::Open(path, *key, 4);
    if (!pool.ok()) Die("read pool", pool.status());
    reads = std::move(pool).value();
    ledger = std::make_unique<AuditLedger>(clock);
    auto engine = policy::PolicyEngine::Open("");
    if (!engine.ok()) Die("policies", engine.status());
    policies = std::move(engine).value();
    deps.reset(new promotion::ServiceDeps{
        *writer, *reads, *ledger, clock, random, [this] { return policies->current(); },
        policy::EvalLimits{}, [](const std::string& id) { return id; },
        &runtime::RunStore::EvidenceFor});
    service = std::make_unique<testing::LocalService>(dir);
    service->Script("/score", {{200, R"({"score": 7})"}});

    const Status setup = writer->Write([&](Transaction& tx) -> Status {
      CL_RETURN_IF_ERROR(CreateEnvironments(tx, {"dev", "test", "prod"}, clock));
      EnvironmentSettings settings;
      settings.egress_allow = {"localhost"};
      settings.ca_bundle = service->CaPem();
      return SetSettings(tx, "dev", settings, "usr_bench", clock);
    });
    if (!setup.ok()) Die("environments", setup);
    promotion::Caller author;
    author.audit.actor = {"user", "usr_bench", "bench"};
    author.roles = {"admin"};
    const std::string source =
        "apiVersion: cloister/v1\nkind: Automation\nmetadata:\n  name: score\n"
        "  description: Scores an item.\n  owner: bench\n  data_classification: internal\n"
        "trigger:\n  type: manual\ninputs:\n  n: {type: integer, default: 1}\nsteps:\n"
        "  - id: prepare\n    type: transform\n    output: {n: \"${inputs.n}\"}\n"
        "  - id: check\n    type: condition\n    expression: steps.prepare.output.n >= 0\n"
        "    then: call\n"
        "  - id: call\n    type: http\n    method: POST\n    url: " +
        service->Url("/score") + "\n    body: {n: \"${steps.prepare.output.n}\"}\n";
    promotion::AutomationService automations(*deps);
    auto saved = automations.Save(author, "score", source, "");
    if (!saved.ok()) Die("saving the automation", saved.status());
    options.workers = kThreads;
    options.limits = {kThreads, kThreads};
    options.max_queued_per_automation = 1000000;
  }

  // The same HTTPS calls as the runs make, from kThreads threads.
  double PlainLoop(int calls) {
    runtime::HttpCaller caller(runtime::EgressPolicy{{"localhost"}, 0, {}}, resolver);
    const std::string ca = service->CaPem();
    std::atomic<int> failed{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < calls; i += kThreads) {
          runtime::HttpCall call;
          call.method = "POST";
          call.url = service->Url("/score");
          call.body = R"({"n":1})";
          call.headers = {{"Content-Type", "application/json"},
                          {"Idempotency-Key", "k" + std::to_string(i)}};
          call.ca_bundle_pem = ca;
          auto answer = caller.Call(call);
          if (!answer.ok() || answer->status != 200) ++failed;
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failed)
      Die("plain loop", Status::Internal(std::to_string(failed.load()) + " calls failed"));
    return calls / Seconds(std::chrono::steady_clock::now() - start);
  }

  runtime::TriggerRequest Request() {
    runtime::TriggerRequest req;
    req.environment = "dev";
    req.automation = "score";
    req.triggered_by = "usr_bench";
    req.by.actor = {"user", "usr_bench", "bench"};
    return req;
  }

  int64_t Count(const char* state) {
    auto n = reads->Read<int64_t>([&](ReadView db) {
      return db.Select("runs", "SELECT COUNT(*) FROM runs WHERE state = ?")
          .Bind(1, state)
          .ReadInt();
    });
    if (!n.ok()) Die("counting runs", n.status());
    return *n;
  }

  // Triggers `runs` runs from 2 threads while 8 workers execute them.
  double Runtime(int runs) {
    runtime::RunWorkers workers(*deps, options, resolver, nullptr, Logger("bench"));
    runtime::RunService service_api(*deps, options, [&workers] { workers.Wake(); });
    if (Status st = workers.Start(); !st.ok()) Die("workers", st);
    const int64_t before = Count("succeeded");
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> triggers;
    for (int t = 0; t < 2; ++t) {
      triggers.emplace_back([&, t] {
        for (int i = t; i < runs; i += 2) {
          auto started = service_api.Trigger(Request());
          if (!started.ok()) Die("trigger", started.status());
        }
      });
    }
    for (auto& t : triggers) t.join();
    while (Count("succeeded") - before < runs) {
      if (Count("failed") > 0) Die("runs", Status::Internal("a run failed"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const double rate = runs / Seconds(std::chrono::steady_clock::now() - start);
    workers.Stop();
    return rate;
  }

  // Trigger to first step, one run at a time on an idle queue.
  std::pair<double, double> Latency(int samples) {
    runtime::RunWorkers workers(*deps, options, resolver, nullptr, Logger("bench"));
    runtime::RunService service_api(*deps, options, [&workers] { workers.Wake(); });
    if (Status st = workers.Start(); !st.ok()) Die("workers", st);
    std::vector<double> ms;
    for (int i = 0; i < samples; ++i) {
      auto started = service_api.Trigger(Request());
      if (!started.ok()) Die("trigger", started.status());
      for (;;) {
        auto detail = service_api.Get(started->run.id);
        if (!detail.ok()) Die("reading a run", detail.status());
        if (!detail->attempts.empty() && runtime::IsTerminal(detail->run.state)) {
          const auto queued = ParseTimestamp(detail->run.queued_at);
          const auto first = ParseTimestamp(detail->attempts.front().started_at);
          ms.push_back(std::chrono::duration<double, std::milli>(*first - *queued).count());
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    }
    workers.Stop();
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
  }

  // Resident memory with `queued` runs waiting (no workers).
  double QueuedRss(int queued) {
    runtime::RunService service_api(*deps, options, nullptr);
    for (int i = 0; i < queued; ++i) {
      auto started = service_api.Trigger(Request());
      if (!started.ok()) Die("trigger", started.status());
    }
    if (Count("queued") < queued) Die("queue", Status::Internal("runs missing from the queue"));
    return RssMb();
  }
};

}  // namespace
}  // namespace cloister

int main(int argc, char** argv) {
  using namespace cloister;
  const int runs = argc > 1 ? std::atoi(argv[1]) : 20000;
  char dir_template[] = "/tmp/cloister-runtime-bench-XXXXXX";
  Bench bench;
  bench.dir = mkdtemp(dir_template);
  bench.Open();
  std::printf(
      "runtime_bench: %d runs of transform -> condition -> http POST (HTTPS, local service), "
      "%d workers, SQLCipher, every attempt durable with its audit events\n",
      runs, kThreads);
  const double plain = bench.PlainLoop(runs);
  std::printf("  plain loop, the same HTTPS calls from %d threads : %9.0f calls/s\n", kThreads,
              plain);
  const double rate = bench.Runtime(runs);
  std::printf("  runtime, %d workers                               : %9.0f runs/s\n", kThreads,
              rate);
  const auto [p50, p99] = bench.Latency(200);
  std::printf("  trigger to first step, idle queue (200 runs)      : p50 %.1f ms, p99 %.1f ms\n",
              p50, p99);
  const double rss = bench.QueuedRss(10000);
  std::printf("  resident memory with 10,000 runs queued           : %.0f MB\n", rss);
  const double ratio = rate / plain;
  std::printf("ratio runtime / plain loop: %.2f  (target >= 0.50) %s\n", ratio,
              ratio >= 0.5 ? "met" : "NOT MET");
  std::printf("trigger to first step p99 : %.1f ms (target < 50 ms) %s\n", p99,
              p99 < 50 ? "met" : "NOT MET");
  std::printf("RSS, 10,000 runs queued   : %.0f MB (target < 200 MB) %s\n", rss,
              rss < 200 ? "met" : "NOT MET");
  bench.service.reset();
  std::filesystem::remove_all(bench.dir);
  return 0;
}
