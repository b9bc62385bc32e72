// Triggers and evidence over HTTPS against a real cloisterd: signed webhook
// deliveries (accepted without a credential, replayed, forged, tampered,
// expired, of a manual automation, without a key), runs in test as the
// evidence a prod promotion needs (the SOC 2 pack's test-evidence rule and a
// pipeline's `evidence` requirement), and the run commands of cloisterctl.
#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include "appliance/core/clock.h"
#include "appliance/core/files.h"
#include "appliance/runtime/webhook.h"
#include "tests/integration/identity_test_support.h"
#include "tests/support/local_service.h"

namespace cloister::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kRuntimeConfig =
    "runtime:\n  workers: 2\n  retry_base_ms: 20\n  retry_max_ms: 200\n  lease_seconds: 30\n";
constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kHookKey = "whk-4c1d8e2a9b7f-deploy-notice";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(SystemClock().Now().time_since_epoch())
      .count();
}

// A real cloisterd whose environments may call a LocalService, with helpers
// to save automations (as the initial admin, who is then their author) and
// to wait for runs.
class RunFixture : public IdentityFixture {
 protected:
  void BootWith(const std::string& extra_yaml = "") {
    Boot(std::string(kDefaultAuth) + kRuntimeConfig + extra_yaml);
    Configure("dev");
  }
  ApiResponse Admin(const std::string& method, const std::string& path,
                    const Json& body = nullptr) {
    return Call(method, path, body, admin_token_);
  }
  // Lets `env`'s steps reach the local service and trust its certificate.
  void Configure(const std::string& env) {
    const ApiResponse r = Admin("PUT", "/v1/environments/" + env + "/settings",
                                {{"egress_allow", {"localhost"}},
                                 {"model_endpoints", Json::array()},
                                 {"ca_bundle", svc_.CaPem()}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string Save(const std::string& name, const std::string& trigger, const std::string& steps,
                   const std::string& inputs = "") {
    const std::string source =
        "apiVersion: cloister/v1\nkind: Automation\nmetadata:\n  name: " + name +
        "\n  description: A trigger test automation.\n  owner: qa\n  data_classification: "
        "internal\ntrigger: " +
        trigger + "\n" + (inputs.empty() ? "" : "inputs:\n" + inputs) + "steps:\n" + steps;
    const ApiResponse r = Admin("PUT", "/v1/automations/" + name, {{"source", source}});
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.body;
    return r.json().value("version", "");
  }
  std::string Http(const std::string& id, const std::string& path) {
    return "  - id: " + id + "\n    type: http\n    url: " + svc_.Url(path) + "\n    retries: 0\n";
  }
  // Polls the run until it ends; the last view.
  Json Wait(const std::string& id, const std::string& token = "") {
    const auto until = std::chrono::steady_clock::now() + milliseconds(20000);
    Json run;
    while (std::chrono::steady_clock::now() < until) {
      const ApiResponse r =
          Call("GET", "/v1/runs/" + id, nullptr, token.empty() ? admin_token_ : token);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) return run;
      run = r.json();
      const std::string state = run.value("state", "");
      if (state != "queued" && state != "running" && state != "waiting") return run;
      std::this_thread::sleep_for(milliseconds(25));
    }
    ADD_FAILURE() << "run " << id << " did not end: " << run.dump();
    return run;
  }
  size_t RunCount(const std::string& automation) {
    return Admin("GET", "/v1/runs?automation=" + automation).json()["runs"].size();
  }

  LocalService svc_{dir_.path()};
};

// ---- webhooks ----------------------------------------------------------------

class WebhookTriggerTest : public RunFixture {
 protected:
  void SetUp() override {
    BootWith();
    Save("deploy-notice", "{type: webhook}",
         "  - id: note\n    type: transform\n    output: {ticket: \"${inputs.ticket}\", priority: "
         "\"${inputs.priority}\"}\n",
         "  ticket: {type: string, required: true}\n  priority: {type: integer, default: 3}\n");
    SetKey("deploy-notice", kHookKey);
  }
  void SetKey(const std::string& automation, const std::string& key) {
    const ApiResponse r =
        Admin("PUT", "/v1/environments/dev/secrets/webhook_" + automation, {{"value", key}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // POST /v1/hooks/dev/{name} with no credential: `body` signed with `key`
  // at `ts`, or sent as `sent` when given (a body other than the one signed).
  ApiResponse Deliver(const std::string& name, const Json& body, int64_t ts, const std::string& key,
                      const Json& sent = nullptr) {
    const std::string t = std::to_string(ts);
    const std::string signature = runtime::WebhookSignature(key, t, body.dump());
    return Call("POST", "/v1/hooks/dev/" + name, sent.is_null() ? body : sent, "",
                {{"X-Cloister-Timestamp", t}, {"X-Cloister-Signature", signature}});
  }
  // The refused run.start events about `automation`, by reason.
  std::multiset<std::string> Refusals(const std::string& automation) {
    std::multiset<std::string> out;
    for (const Json& e : Events("action=run.start&outcome=denied")) {
      if (e["target"].value("id", "") == automation) out.insert(e.value("reason", ""));
    }
    return out;
  }
};

TEST_F(WebhookTriggerTest, ASignedDeliveryStartsOneRunWithItsBodyAsInputsAndAReplayIsRefused) {
  const Json body = {{"ticket", "CHG-1042"}, {"priority", 1}};
  const int64_t ts = UnixNow();
  const ApiResponse r = Deliver("deploy-notice", body, ts, kHookKey);
  ASSERT_EQ(r.status, 201) << r.body;
  const Json started = r.json();
  EXPECT_EQ(started["trigger"], "webhook");
  EXPECT_EQ(started["environment"], "dev");
  EXPECT_EQ(started["automation"], "deploy-notice");
  const std::string id = started["id"];
  const Json run = Wait(id);
  ASSERT_EQ(run["state"], "succeeded") << run.dump(2);
  EXPECT_EQ(run["inputs"], body);
  EXPECT_EQ(run["steps"][0]["attempts"][0]["output"],
            Json({{"ticket", "CHG-1042"}, {"priority", 1}}));

  // The same delivery again: refused, naming the run it started, and recorded.
  const ApiResponse again = Deliver("deploy-notice", body, ts, kHookKey);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.json()["error"]["code"], "webhook_replayed") << again.body;
  EXPECT_EQ(again.json()["error"]["details"]["run"], id) << again.body;
  EXPECT_EQ(RunCount("deploy-notice"), 1u);
  EXPECT_EQ(Refusals("deploy-notice"), (std::multiset<std::string>{"webhook_replayed"}));

  // The accepted start is recorded as a webhook's, not a person's.
  size_t starts = 0;
  for (const Json& e : Events("action=run.start&outcome=success")) {
    if (e["target"].value("id", "") != id) continue;
    ++starts;
    EXPECT_EQ(e["details"]["trigger"], "webhook") << e.dump();
    EXPECT_NE(e["actor"].value("kind", ""), "user") << e.dump();
  }
  EXPECT_EQ(starts, 1u);
  // A new delivery (another timestamp) is another run.
  const ApiResponse next = Deliver("deploy-notice", {{"ticket", "CHG-1043"}}, ts + 1, kHookKey);
  EXPECT_EQ(next.status, 201) << next.body;
  EXPECT_EQ(RunCount("deploy-notice"), 2u);
}

TEST_F(WebhookTriggerTest, ForgedTamperedAndExpiredDeliveriesStartNothingAndAreRecorded) {
  const Json body = {{"ticket", "CHG-7"}};
  const int64_t now = UnixNow();
  // Signed with another key.
  ApiResponse r = Deliver("deploy-notice", body, now, "not-the-webhook-key");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "webhook_signature") << r.body;
  // The right key, but another body than the one signed.
  r = Deliver("deploy-notice", body, now, kHookKey, {{"ticket", "CHG-666"}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "webhook_signature") << r.body;
  // No signature at all.
  r = Call("POST", "/v1/hooks/dev/deploy-notice", body, "",
           {{"X-Cloister-Timestamp", std::to_string(now)}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "webhook_signature") << r.body;
  // Correctly signed, ten minutes old or ten minutes ahead.
  for (const int64_t ts : {now - 600, now + 600}) {
    r = Deliver("deploy-notice", body, ts, kHookKey);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "webhook_expired") << ts - now << " s: " << r.body;
  }
  EXPECT_EQ(RunCount("deploy-notice"), 0u);
  EXPECT_EQ(
      Refusals("deploy-notice"),
      (std::multiset<std::string>{"webhook_signature", "webhook_signature", "webhook_signature",
                                  "webhook_expired", "webhook_expired"}));
  // A delivery within the allowed skew is taken.
  EXPECT_EQ(Deliver("deploy-notice", body, now - 60, kHookKey).status, 201);
}

TEST_F(WebhookTriggerTest, OnlyAWebhookAutomationWithItsKeySetTakesDeliveries) {
  Save("by-hand", "{type: manual}", "  - id: t\n    type: transform\n    output: {x: 1}\n");
  SetKey("by-hand", kHookKey);  // a key exists, but the automation is not a webhook's
  Save("keyless", "{type: webhook}", "  - id: t\n    type: transform\n    output: {x: 1}\n");
  const int64_t now = UnixNow();
  ApiResponse r = Deliver("by-hand", Json::object(), now, kHookKey);
  EXPECT_EQ(r.status, 401) << r.body;  // the caller is not told why; the ledger is
  EXPECT_EQ(r.json()["error"]["code"], "webhook_signature") << r.body;
  r = Deliver("keyless", Json::object(), now, kHookKey);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "webhook_signature") << r.body;
  EXPECT_EQ(r.body.find(kHookKey), std::string::npos);
  EXPECT_EQ(Refusals("by-hand"), (std::multiset<std::string>{"not_a_webhook"}));
  EXPECT_EQ(Refusals("keyless"), (std::multiset<std::string>{"webhook_secret_missing"}));
  EXPECT_EQ(RunCount("by-hand") + RunCount("keyless"), 0u);
  // Once its key is set, the same automation takes a signed delivery.
  SetKey("keyless", "whk-keyless-0123456789");
  r = Deliver("keyless", Json::object(), now, "whk-keyless-0123456789");
  EXPECT_EQ(r.status, 201) << r.body;
}

// ---- runs as promotion evidence ------------------------------------------------

class RunEvidenceTest : public RunFixture {
 protected:
  void SetUp() override {
    BootWith("policy:\n  directory: " CLOISTER_SOURCE_DIR "/policies/soc2-change-management\n");
    MakeUser("olga", {"operator@*"}, kPassword);
    MakeUser("bob", {"approver@test", "approver@prod"}, kPassword);
    MakeUser("carol", {"approver@prod"}, kPassword);
    for (const char* u : {"olga", "bob", "carol"}) {
      const ApiResponse r =
          Call("POST", "/v1/auth/login",
               {{"username", u}, {"password", kPassword}, {"return_token", true}});
      ASSERT_EQ(r.status, 200) << r.body;
      tokens_[u] = r.json()["token"];
    }
    Configure("test");
    Configure("prod");
    version_ = Save("nightly-report", "{type: manual}", Http("send", "/report"));
    ASSERT_EQ(version_.size(), 64u);
  }
  ApiResponse As(const std::string& user, const std::string& method, const std::string& path,
                 const Json& body = nullptr) {
    return Call(method, path, body, tokens_.at(user));
  }
  ApiResponse Promote(const std::string& to) {
    return As("olga", "POST", "/v1/promotions", {{"automation", "nightly-report"}, {"to", to}});
  }
  // Requests the promotion and gives it the approvals of `approvers`; its page.
  Json PromoteAndApprove(const std::string& to, const std::vector<std::string>& approvers) {
    const ApiResponse p = Promote(to);
    EXPECT_EQ(p.status, 201) << p.body;
    Json page = p.json();
    for (const auto& a : approvers) {
      const ApiResponse r =
          As(a, "POST", "/v1/promotions/" + page["id"].get<std::string>() + "/approve",
             {{"version", version_}, {"comment", "reviewed"}});
      EXPECT_EQ(r.status, 200) << r.body;
      page = r.json();
    }
    return page;
  }
  void PromoteAndDeploy(const std::string& to, const std::vector<std::string>& approvers) {
    const Json page = PromoteAndApprove(to, approvers);
    ASSERT_EQ(page["state"], "approved") << page.dump(2);
    const ApiResponse d =
        As("olga", "POST", "/v1/promotions/" + page["id"].get<std::string>() + "/deploy");
    ASSERT_EQ(d.status, 200) << d.body;
    ASSERT_EQ(d.json()["state"], "deployed") << d.body;
  }
  // One run of the version live in test, started by the operator; its final state.
  std::string RunInTest() {
    const ApiResponse r =
        As("olga", "POST", "/v1/environments/test/automations/nightly-report/runs",
           {{"inputs", Json::object()}});
    EXPECT_EQ(r.status, 201) << r.body;
    const Json run = Wait(r.json().value("id", ""), tokens_.at("olga"));
    EXPECT_EQ(run["environment"], "test");
    EXPECT_EQ(run["version"], version_);
    return run.value("state", "");
  }
  static Json Check(const Json& promotion, const std::string& name) {
    if (!promotion.is_object() || !promotion.contains("checks")) return nullptr;
    for (const Json& c : promotion["checks"]) {
      if (c["name"] == name) return c;
    }
    return nullptr;
  }
  // "policy/rule" of every failed verdict of the promotion's decision.
  static std::set<std::string> FailedRules(const Json& promotion) {
    std::set<std::string> out;
    if (!promotion.contains("decision") || !promotion["decision"].is_object()) return out;
    for (const Json& b : promotion["decision"].value("bindings", Json::array())) {
      for (const Json& v : b.value("verdicts", Json::array())) {
        if (v["verdict"] == "fail" || v["verdict"] == "error") {
          out.insert(v["policy"].get<std::string>() + "/" + v["rule"].get<std::string>());
        }
      }
    }
    return out;
  }
  // The `evidence` of the last policy.decision recorded for promotion `id`.
  Json EvidenceInput(const std::string& id) {
    Json last;
    for (const Json& e : Events("action=policy.decision")) {
      if (e["target"].value("id", "") == id) last = e["details"]["input"]["evidence"];
    }
    return last;
  }

  std::map<std::string, std::string> tokens_;
  std::string version_;
};

// The SOC 2 pack's promotion policy required for prod (as a hard-mandatory
// binding): its test-evidence rule blocks until the version ran successfully
// in test with no failed run after that success.
TEST_F(RunEvidenceTest, TheSoc2PackBlocksProdUntilTheVersionRanSuccessfullyInTest) {
  const std::string binding =
      "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata: {name: soc2-prod}\nhook: promotion\n"
      "policies: [soc2-promotion]\nenvironments: [prod]\nlevel: hard_mandatory\n";
  const ApiResponse bound = Admin("PUT", "/v1/policy-bindings/soc2-prod", {{"source", binding}});
  ASSERT_EQ(bound.status, 201) << bound.body;
  svc_.Script(
      "/report",
      {{200, R"({"sent": 1})"}, {400, R"({"why": "mailbox full"})"}, {200, R"({"sent": 2})"}});
  PromoteAndDeploy("test", {"bob"});

  // No runs in test: every other rule passes, test-evidence does not.
  const Json none = PromoteAndApprove("prod", {"bob", "carol"});
  EXPECT_EQ(none["state"], "blocked") << none.dump(2);
  EXPECT_EQ(Check(none, "policy")["status"], "fail") << none.dump(2);
  EXPECT_EQ(FailedRules(none), (std::set<std::string>{"soc2-promotion/test-evidence"}))
      << none.dump(2);
  EXPECT_EQ(EvidenceInput(none["id"]), Json::array());

  // A success, then a failure a second later: the latest run failed.
  ASSERT_EQ(RunInTest(), "succeeded");
  std::this_thread::sleep_for(milliseconds(1100));  // evidence times are whole seconds
  ASSERT_EQ(RunInTest(), "failed");
  const Json failing = PromoteAndApprove("prod", {"bob", "carol"});
  EXPECT_EQ(failing["state"], "blocked") << failing.dump(2);
  EXPECT_EQ(FailedRules(failing), (std::set<std::string>{"soc2-promotion/test-evidence"}))
      << failing.dump(2);
  const Json evidence = EvidenceInput(failing["id"]);
  ASSERT_EQ(evidence.size(), 2u) << evidence.dump(2);
  std::map<std::string, Json> by_ref;
  for (const Json& e : evidence) by_ref[e["ref"]] = e;
  ASSERT_TRUE(by_ref.count("test: 1 succeeded") && by_ref.count("test: 1 failed"))
      << evidence.dump(2);
  EXPECT_EQ(by_ref["test: 1 succeeded"]["passed"], true);
  EXPECT_EQ(by_ref["test: 1 failed"]["passed"], false);
  EXPECT_EQ(by_ref["test: 1 failed"]["kind"], "run");
  EXPECT_EQ(by_ref["test: 1 failed"]["environment"], "test");
  EXPECT_EQ(by_ref["test: 1 failed"]["count"], 1);
  EXPECT_GT(by_ref["test: 1 failed"]["at"].get<std::string>(),
            by_ref["test: 1 succeeded"]["at"].get<std::string>());

  // Another success after the failure: the policy passes and the version deploys.
  std::this_thread::sleep_for(milliseconds(1100));
  ASSERT_EQ(RunInTest(), "succeeded");
  const Json passing = PromoteAndApprove("prod", {"bob", "carol"});
  ASSERT_EQ(passing["state"], "approved") << passing.dump(2);
  EXPECT_EQ(Check(passing, "policy")["status"], "pass") << passing.dump(2);
  EXPECT_TRUE(FailedRules(passing).empty()) << passing.dump(2);
  const ApiResponse d =
      As("olga", "POST", "/v1/promotions/" + passing["id"].get<std::string>() + "/deploy");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json()["state"], "deployed") << d.body;
}

// A pipeline stage's `evidence` requirement is a check of its own, judged
// when the promotion is requested: failed runs do not count.
TEST_F(RunEvidenceTest, APipelineEvidenceRequirementBlocksUntilEnoughRunsSucceeded) {
  // The promotion guide's evidence example is stored as printed.
  const std::string guide = Slurp(CLOISTER_SOURCE_DIR "/docs/promotion-guide.md");
  const size_t mark = guide.find("evidence: {successful_runs: 3, within_days: 14}");
  ASSERT_NE(mark, std::string::npos);
  const size_t start = guide.rfind("```yaml\n", mark) + 8;
  const ApiResponse example =
      Admin("PUT", "/v1/pipelines/default",
            {{"source", guide.substr(start, guide.find("```", start) - start)}});
  ASSERT_EQ(example.status, 201) << example.body;
  EXPECT_EQ(Admin("GET", "/v1/pipelines/default").json()["stages"]["prod"]["evidence"],
            Json({{"successful_runs", 3}, {"within_days", 14}}));

  const std::string pipeline = R"(apiVersion: cloister/v1
kind: Pipeline
metadata:
  name: default
automations: ["*"]
stages:
  test:
    approvals: {required: 1, roles: [approver]}
  prod:
    approvals: {required: 2, roles: [approver]}
    policies: [baseline]
    evidence: {successful_runs: 2}
)";
  const ApiResponse put = Admin("PUT", "/v1/pipelines/default", {{"source", pipeline}});
  ASSERT_EQ(put.status, 201) << put.body;  // a new version of the stored pipeline
  svc_.Script("/report", {{200, "{}"}, {500, "{}"}, {200, "{}"}});
  PromoteAndDeploy("test", {"bob"});

  const auto request = [&](int64_t succeeded) {
    const ApiResponse p = Promote("prod");
    EXPECT_EQ(p.status, 201) << p.body;
    Json c = Check(p.json(), "evidence");
    EXPECT_EQ(c["details"]["succeeded"], succeeded) << p.body;
    EXPECT_EQ(c["details"]["required"], 2) << p.body;
    return p.json();
  };
  Json p = request(0);
  EXPECT_EQ(p["state"], "blocked") << p.dump(2);
  EXPECT_EQ(Check(p, "evidence")["status"], "fail");
  EXPECT_NE(Check(p, "evidence")["message"].get<std::string>().find("2 successful runs"),
            std::string::npos)
      << p.dump(2);
  EXPECT_NE(p["history"].back()["note"].dump().find("evidence: needs 2 successful runs"),
            std::string::npos)
      << p.dump(2);

  ASSERT_EQ(RunInTest(), "succeeded");
  ASSERT_EQ(RunInTest(), "failed");
  p = request(1);
  EXPECT_EQ(p["state"], "blocked") << p.dump(2);
  EXPECT_EQ(Check(p, "evidence")["status"], "fail");

  ASSERT_EQ(RunInTest(), "succeeded");
  p = request(2);
  EXPECT_EQ(p["state"], "awaiting_approval") << p.dump(2);
  EXPECT_EQ(Check(p, "evidence")["status"], "pass") << p.dump(2);
}

// ---- cloisterctl -----------------------------------------------------------------

class CloisterctlRunTest : public RunFixture {
 protected:
  void SetUp() override { BootWith(); }
  CommandResult Ctl(const std::vector<std::string>& args) {
    return RunCloisterctl(server_, args, admin_token_);
  }
};

TEST_F(CloisterctlRunTest, RunWaitsShowsListsLogsAndRefusesToCancelAFinishedRun) {
  svc_.Script("/hello",
              {{503, "{}", {{"Retry-After", "0"}}}, {200, R"({"greeting": "hello ada"})"}});
  svc_.Script("/broken", {{400, R"({"why": "no"})"}});
  Save("greet", "{type: manual}",
       "  - id: call\n    type: http\n    url: " + svc_.Url("/hello") +
           "\n    retries: 2\n    params:\n      who: ${inputs.who}\n"
           "  - id: shape\n    type: transform\n    output: {who: \"${inputs.who}\"}\n",
       "  who: {type: string, required: true}\n");
  Save("broken", "{type: manual}", Http("call", "/broken"));

  CommandResult r = Ctl({"run", "greet", "--env", "dev", "--input", "who=ada", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.out, m, std::regex("Started run (run_[0-9a-f]{24}): greet in dev")))
      << r.out;
  const std::string id = m[1];
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  call +http +attempt 1  retrying +503)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  call +http +attempt 2  succeeded +200)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  shape +transform +attempt 1  succeeded)")))
      << r.out;
  EXPECT_NE(r.out.find("Run " + id + " succeeded\n"), std::string::npos) << r.out;
  EXPECT_EQ(svc_.Requests("/hello").back().target, "/hello?who=ada");

  r = Ctl({"runs", "--env", "dev"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(id + "  succeeded +greet  dev  manual by ")))
      << r.out;

  r = Ctl({"run", "show", id.substr(0, 8)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Run " + id + ": greet in dev, succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"(inputs     {"who":"ada"})"), std::string::npos) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\n    call +http +succeeded  2 attempts  200)")))
      << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\n    shape +transform +succeeded  1 attempt)")))
      << r.out;
  r = Ctl({"run", "show", id.substr(0, 7)});  // a prefix needs 8 characters
  EXPECT_NE(r.exit_code, 0) << r.out;

  r = Ctl({"run", "logs", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("call (http)\n"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  \S+  attempt 1  retrying +503)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  \S+  attempt 2  succeeded +200)")))
      << r.out;
  EXPECT_NE(r.out.find("\"greeting\": \"hello ada\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shape (transform)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"who\": \"ada\""), std::string::npos) << r.out;

  r = Ctl({"run", "cancel", id});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("run_finished"), std::string::npos) << r.err;

  // A run that fails exits 3, after printing how it ended.
  r = Ctl({"run", "broken", "--env", "dev", "--wait"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("Run run_[0-9a-f]{24} failed: unexpected_status")))
      << r.out;
}

}  // namespace
}  // namespace cloister::testing
