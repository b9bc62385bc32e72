// Runs over HTTPS against a real cloisterd, calling a real local HTTPS
// service: manual triggers with typed inputs and idempotency keys; http,
// transform and condition steps; retries, timeouts and the Idempotency-Key
// the service sees; egress refusals; secrets that never reach history, the
// ledger, logs or metrics; cancellation; a version that stays fixed while a
// run executes; and kill -9 during runs, after which every run finishes
// exactly once and the ledger verifies.
#include <chrono>
#include <set>
#include <thread>

#include "appliance/core/files.h"
#include "appliance/storage/rows.h"
#include "tests/integration/identity_test_support.h"
#include "tests/support/local_service.h"

namespace cloister::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kRuntimeConfig =
    "runtime:\n  workers: 4\n  retry_base_ms: 20\n  retry_max_ms: 200\n  lease_seconds: 30\n";
constexpr const char* kSecret = "tok-9f8e7d6c5b4a-never-stored";

class RuntimeApiTest : public IdentityFixture {
 protected:
  void SetUp() override {
    Boot(std::string(kDefaultAuth) + kRuntimeConfig);
    Configure({"localhost"});
    ASSERT_EQ(Admin("PUT", "/v1/environments/dev/secrets/erp_token", {{"value", kSecret}}).status,
              200);
    ASSERT_EQ(Admin("PUT", "/v1/environments/dev/variables/region", {{"value", "eu"}}).status, 200);
  }
  ApiResponse Admin(const std::string& method, const std::string& path, const Json& body = nullptr,
                    const std::map<std::string, std::string>& headers = {}) {
    return Call(method, path, body, admin_token_, headers);
  }
  void Configure(const std::vector<std::string>& egress) {
    const ApiResponse r = Admin("PUT", "/v1/environments/dev/settings",
                                {{"egress_allow", egress},
                                 {"model_endpoints", Json::array()},
                                 {"ca_bundle", svc_.CaPem()}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string Save(const std::string& name, const std::string& steps,
                   const std::string& inputs = "") {
    const std::string source =
        "apiVersion: cloister/v1\nkind: Automation\nmetadata:\n  name: " + name +
        "\n  description: A runtime test automation.\n  owner: qa\n  data_classification: "
        "internal\ntrigger:\n  type: manual\n" +
        (inputs.empty() ? "" : "inputs:\n" + inputs) + "steps:\n" + steps;
    const ApiResponse r = Admin("PUT", "/v1/automations/" + name, {{"source", source}});
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.body;
    return r.json().value("version", "");
  }
  ApiResponse Start(const std::string& name, const Json& inputs = Json::object(),
                    const std::string& key = "") {
    Json body = {{"inputs", inputs}};
    if (!key.empty()) body["idempotency_key"] = key;
    return Admin("POST", "/v1/environments/dev/automations/" + name + "/runs", body);
  }
  // Polls the run until it ends (or `timeout`); the last view.
  Json Wait(const std::string& id, milliseconds timeout = milliseconds(20000)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    Json run;
    while (std::chrono::steady_clock::now() < until) {
      const ApiResponse r = Admin("GET", "/v1/runs/" + id);
      EXPECT_EQ(r.status, 200) << r.body << server_.console_log();
      if (r.status != 200) return run;
      run = r.json();
      const std::string state = run.value("state", "");
      if (state != "queued" && state != "running" && state != "waiting") return run;
      std::this_thread::sleep_for(milliseconds(25));
    }
    ADD_FAILURE() << "run " << id << " did not end: " << run.dump();
    return run;
  }
  Json StartAndWait(const std::string& name, const Json& inputs = Json::object()) {
    const ApiResponse r = Start(name, inputs);
    EXPECT_EQ(r.status, 201) << r.body;
    return Wait(r.json().value("id", ""));
  }
  std::string Http(const std::string& id, const std::string& path, const std::string& extra = "") {
    return "  - id: " + id + "\n    type: http\n    url: " + svc_.Url(path) + "\n" + extra;
  }

  // The events whose target is run `id`, in order (`action` only, when set).
  std::vector<Json> RunEvents(const std::string& id, const std::string& action = "") {
    std::vector<Json> out;
    for (const Json& e : Events(action.empty() ? "" : "action=" + action)) {
      if (e.contains("target") && e["target"].value("id", "") == id) out.push_back(e);
    }
    return out;
  }

  LocalService svc_{dir_.path()};
};

TEST_F(RuntimeApiTest, ManualRunCallsTheServiceAndRecordsEveryStep) {
  svc_.Script("/invoices/INV-7", {{200, R"({"label": "urgent", "amount": 1200, "score": 0.93})"}});
  svc_.Script("/urgent", {{200, R"({"ok": true})"}});
  const std::string version = Save(
      "triage",
      Http("fetch", "/invoices/${inputs.invoice_id}",
           "    headers:\n      Authorization: \"Bearer ${secrets.erp_token}\"\n    params:\n      "
           "region: "
           "${vars.region}\n") +
          "  - id: shape\n    type: transform\n    output:\n      invoice: ${inputs.invoice_id}\n  "
          "    amount: "
          "${steps.fetch.output.amount}\n      big: \"${= steps.fetch.output.amount > "
          "inputs.limit}\"\n"
          "  - id: is-urgent\n    type: condition\n    expression: steps.fetch.output.label == "
          "\"urgent\" && "
          "steps.shape.output.big\n    then: page\n    else: done\n" +
          Http("page", "/urgent",
               "    method: POST\n    body:\n      invoice: ${inputs.invoice_id}\n") +
          "  - id: done\n    type: transform\n    output: {finished: true}\n",
      "  invoice_id: {type: string, required: true}\n  limit: {type: integer, default: 1000}\n");

  const ApiResponse started = Start("triage", {{"invoice_id", "INV-7"}});
  ASSERT_EQ(started.status, 201) << started.body;
  const Json s = started.json();
  EXPECT_EQ(s["state"], "queued");
  EXPECT_EQ(s["automation"], "triage");
  EXPECT_EQ(s["environment"], "dev");
  EXPECT_EQ(s["version"], version);
  EXPECT_EQ(s["trigger"], "manual");
  const Json run = Wait(s["id"]);
  ASSERT_EQ(run["state"], "succeeded") << run.dump(2);
  EXPECT_EQ(run["inputs"], Json({{"invoice_id", "INV-7"}, {"limit", 1000}}));
  ASSERT_EQ(run["steps"].size(), 5u);
  EXPECT_EQ(run["steps"][1]["attempts"][0]["output"],
            Json({{"invoice", "INV-7"}, {"amount", 1200}, {"big", true}}));
  EXPECT_EQ(run["steps"][2]["attempts"][0]["output"], Json({{"result", true}}));
  EXPECT_EQ(run["steps"][4]["state"], "succeeded");

  const auto fetched = svc_.Requests("/invoices/INV-7");
  ASSERT_EQ(fetched.size(), 1u);
  EXPECT_EQ(fetched[0].target, "/invoices/INV-7?region=eu");
  EXPECT_EQ(fetched[0].headers.at("authorization"), std::string("Bearer ") + kSecret);
  EXPECT_EQ(fetched[0].headers.at("idempotency-key"), s["id"].get<std::string>() + ".fetch");
  const auto paged = svc_.Requests("/urgent");
  ASSERT_EQ(paged.size(), 1u);
  EXPECT_EQ(paged[0].method, "POST");
  EXPECT_EQ(ParseJson(paged[0].body).value(), Json({{"invoice", "INV-7"}}));

  const std::vector<Json> events = RunEvents(s["id"]);
  std::vector<std::string> actions;
  for (const Json& e : events) actions.push_back(e["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"run.start", "run.step", "run.step", "run.step",
                                               "run.step", "run.step", "run.finish"}));
  ASSERT_GE(events.size(), 2u);
  const Json& step = events[1];
  EXPECT_EQ(step["env"], "dev");
  EXPECT_EQ(step["details"]["version"], version);
  EXPECT_EQ(step["details"]["status"], 200);
  EXPECT_EQ(step["details"]["response_sha256"].get<std::string>().size(), 64u);
}

TEST_F(RuntimeApiTest, InputsAreCheckedAgainstTheDefinition) {
  Save("typed", "  - id: t\n    type: transform\n    output: {n: \"${inputs.count}\"}\n",
       "  count: {type: integer, required: true}\n  flag: {type: boolean, default: false}\n");
  ApiResponse r = Start("typed", Json::object());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["code"], "invalid_inputs") << r.body;
  r = Start("typed", {{"count", "many"}});
  EXPECT_EQ(r.json()["error"]["code"], "invalid_inputs") << r.body;
  r = Start("typed", {{"count", 1}, {"colour", "red"}});
  EXPECT_EQ(r.json()["error"]["code"], "invalid_inputs") << r.body;
  EXPECT_NE(r.body.find("colour"), std::string::npos);
  // Text that reads as the declared type is taken, as the command line sends it.
  r = Start("typed", {{"count", "5"}, {"flag", "true"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const Json run = Wait(r.json()["id"]);
  EXPECT_EQ(run["inputs"], Json({{"count", 5}, {"flag", true}}));
  EXPECT_EQ(run["steps"][0]["attempts"][0]["output"], Json({{"n", 5}}));
  // Refusals are recorded.
  EXPECT_GE(Events("action=run.start&outcome=denied").size(), 3u);
  r = Start("nothing-live", Json::object());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"]["code"], "not_live");
}

TEST_F(RuntimeApiTest, AnIdempotencyKeyNeverStartsASecondRun) {
  Save("once", "  - id: t\n    type: transform\n    output: {x: 1}\n",
       "  n: {type: integer, default: 1}\n");
  const ApiResponse first = Start("once", {{"n", 1}}, "order-42");
  ASSERT_EQ(first.status, 201) << first.body;
  const ApiResponse again = Start("once", {{"n", 1}}, "order-42");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["id"], first.json()["id"]);
  EXPECT_EQ(again.json()["created"], false);
  const ApiResponse other = Start("once", {{"n", 2}}, "order-42");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(other.json()["error"]["code"], "idempotency_conflict");
  // The header works the same way.
  const ApiResponse header = Admin("POST", "/v1/environments/dev/automations/once/runs",
                                   {{"inputs", {{"n", 1}}}}, {{"Idempotency-Key", "order-42"}});
  EXPECT_EQ(header.status, 200);
  EXPECT_EQ(Admin("GET", "/v1/runs?automation=once").json()["runs"].size(), 1u);
}

TEST_F(RuntimeApiTest, RetriesConnectionErrors429And5xxWithOneIdempotencyKey) {
  svc_.Script("/flaky",
              {{503, "{}"}, {429, "{}", {{"Retry-After", "0"}}}, {200, R"({"done": 1})"}});
  svc_.Script("/bad", {{400, R"({"why": "no"})"}});
  Save("flaky", Http("call", "/flaky", "    retries: 3\n"));
  Save("bad", Http("call", "/bad", "    retries: 3\n"));
  const Json run = StartAndWait("flaky");
  ASSERT_EQ(run["state"], "succeeded") << run.dump(2);
  const Json& attempts = run["steps"][0]["attempts"];
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0]["outcome"], "retrying");
  EXPECT_EQ(attempts[0]["status"], 503);
  EXPECT_EQ(attempts[1]["status"], 429);
  EXPECT_EQ(attempts[2]["outcome"], "succeeded");
  std::set<std::string> keys;
  for (const auto& req : svc_.Requests("/flaky")) keys.insert(req.headers.at("idempotency-key"));
  EXPECT_EQ(keys, (std::set<std::string>{run["id"].get<std::string>() + ".call"}));
  EXPECT_EQ(svc_.Requests("/flaky").size(), 3u);

  // A 400 is the service's answer, not a failure to reach it: never retried.
  const Json bad = StartAndWait("bad");
  EXPECT_EQ(bad["state"], "failed");
  EXPECT_EQ(bad["error"]["code"], "unexpected_status");
  EXPECT_EQ(bad["steps"][0]["attempts"].size(), 1u);
  EXPECT_EQ(svc_.Requests("/bad").size(), 1u);
}

TEST_F(RuntimeApiTest, AServiceThatHangsTimesTheRunOut) {
  svc_.Script("/hang", {{200, "{}", {}, milliseconds(4000)}});
  Save("slow", Http("call", "/hang", "    timeout_seconds: 1\n"));
  const auto t0 = std::chrono::steady_clock::now();
  const Json run = StartAndWait("slow");
  EXPECT_EQ(run["state"], "timed_out") << run.dump(2);
  EXPECT_EQ(run["error"]["code"], "timeout");
  EXPECT_EQ(run["steps"][0]["attempts"].size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3500));
}

TEST_F(RuntimeApiTest, EgressRefusesHostsOutsideTheAllowListLoopbackAndUncheckedRedirects) {
  svc_.Script("/ok", {{200, "{}"}});
  Save("out", Http("call", "/ok"));
  Configure({"*.corp.internal"});
  Json run = StartAndWait("out");
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(run["error"]["code"], "egress_denied");
  EXPECT_NE(run["error"]["message"].get<std::string>().find("localhost"), std::string::npos);

  // A glob that matches everything still does not reach loopback: the name
  // resolves to 127.0.0.1, which only an entry naming it opens.
  Configure({"*"});
  run = StartAndWait("out");
  EXPECT_EQ(run["error"]["code"], "egress_denied") << run.dump(2);
  EXPECT_TRUE(svc_.Requests("/ok").empty());
  const Json denied = Events("action=run.step&outcome=error");
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied.back()["details"]["error"], "egress_denied");
  EXPECT_EQ(denied.back()["details"]["egress"]["host"], "localhost");

  // A redirect to a host the list does not allow is not followed.
  Configure({"localhost"});
  svc_.Script(
      "/redirect",
      {{302, "", {{"Location", "https://127.0.0.2:" + std::to_string(svc_.port()) + "/ok"}}}});
  Save("hop", Http("call", "/redirect"));
  run = StartAndWait("hop");
  EXPECT_EQ(run["error"]["code"], "egress_denied") << run.dump(2);
  EXPECT_NE(run["error"]["message"].get<std::string>().find("127.0.0.2"), std::string::npos);
  EXPECT_TRUE(svc_.Requests("/ok").empty());

  const std::string metrics = Admin("GET", "/metrics").body;
  EXPECT_NE(metrics.find("cloister_egress_denied_total 3"), std::string::npos) << metrics;
}

TEST_F(RuntimeApiTest, SecretValuesNeverReachHistoryLedgerLogsOrMetrics) {
  // The service echoes the Authorization header back, in its body and in an error.
  svc_.Script("/echo", {{200, std::string(R"({"seen": "Bearer )") + kSecret + R"("})"}});
  svc_.Script("/echo-fail", {{400, std::string(R"({"error": "bad token )") + kSecret + R"("})"}});
  const std::string header = "    headers:\n      Authorization: \"Bearer ${secrets.erp_token}\"\n";
  Save("echo", Http("call", "/echo", header));
  Save("echo-fail", Http("call", "/echo-fail", header));
  const Json ok = StartAndWait("echo");
  ASSERT_EQ(ok["state"], "succeeded") << ok.dump(2);
  EXPECT_EQ(ok["steps"][0]["attempts"][0]["output"], Json({{"seen", "Bearer [secret]"}}));
  StartAndWait("echo-fail");

  std::vector<std::pair<std::string, std::string>> places = {
      {"run history", Admin("GET", "/v1/runs").body +
                          Admin("GET", "/v1/runs/" + ok["id"].get<std::string>()).body},
      {"ledger", Admin("GET", "/v1/audit/events?limit=1000").body},
      {"metrics", Admin("GET", "/metrics").body},
      {"settings", Admin("GET", "/v1/environments/dev/secrets").body}};
  server_.Stop();
  places.push_back({"console log", server_.console_log()});
  auto db = OpenDatabaseWithKeyFile(server_.data_dir(), dir_.File("unseal.key"));
  ASSERT_TRUE(db);
  for (const auto& [table, sql] : std::vector<std::pair<std::string, std::string>>{
           {"runs", "SELECT inputs || context || error_message FROM runs"},
           {"run_steps", "SELECT COALESCE(output, '') || error_message FROM run_steps"},
           {"audit_events", "SELECT CAST(data AS TEXT) FROM audit_events"}}) {
    std::string text;
    const Status read = ReadView(*db).Select(table, sql).ForEach([&](const Row& row) {
      text += row.Text(0);
      return true;
    });
    ASSERT_TRUE(read.ok()) << read.message();
    ASSERT_FALSE(text.empty()) << table;
    places.push_back({table, text});
  }
  for (const auto& [where, text] : places) {
    EXPECT_EQ(text.find(kSecret), std::string::npos) << "the secret's value is in the " << where;
  }
}

TEST_F(RuntimeApiTest, CancelStopsAQueuedRunAtOnceAndARunningOneAtTheNextStep) {
  svc_.Script("/slow", {{200, "{}", {}, milliseconds(1500)}});
  svc_.Script("/after", {{200, "{}"}});
  Save("long", Http("first", "/slow") + Http("second", "/after"));
  const ApiResponse r = Start("long");
  const std::string id = r.json()["id"];
  std::this_thread::sleep_for(milliseconds(500));  // the first step is in flight
  const ApiResponse cancel = Admin("POST", "/v1/runs/" + id + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.json()["cancel_requested"], true);
  const Json run = Wait(id);
  EXPECT_EQ(run["state"], "cancelled");
  EXPECT_EQ(run["steps"][0]["state"], "succeeded");  // the step in flight finished
  EXPECT_EQ(run["steps"][1]["attempts"].size(), 0u);
  EXPECT_TRUE(svc_.Requests("/after").empty());
  const ApiResponse again = Admin("POST", "/v1/runs/" + id + "/cancel");
  EXPECT_EQ(again.status, 412);
  EXPECT_EQ(again.json()["error"]["code"], "run_finished");
  EXPECT_EQ(RunEvents(id, "run.cancel").size(), 1u);
}

TEST_F(RuntimeApiTest, RunStepPoliciesAreEnforcedAtTheirBoundLevel) {
  svc_.Script("/forbidden", {{200, "{}"}});
  svc_.Script("/fine", {{200, "{}"}});
  Save("guarded", Http("first", "/fine") + Http("second", "/forbidden"));
  const auto put = [&](const std::string& collection, const std::string& name,
                       const std::string& source) {
    const ApiResponse r = Admin("PUT", "/v1/" + collection + "/" + name, {{"source", source}});
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.body;
  };
  put("policies", "no-forbidden-calls", R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: no-forbidden-calls
  description: Steps do not call forbidden paths.
hook: run.step
rules:
  - id: no-forbidden
    description: No step calls a /forbidden path.
    deny: step.type == "http" && contains(step.url, "/forbidden") && run.automation == "guarded"
    message: "step {{ step.id }} of {{ run.automation }} may not call {{ step.url }}"
)");
  const auto bind = [&](const std::string& level) {
    put("policy-bindings", "steps",
        "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata:\n  name: steps\n"
        "hook: run.step\npolicies: [no-forbidden-calls]\nenvironments: [dev]\nlevel: " +
            level + "\n");
  };
  bind("hard_mandatory");
  Json run = StartAndWait("guarded");
  EXPECT_EQ(run["state"], "failed") << run.dump(2);
  EXPECT_EQ(run["error"]["code"], "policy_denied");
  EXPECT_NE(run["error"]["message"].get<std::string>().find("may not call"), std::string::npos);
  EXPECT_EQ(svc_.Requests("/fine").size(), 1u);  // the first step was allowed
  EXPECT_TRUE(svc_.Requests("/forbidden").empty());
  EXPECT_EQ(RunEvents(run["id"], "policy.decision").size(), 1u);

  // Advisory: the step runs, and the failed rule is still recorded.
  bind("advisory");
  run = StartAndWait("guarded");
  EXPECT_EQ(run["state"], "succeeded") << run.dump(2);
  EXPECT_EQ(svc_.Requests("/forbidden").size(), 1u);
  EXPECT_EQ(RunEvents(run["id"], "policy.decision").size(), 1u);
}

TEST_F(RuntimeApiTest, StepTypesOfTheNextReleaseFailTheRunClearly) {
  Save("model",
       "  - id: ask\n    type: llm\n    endpoint: https://models.internal/v1\n    model: m\n    "
       "prompt: hi\n");
  const Json run = StartAndWait("model");
  EXPECT_EQ(run["state"], "failed");
  EXPECT_EQ(run["error"]["code"], "step_type_unavailable");
  EXPECT_NE(run["error"]["message"].get<std::string>().find("llm"), std::string::npos);
}

TEST_F(RuntimeApiTest, ARunKeepsItsVersionWhenANewOneGoesLive) {
  svc_.Script("/slow", {{200, "{}", {}, milliseconds(1200)}});
  svc_.Script("/v1-second", {{200, "{}"}});
  svc_.Script("/v2-second", {{200, "{}"}});
  const std::string v1 = Save("pinned", Http("first", "/slow") + Http("second", "/v1-second"));
  const ApiResponse r = Start("pinned");
  std::this_thread::sleep_for(milliseconds(300));
  const std::string v2 = Save("pinned", Http("first", "/slow") + Http("second", "/v2-second"));
  ASSERT_NE(v1, v2);
  const Json run = Wait(r.json()["id"]);
  EXPECT_EQ(run["state"], "succeeded");
  EXPECT_EQ(run["version"], v1);
  EXPECT_EQ(svc_.Requests("/v1-second").size(), 1u);
  EXPECT_TRUE(svc_.Requests("/v2-second").empty());
}

TEST_F(RuntimeApiTest, KillNineDuringRunsLosesNoRunAndFinishesEachOnce) {
  svc_.Script("/quick", {{200, "{}"}});
  svc_.Script("/slow", {{200, "{}", {}, milliseconds(150)}});
  Save("batch", Http("one", "/quick") + Http("two", "/slow") + Http("three", "/quick"));
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    const ApiResponse r = Start("batch", Json::object(), "batch-" + std::to_string(i));
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.json()["id"]);
  }
  std::this_thread::sleep_for(milliseconds(700));  // some done, some mid-step, most queued
  server_.Kill();
  ASSERT_TRUE(server_.Start());  // the key file unseals it again
  for (const std::string& id : ids) {
    const Json run = Wait(id, milliseconds(60000));
    EXPECT_EQ(run["state"], "succeeded") << run.dump(2);
    for (const Json& step : run["steps"]) {
      int succeeded = 0;
      for (const Json& a : step["attempts"]) succeeded += a["outcome"] == "succeeded";
      EXPECT_EQ(succeeded, 1) << "run " << id << " step " << step["id"];
    }
    EXPECT_EQ(RunEvents(id, "run.finish").size(), 1u) << id;
  }
  const ApiResponse verify = Admin("GET", "/v1/audit/verify");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_EQ(verify.json()["ok"], true) << verify.body;
}

}  // namespace
}  // namespace cloister::testing
