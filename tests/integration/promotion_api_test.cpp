// Automations, environments and promotions over HTTPS against a real
// cloisterd: the dev -> test -> prod flow with distinct users, separation of
// duties, superseded versions, deny windows and break-glass, rollback,
// missing configuration, concurrency, a tampered stored version, and the
// audit trail of every transition.
#include <filesystem>
#include <set>
#include <thread>

#include "appliance/core/encoding.h"
#include "appliance/core/files.h"
#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

constexpr const char* kPassword = "correct horse battery staple";

std::string Definition(const std::string& description = "Sorts incoming invoices and drafts replies.") {
  return R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: invoice-triage
  description: )" + description + R"(
  owner: finance-ops
  data_classification: confidential
  tags: [finance]
trigger:
  type: manual
inputs:
  invoice_id: {type: string, required: true}
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api/invoices/${inputs.invoice_id}
    headers:
      Authorization: "Bearer ${secrets.erp_token}"
    params:
      region: ${vars.region}
  - id: classify
    type: llm
    endpoint: https://models.internal/v1
    model: llama-3-70b
    prompt: "Classify this invoice: ${steps.fetch.output}"
)";
}

class PromotionApiTest : public IdentityFixture {
 protected:
  void SetUp() override {
    Boot();
    MakeUser("alice", {"author@dev", "approver@test"}, kPassword);
    MakeUser("olga", {"operator@*"}, kPassword);
    MakeUser("bob", {"approver@test", "approver@prod"}, kPassword);
    MakeUser("carol", {"approver@prod"}, kPassword);
    for (const char* u : {"alice", "olga", "bob", "carol"}) tokens_[u] = TokenFor(u);
  }
  std::string TokenFor(const std::string& user) {
    const ApiResponse r = Call("POST", "/v1/auth/login", {{"username", user}, {"password", kPassword}, {"return_token", true}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["token"];
  }
  ApiResponse As(const std::string& user, const std::string& method, const std::string& path,
                 const Json& body = nullptr, const std::map<std::string, std::string>& headers = {}) {
    return Call(method, path, body, user == "admin" ? admin_token_ : tokens_.at(user), headers);
  }
  std::string Save(const std::string& source = Definition()) {
    const ApiResponse r = As("alice", "PUT", "/v1/automations/invoice-triage", {{"source", source}});
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.body;
    return r.json().value("version", "");
  }
  // Everything invoice-triage needs in `env`.
  void Configure(const std::string& env) {
    EXPECT_EQ(As("olga", "PUT", "/v1/environments/" + env + "/secrets/erp_token", {{"value", "s3cr3t-" + env}}).status, 200);
    EXPECT_EQ(As("olga", "PUT", "/v1/environments/" + env + "/variables/region", {{"value", "eu"}}).status, 200);
    EXPECT_EQ(As("admin", "PUT", "/v1/environments/" + env + "/settings",
                 {{"egress_allow", {"*.internal"}}, {"model_endpoints", {"models.internal"}}}).status, 200);
  }
  ApiResponse Promote(const std::string& to, const Json& extra = Json::object(), const std::string& who = "olga") {
    Json body = {{"automation", "invoice-triage"}, {"to", to}};
    body.update(extra);
    return As(who, "POST", "/v1/promotions", body);
  }
  ApiResponse Approve(const std::string& who, const std::string& id, const std::string& version) {
    return As(who, "POST", "/v1/promotions/" + id + "/approve", {{"version", version}, {"comment", "looks right"}});
  }
  // Promotes the live version of `from` into `to` with the approvals the
  // default pipeline needs, and deploys it.
  void PromoteAndDeploy(const std::string& to, const std::vector<std::string>& approvers, const std::string& version) {
    const ApiResponse p = Promote(to);
    ASSERT_EQ(p.status, 201) << p.body;
    const std::string id = p.json()["id"];
    for (const auto& a : approvers) ASSERT_EQ(Approve(a, id, version).status, 200);
    const ApiResponse d = As("olga", "POST", "/v1/promotions/" + id + "/deploy");
    ASSERT_EQ(d.status, 200) << d.body;
    ASSERT_EQ(d.json()["state"], "deployed") << d.body;
  }
  std::string Live(const std::string& env) {
    const Json items = As("admin", "GET", "/v1/environments/" + env + "/live").json()["items"];
    for (const Json& i : items) {
      if (i["automation"] == "invoice-triage") return i["version"];
    }
    return "";
  }
  // The ledger's events about one target, optionally of one action.
  Json EventsFor(const std::string& target, const std::string& action = "") {
    Json out = Json::array();
    for (const Json& e : Events(action.empty() ? "" : "action=" + action)) {
      if (e.contains("target") && e["target"]["id"] == target) out.push_back(e);
    }
    return out;
  }
  // The promotion's check named `name`, or null.
  static Json Check(const Json& promotion, const std::string& name) {
    for (const Json& c : promotion["checks"]) {
      if (c["name"] == name) return c;
    }
    return nullptr;
  }
  std::map<std::string, std::string> tokens_;
};

TEST_F(PromotionApiTest, FullFlowFromDevThroughTestToProdWithDistinctUsers) {
  const std::string v1 = Save();
  ASSERT_EQ(v1.size(), 64u);
  // The same content again is the same version, and nothing new is stored.
  const ApiResponse again = As("alice", "PUT", "/v1/automations/invoice-triage", {{"source", Definition()}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_FALSE(again.json()["created"].get<bool>());
  EXPECT_EQ(again.json()["version"], v1);
  EXPECT_EQ(Live("dev"), v1);

  // The stored version is the canonical bytes whose SHA-256 is its id.
  const ApiResponse bytes = As("bob", "GET", "/v1/automations/invoice-triage/versions/" + v1);
  ASSERT_EQ(bytes.status, 200) << bytes.body;
  EXPECT_EQ(Sha256Hex(bytes.body), v1);

  Configure("test");
  Configure("prod");
  const ApiResponse diff = As("olga", "GET", "/v1/environment-diff?from=dev&to=test");
  ASSERT_EQ(diff.status, 200) << diff.body;
  EXPECT_EQ(diff.json()["automations"][0]["status"], "new");

  const ApiResponse p = Promote("test");
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string id = p.json()["id"];
  EXPECT_EQ(p.json()["state"], "awaiting_approval") << p.body;
  EXPECT_EQ(p.json()["author"], "alice");
  EXPECT_EQ(p.json()["requester"], "olga");

  // The author may not approve their own version; approvals name the version.
  const ApiResponse self = Approve("alice", id, v1);
  EXPECT_EQ(self.status, 403) << self.body;
  EXPECT_EQ(self.json()["error"]["code"], "self_approval");
  const ApiResponse wrong = Approve("bob", id, std::string(64, 'a'));
  EXPECT_EQ(wrong.status, 409) << wrong.body;
  EXPECT_EQ(wrong.json()["error"]["code"], "version_mismatch");

  const ApiResponse ok = Approve("bob", id, v1);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["state"], "approved") << ok.body;
  // The same approval again changes nothing.
  const ApiResponse twice = Approve("bob", id, v1);
  EXPECT_EQ(twice.status, 200) << twice.body;
  EXPECT_EQ(twice.json()["approvals"].size(), 1u);

  // An approver of test cannot deploy: that is an operator's job.
  EXPECT_EQ(As("bob", "POST", "/v1/promotions/" + id + "/deploy").status, 403);
  const ApiResponse deployed = As("olga", "POST", "/v1/promotions/" + id + "/deploy");
  ASSERT_EQ(deployed.status, 200) << deployed.body;
  EXPECT_EQ(deployed.json()["state"], "deployed");
  EXPECT_EQ(Live("test"), v1);

  // prod: two approvers other than author and requester, and the baseline pack.
  const ApiResponse prod = Promote("prod");
  ASSERT_EQ(prod.status, 201) << prod.body;
  const std::string prod_id = prod.json()["id"];
  ASSERT_EQ(Approve("bob", prod_id, v1).status, 200);
  EXPECT_EQ(As("bob", "GET", "/v1/promotions/" + prod_id).json()["state"], "awaiting_approval");
  const ApiResponse second = Approve("carol", prod_id, v1);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json()["state"], "approved") << second.body;
  EXPECT_EQ(second.json()["decision"]["outcome"], "allow") << second.body;
  EXPECT_EQ(Check(second.json(), "policy")["status"], "pass");
  ASSERT_EQ(As("olga", "POST", "/v1/promotions/" + prod_id + "/deploy").status, 200);
  EXPECT_EQ(Live("prod"), v1);

  // Every transition is in the ledger with the version id; so is the decision.
  for (const std::string& pid : {id, prod_id}) {
    const Json page = As("bob", "GET", "/v1/promotions/" + pid).json();
    const Json events = EventsFor(pid);
    size_t transitions = 0;
    for (const Json& e : events) {
      if (e["action"].get<std::string>().rfind("promotion.", 0) == 0 && e["action"] != "promotion.approval") {
        EXPECT_EQ(e["details"]["version"], v1) << e.dump();
        ++transitions;
      }
    }
    EXPECT_EQ(transitions, page["history"].size()) << events.dump();
  }
  const Json decisions = EventsFor(prod_id, "policy.decision");
  // Once when the approvals were in, once more at deployment.
  ASSERT_EQ(decisions.size(), 2u);
  for (const Json& d : decisions) {
    EXPECT_EQ(d["details"]["hook"], "promotion");
    EXPECT_EQ(d["details"]["input"]["promotion"]["version"], v1);
    EXPECT_EQ(d["details"]["input"]["promotion"]["approvals"].size(), 2u);
  }
}

TEST_F(PromotionApiTest, MissingSecretsAndVariablesBlockWithTheListOfWhatIsMissing) {
  Save();
  const ApiResponse p = Promote("test");
  ASSERT_EQ(p.status, 201) << p.body;
  EXPECT_EQ(p.json()["state"], "blocked") << p.body;
  const Json c = Check(p.json(), "configuration");
  EXPECT_EQ(c["status"], "fail") << p.body;
  EXPECT_EQ(c["details"]["missing_secrets"], Json({"erp_token"}));
  EXPECT_EQ(c["details"]["missing_variables"], Json({"region"}));
  const ApiResponse diff = As("olga", "GET", "/v1/environment-diff?from=dev&to=test");
  EXPECT_EQ(diff.json()["automations"][0]["missing_secrets"], Json({"erp_token"})) << diff.body;
  // A blocked promotion is closed: a new one may be requested once fixed.
  Configure("test");
  const ApiResponse retry = Promote("test");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.json()["state"], "awaiting_approval");
}

TEST_F(PromotionApiTest, SecretsAreWriteOnlyAndNeverRecorded) {
  Configure("test");
  const ApiResponse list = As("bob", "GET", "/v1/environments/test/secrets");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json()["items"][0]["name"], "erp_token");
  EXPECT_FALSE(list.json()["items"][0].contains("value"));
  EXPECT_EQ(list.body.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(Events("").dump().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(As("bob", "PUT", "/v1/environments/test/secrets/x", {{"value", "v"}}).status, 403);
  EXPECT_EQ(As("olga", "DELETE", "/v1/environments/test/secrets/erp_token").status, 200);
  EXPECT_EQ(As("olga", "DELETE", "/v1/environments/test/secrets/erp_token").status, 404);
}

TEST_F(PromotionApiTest, ApprovalOfASupersededVersionIsRefused) {
  const std::string v1 = Save();
  Configure("test");
  const ApiResponse p = Promote("test");
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string v2 = Save(Definition("Sorts incoming invoices, drafts replies and flags duplicates."));
  ASSERT_NE(v1, v2);
  const ApiResponse page = As("bob", "GET", "/v1/promotions/" + p.json()["id"].get<std::string>());
  EXPECT_EQ(page.json()["state"], "failed") << page.body;
  const ApiResponse late = Approve("bob", p.json()["id"], v1);
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_NE(late.json()["error"]["message"].get<std::string>().find("superseded"), std::string::npos) << late.body;
  // Versions stay; their structural diff names what changed.
  const ApiResponse diff = As("bob", "GET", "/v1/automations/invoice-triage/diff?from=" + v1 + "&to=" + v2);
  ASSERT_EQ(diff.status, 200) << diff.body;
  ASSERT_EQ(diff.json()["changes"].size(), 1u) << diff.body;
  EXPECT_EQ(diff.json()["changes"][0]["path"], "/metadata/description");
  // Saving against a stale If-Match is refused.
  const ApiResponse stale = As("alice", "PUT", "/v1/automations/invoice-triage",
                               {{"source", Definition("A third description of the automation.")}},
                               {{"If-Match", "\"" + v1 + "\""}});
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(stale.json()["error"]["code"], "stale");
}

TEST_F(PromotionApiTest, DenyWindowBlocksAndBreakGlassPassesFlaggedUntilReviewed) {
  const std::string pipeline = R"(apiVersion: cloister/v1
kind: Pipeline
metadata:
  name: default
automations: ["*"]
stages:
  test:
    approvals: {required: 1, roles: [approver]}
    deny_windows:
      - name: year-end-freeze
        dates: {from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z"}
    break_glass: {roles: [admin], skip: [deny_windows, approvals]}
)";
  const ApiResponse put = As("admin", "PUT", "/v1/pipelines/default", {{"source", pipeline}});
  ASSERT_EQ(put.status, 201) << put.body;
  const std::string v1 = Save();
  Configure("test");
  const ApiResponse blocked = Promote("test");
  ASSERT_EQ(blocked.status, 201) << blocked.body;
  EXPECT_EQ(blocked.json()["state"], "blocked");
  EXPECT_NE(Check(blocked.json(), "window")["message"].get<std::string>().find("year-end-freeze"), std::string::npos);

  // Break-glass only for the roles the pipeline names, and only with a reason.
  const Json emergency = {{"emergency", true}, {"reason", "INC-4411: invoices stuck since 02:00"}};
  const ApiResponse not_allowed = Promote("test", emergency, "olga");
  EXPECT_EQ(not_allowed.status, 403) << not_allowed.body;
  EXPECT_EQ(not_allowed.json()["error"]["code"], "break_glass_not_allowed");
  EXPECT_EQ(Promote("test", {{"emergency", true}}, "admin").status, 400);
  const ApiResponse glass = Promote("test", emergency, "admin");
  ASSERT_EQ(glass.status, 201) << glass.body;
  EXPECT_EQ(glass.json()["state"], "approved") << glass.body;
  const std::string id = glass.json()["id"];
  ASSERT_EQ(As("olga", "POST", "/v1/promotions/" + id + "/deploy").status, 200);
  EXPECT_EQ(Live("test"), v1);

  const Json events = EventsFor(id);
  ASSERT_FALSE(events.empty());
  for (const Json& e : events) {
    if (e["action"].get<std::string>().rfind("promotion.", 0) == 0) {
      EXPECT_TRUE(e["details"]["emergency"].get<bool>()) << e.dump();
    }
  }
  // Listed until an approver other than the requester reviews it.
  EXPECT_EQ(As("bob", "GET", "/v1/promotions?emergency=unreviewed").json()["items"].size(), 1u);
  EXPECT_EQ(As("bob", "POST", "/v1/promotions/" + id + "/review", {{"comment", "checked the incident"}}).status, 200);
  EXPECT_EQ(As("bob", "GET", "/v1/promotions?emergency=unreviewed").json()["items"].size(), 0u);
  EXPECT_EQ(EventsFor(id, "promotion.review").size(), 1u);
}

TEST_F(PromotionApiTest, RollbackMakesThePreviousVersionLiveAgainThroughAnApproval) {
  const std::string v1 = Save();
  Configure("test");
  PromoteAndDeploy("test", {"bob"}, v1);
  const std::string v2 = Save(Definition("Sorts incoming invoices, drafts replies and flags duplicates."));
  PromoteAndDeploy("test", {"bob"}, v2);
  ASSERT_EQ(Live("test"), v2);

  const ApiResponse r = As("olga", "POST", "/v1/environments/test/rollbacks",
                           {{"automation", "invoice-triage"}, {"reason", "v2 flags every invoice"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["kind"], "rollback");
  EXPECT_EQ(r.json()["version"], v1);
  EXPECT_EQ(r.json()["state"], "awaiting_approval");
  const std::string id = r.json()["id"];
  ASSERT_EQ(Approve("bob", id, v1).status, 200);
  ASSERT_EQ(As("olga", "POST", "/v1/promotions/" + id + "/deploy").status, 200);
  EXPECT_EQ(Live("test"), v1);

  const Json history = As("bob", "GET", "/v1/environments/test/deployments?automation=invoice-triage").json()["items"];
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["kind"], "rollback");
  EXPECT_EQ(history[0]["version"], v1);
  EXPECT_EQ(history[0]["previous_version"], v2);
  EXPECT_EQ(EventsFor(id, "promotion.deployed").size(), 1u);
}

TEST_F(PromotionApiTest, TwoPromotionsOfOneAutomationToOneEnvironmentCannotBothBeOpen) {
  Save();
  Configure("test");
  std::vector<ApiResponse> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) threads.emplace_back([&, i] { results[i] = Promote("test"); });
  for (auto& t : threads) t.join();
  std::string open;
  int created = 0;
  for (const auto& r : results) {
    if (r.status == 201) {
      ++created;
      open = r.json()["id"];
    }
  }
  ASSERT_EQ(created, 1);
  for (const auto& r : results) {
    if (r.status == 201) continue;
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "promotion_open");
    EXPECT_EQ(r.json()["error"]["details"]["open_promotion"], open);
  }
  // Cancelled, it no longer holds the place.
  EXPECT_EQ(As("olga", "POST", "/v1/promotions/" + open + "/cancel", {{"reason", "wrong day"}}).status, 200);
  EXPECT_EQ(Promote("test").status, 201);
}

TEST_F(PromotionApiTest, ATamperedStoredVersionIsDetectedByItsContentHash) {
  const std::string v1 = Save();
  ASSERT_EQ(server_.Stop(), 0);
  {
    auto conn = OpenDatabaseWithKeyFile(dir_.File("data"), dir_.File("unseal.key"));
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->Exec("UPDATE automation_versions SET canonical = replace(canonical, 'erp.internal', "
                              "'erp.attacker.example')").ok());
  }
  ASSERT_TRUE(server_.Start());
  const ApiResponse get = Call("GET", "/v1/automations/invoice-triage/versions/" + v1, nullptr, admin_token_);
  EXPECT_EQ(get.status, 500) << get.body;
  EXPECT_EQ(get.json()["error"]["code"], "version_integrity") << get.body;
  tokens_["olga"] = TokenFor("olga");
  Configure("test");
  const ApiResponse p = Promote("test");
  EXPECT_EQ(p.status, 500) << p.body;
  EXPECT_NE(p.body.find("does not hash to its id"), std::string::npos) << p.body;
}

TEST_F(PromotionApiTest, InvalidDefinitionsNameEveryProblemWithPositionAndPointer) {
  const std::string bad = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: invoice-triage
  owner: finance-ops
  data_classification: secretive
trigger: {type: manual}
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api
    headers:
      Authorization: "Bearer hunter2hunter2"
  - id: push
    type: ftp
)";
  const ApiResponse r = As("alice", "PUT", "/v1/automations/invoice-triage", {{"source", bad}});
  ASSERT_EQ(r.status, 400) << r.body;
  const Json problems = r.json()["error"]["details"]["problems"];
  ASSERT_EQ(problems.size(), 3u) << r.body;
  EXPECT_EQ(problems[0]["pointer"], "/metadata/data_classification");
  EXPECT_EQ(problems[0]["line"], 6);
  EXPECT_EQ(problems[1]["pointer"], "/steps/0/headers/Authorization");
  EXPECT_EQ(problems[1]["line"], 13);
  EXPECT_EQ(problems[2]["pointer"], "/steps/1/type");
  EXPECT_EQ(problems[2]["line"], 15);
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos) << "a refused credential is never echoed";
  EXPECT_EQ(As("alice", "GET", "/v1/automations/invoice-triage").status, 404);
}

TEST_F(PromotionApiTest, ASoftMandatoryFailureWaitsForAnOverride) {
  const std::string policy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: confidential-review
hook: promotion
rules:
  - id: no-confidential
    description: Confidential automations get a second look.
    deny: definition.data_classification == "confidential"
    message: "{{ definition.name }} is confidential"
)";
  const std::string binding = R"(apiVersion: cloister/v1
kind: PolicyBinding
metadata:
  name: confidential-review
hook: promotion
policies: [confidential-review]
environments: [test]
level: soft_mandatory
override_roles: [admin]
)";
  ASSERT_EQ(As("admin", "PUT", "/v1/policies/confidential-review", {{"source", policy}}).status, 201);
  ASSERT_EQ(As("admin", "PUT", "/v1/policy-bindings/confidential-review", {{"source", binding}}).status, 201);
  const std::string v1 = Save();
  Configure("test");
  const ApiResponse p = Promote("test");
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string id = p.json()["id"];
  const ApiResponse approved = Approve("bob", id, v1);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json()["state"], "awaiting_approval") << approved.body;
  EXPECT_EQ(Check(approved.json(), "policy")["status"], "waiting");
  EXPECT_EQ(approved.json()["decision"]["outcome"], "overridable");
  EXPECT_EQ(As("olga", "POST", "/v1/promotions/" + id + "/override", {{"reason", "reviewed with security"}}).status, 403);
  const ApiResponse over = As("admin", "POST", "/v1/promotions/" + id + "/override", {{"reason", "reviewed with security"}});
  ASSERT_EQ(over.status, 200) << over.body;
  EXPECT_EQ(over.json()["state"], "approved") << over.body;
  EXPECT_EQ(over.json()["decision"]["outcome"], "overridden");
  // The refused override by olga is recorded too, as denied.
  const Json overrides = EventsFor(id, "promotion.override");
  ASSERT_EQ(overrides.size(), 2u) << overrides.dump();
  EXPECT_EQ(overrides[0]["outcome"], "denied");
  EXPECT_EQ(overrides[0]["details"]["rule"], "override_not_allowed");
  EXPECT_EQ(overrides[0]["env"], "test");
  EXPECT_EQ(overrides[1]["outcome"], "success");
}


TEST_F(PromotionApiTest, CloisterctlDrivesTheWorkflow) {
  const std::string file = dir_.File("invoice-triage.yaml");
  WriteText(file, Definition());
  CommandResult r = RunCloisterctl(server_, {"automation", "validate", file}, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("needs secret erp_token"), std::string::npos) << r.out;
  r = RunCloisterctl(server_, {"automation", "save", file}, tokens_["alice"]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string v1 = Live("dev");
  r = RunCloisterctl(server_, {"automation", "save", file, "--if-match", std::string(64, 'f')}, tokens_["alice"]);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("stale"), std::string::npos) << r.err;

  r = RunCloisterctl(server_, {"diff", "--from", "dev", "--to", "test"}, tokens_["olga"]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("missing in test: secret erp_token"), std::string::npos) << r.out;
  Configure("test");
  r = RunCloisterctl(server_, {"--json", "promote", "invoice-triage", "--to", "test"}, tokens_["olga"]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = Json::parse(r.out)["id"];
  r = RunCloisterctl(server_, {"approve", id}, tokens_["bob"]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Approving version " + v1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("state      approved"), std::string::npos) << r.out;
  r = RunCloisterctl(server_, {"deploy", id}, tokens_["olga"]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCloisterctl(server_, {"status", id}, tokens_["bob"]);
  EXPECT_NE(r.out.find("state      deployed"), std::string::npos) << r.out;
  r = RunCloisterctl(server_, {"rollback", "invoice-triage", "--env", "test", "--reason", "bad"}, tokens_["olga"]);
  EXPECT_EQ(r.exit_code, 1) << "nothing was live in test before v1";
  EXPECT_NE(r.err.find("nothing to roll back to"), std::string::npos) << r.err;
  r = RunCloisterctl(server_, {"reject", id, "--comment", "too late"}, tokens_["bob"]);
  EXPECT_EQ(r.exit_code, 1);
}


TEST_F(PromotionApiTest, EnvironmentDiffNeedsReadAccessToBothEnvironments) {
  Save();
  Configure("prod");
  MakeUser("dina", {"author@dev"}, kPassword);
  const std::string dina = TokenFor("dina");
  const ApiResponse refused = Call("GET", "/v1/environment-diff?from=prod&to=dev", nullptr, dina);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.json()["error"]["details"]["environment"], "prod");
  EXPECT_EQ(refused.body.find("erp_token"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/environment-diff?from=dev&to=prod", nullptr, dina).status, 403);
  EXPECT_EQ(Call("GET", "/v1/environment-diff?from=dev&to=dev", nullptr, dina).status, 200);
  EXPECT_EQ(As("olga", "GET", "/v1/environment-diff?from=prod&to=dev").status, 200);  // operator on *
  // What is live where: only the environments dina reads.
  const Json live = Call("GET", "/v1/automations/invoice-triage", nullptr, dina).json()["live"];
  EXPECT_EQ(live.size(), 1u) << live.dump();
  EXPECT_TRUE(live.contains("dev")) << live.dump();
  EXPECT_EQ(As("olga", "GET", "/v1/automations/invoice-triage").json()["live"].size(), 3u);
  const Json denials = Events("action=auth.authorize&outcome=denied");
  ASSERT_FALSE(denials.empty());
  EXPECT_EQ(denials.back()["env"], "prod");
}

// The promotion guide's example pipeline, exactly as printed, is stored and
// gates a prod promotion with the policy it names.
TEST_F(PromotionApiTest, ThePromotionGuidesExamplePipelineWorksAsPasted) {
  const std::string guide = testing::Slurp(CLOISTER_SOURCE_DIR "/docs/promotion-guide.md");
  const size_t start = guide.find("```yaml\napiVersion: cloister/v1\nkind: Pipeline");
  ASSERT_NE(start, std::string::npos);
  const size_t body = guide.find('\n', start) + 1;
  const std::string example = guide.substr(body, guide.find("```", body) - body);
  const ApiResponse put = As("admin", "PUT", "/v1/pipelines/default", {{"source", example}});
  ASSERT_EQ(put.status, 201) << put.body;
  const Json shown = As("admin", "GET", "/v1/pipelines/default").json();
  EXPECT_EQ(shown["stages"]["prod"]["policies"], Json({"baseline"})) << shown.dump();
}

// Rollback approvals follow the pipeline's rollback rule, which lets an
// operator approve by default.
TEST_F(PromotionApiTest, AnOperatorMayApproveARollbackAsThePipelineAllows) {
  const std::string v1 = Save();
  Configure("test");
  PromoteAndDeploy("test", {"bob"}, v1);
  const std::string v2 = Save(Definition("Sorts invoices, second draft."));
  PromoteAndDeploy("test", {"bob"}, v2);
  MakeUser("otto", {"operator@test"}, kPassword);
  const ApiResponse rb = As("olga", "POST", "/v1/environments/test/rollbacks",
                            {{"automation", "invoice-triage"}, {"reason", "v2 misfiles invoices"}});
  ASSERT_EQ(rb.status, 201) << rb.body;
  const std::string id = rb.json()["id"];
  const ApiResponse approved = Call("POST", "/v1/promotions/" + id + "/approve", {{"version", v1}}, TokenFor("otto"));
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json()["state"], "approved") << approved.body;
  ASSERT_EQ(As("olga", "POST", "/v1/promotions/" + id + "/deploy").status, 200);
  // An ordinary promotion still needs an approver: the operator's approval is refused and recorded.
  const std::string v3 = Save(Definition("Sorts invoices, third draft."));
  const ApiResponse p = Promote("test");
  ASSERT_EQ(p.status, 201) << p.body;
  const ApiResponse refused =
      Call("POST", "/v1/promotions/" + p.json()["id"].get<std::string>() + "/approve", {{"version", v3}}, TokenFor("otto"));
  EXPECT_EQ(refused.status, 403) << refused.body;
}

// What-if evaluation binds the pipeline's required policies as the gate does:
// the built-in default requires baseline for prod, which one approval fails.
TEST_F(PromotionApiTest, WhatIfEvaluatesThePipelineBoundPoliciesLikeTheGate) {
  const Json input = {
      {"time", "2026-11-18T10:00:00Z"},
      {"promotion",
       {{"id", "prm-1"}, {"automation", "invoice-triage"}, {"version", "v-abc"}, {"from", "test"}, {"to", "prod"},
        {"requester", "olga"}, {"author", "alice"}, {"requested_at", "2026-11-18T09:00:00Z"},
        {"approvals", {{{"user", "bob"}, {"roles", {"approver"}}, {"at", "2026-11-18T09:30:00Z"}, {"version", "v-abc"}}}}}},
      {"definition", {{"name", "invoice-triage"}, {"description", "d"}, {"owner", "o"}, {"data_classification", "internal"},
                      {"steps", Json::array()}}},
      {"environment", {{"name", "prod"}}},
      {"live", {{{"environment", "test"}, {"version", "v-abc"}}}}};
  const ApiResponse r = As("admin", "POST", "/v1/policy/evaluate",
                           {{"hook", "promotion"}, {"environment", "prod"}, {"input", input}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["pipeline"]["name"], "default") << r.body;
  EXPECT_EQ(r.json()["pipeline"]["policies"], Json({"baseline"})) << r.body;
  EXPECT_FALSE(r.json()["allowed"].get<bool>()) << r.body;
  bool pipeline_binding_failed = false;
  const Json bindings = r.json()["bindings"];
  for (const Json& b : bindings) {
    pipeline_binding_failed |= b["binding"] == "pipeline:default/prod/baseline" && b["failed"] == true;
  }
  EXPECT_TRUE(pipeline_binding_failed) << r.body;
}

// Refusals name the environment, the promotion, its version and the rule,
// so a search by environment and outcome finds them.
TEST_F(PromotionApiTest, RefusedApprovalsAndDeploysSayWhatTheyRefused) {
  const std::string v1 = Save();
  Configure("test");
  const ApiResponse p = Promote("test");
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string id = p.json()["id"];
  EXPECT_EQ(Approve("alice", id, v1).status, 403);                      // the author
  EXPECT_EQ(Approve("bob", id, std::string(64, 'b')).status, 409);      // another version
  const Json denied = Events("env=test&outcome=denied");
  ASSERT_GE(denied.size(), 2u) << denied.dump();
  std::set<std::string> rules;
  for (const Json& e : denied) {
    if (e["action"] != "promotion.approval") continue;
    EXPECT_EQ(e["env"], "test");
    EXPECT_EQ(e["details"]["promotion"], id);
    EXPECT_EQ(e["details"]["version"], v1);
    EXPECT_EQ(e["details"]["automation"], "invoice-triage");
    rules.insert(e["details"]["rule"].get<std::string>());
  }
  EXPECT_EQ(rules, (std::set<std::string>{"self_approval", "version_mismatch"}));
}

// ---- people are identified by user id, never by a token's name ----------------

class IdentitySpoofingTest : public PromotionApiTest {
 protected:
  // An API token of `user`, named `name`, made with their login session.
  std::string ApiTokenOf(const std::string& user, const std::string& name) {
    const LoginResult session = Login(user, kPassword);
    const ApiResponse r = CookieCall("POST", "/v1/auth/tokens", session, {{"name", name}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("token", "");
  }
  ApiResponse ApproveWith(const std::string& credential, const std::string& id, const std::string& version) {
    return Call("POST", "/v1/promotions/" + id + "/approve", {{"version", version}, {"comment", "fine"}}, credential);
  }
  // v1 saved by alice and live in test; configuration everywhere.
  std::string LiveInTest() {
    const std::string v1 = Save();
    Configure("test");
    Configure("prod");
    PromoteAndDeploy("test", {"bob"}, v1);
    return v1;
  }
};

TEST_F(IdentitySpoofingTest, OneApproverCannotSatisfyATwoApproverRuleWithATokenAndASession) {
  const std::string v1 = LiveInTest();
  const ApiResponse p = Promote("prod");
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string id = p.json()["id"];
  ASSERT_EQ(Approve("bob", id, v1).status, 200);  // bob's login session
  const ApiResponse again = ApproveWith(ApiTokenOf("bob", "carol"), id, v1);  // bob's API token
  EXPECT_NE(again.status, 500) << again.body;
  const Json page = As("bob", "GET", "/v1/promotions/" + id).json();
  EXPECT_EQ(page["state"], "awaiting_approval") << page.dump();
  EXPECT_EQ(page["approvals"].size(), 1u) << page.dump();
  EXPECT_EQ(page["approvals"][0]["user"], "bob");
}

TEST_F(IdentitySpoofingTest, AnAuthorCannotApproveTheirOwnChangeRequestedWithATokenAndApprovedWithASession) {
  // The author saves with a token and approves with the session.
  MakeUser("rita", {"author@dev", "operator@test", "approver@test"}, kPassword);
  const std::string rita_token = ApiTokenOf("rita", "ci-bot");
  const ApiResponse saved = Call("PUT", "/v1/automations/invoice-triage", {{"source", Definition()}}, rita_token);
  ASSERT_EQ(saved.status, 201) << saved.body;
  const std::string v1 = saved.json()["version"];
  Configure("test");
  // The requester requests with a token and approves with the session.
  const ApiResponse p = Call("POST", "/v1/promotions", {{"automation", "invoice-triage"}, {"to", "test"}}, rita_token);
  ASSERT_EQ(p.status, 201) << p.body;
  EXPECT_EQ(p.json()["author"], "rita");
  EXPECT_EQ(p.json()["requester"], "rita");
  EXPECT_EQ(p.json()["requester_id"], p.json()["author_id"]);
  const ApiResponse self = ApproveWith(TokenFor("rita"), p.json()["id"], v1);
  EXPECT_EQ(self.status, 403) << self.body;
  EXPECT_EQ(self.json()["error"]["code"], "self_approval");
}

TEST_F(IdentitySpoofingTest, AnAuthorCannotCancelAnotherUsersPromotionWithATokenNamedAfterThem) {
  const std::string v1 = Save();
  Configure("test");
  const ApiResponse p = Promote("test");  // olga's
  ASSERT_EQ(p.status, 201) << p.body;
  ASSERT_EQ(As("admin", "POST", "/v1/users/alice/roles", {{"role", "author"}, {"environment", "test"}}).status, 201);
  const ApiResponse cancel = Call("POST", "/v1/promotions/" + p.json()["id"].get<std::string>() + "/cancel",
                                  {{"reason", "mine now"}}, ApiTokenOf("alice", "olga"));
  EXPECT_EQ(cancel.status, 403) << cancel.body;
  EXPECT_EQ(As("olga", "GET", "/v1/promotions/" + p.json()["id"].get<std::string>()).json()["state"],
            "awaiting_approval");
}

TEST_F(IdentitySpoofingTest, ATokenNamedAdminIsRecordedAsItsOwner) {
  const std::string olga_id = As("olga", "GET", "/v1/auth/whoami").json()["user"]["id"];
  const std::string token = ApiTokenOf("olga", "admin");
  ASSERT_EQ(Call("PUT", "/v1/environments/dev/variables/region", {{"value", "us"}}, token).status, 200);
  const Json items = As("olga", "GET", "/v1/environments/dev/variables").json()["items"];
  ASSERT_EQ(items.size(), 1u) << items.dump();
  EXPECT_EQ(items[0]["updated_by"], "olga");
  EXPECT_EQ(items[0]["updated_by_id"], olga_id);
  // The ledger names the owner as actor and the token as the means.
  const Json events = Events("action=environment.variable.set");
  ASSERT_FALSE(events.empty());
  const Json& e = events.back();
  EXPECT_EQ(e["actor"]["kind"], "user") << e.dump();
  EXPECT_EQ(e["actor"]["id"], olga_id);
  EXPECT_EQ(e["actor"]["name"], "olga");
  EXPECT_EQ(e["details"]["via_token"].get<std::string>().rfind("hmac-sha256:", 0), 0u) << e.dump();
}

TEST_F(IdentitySpoofingTest, TokenNamesArePrintableLabelsUniquePerOwner) {
  const LoginResult olga = Login("olga", kPassword);
  ASSERT_EQ(CookieCall("POST", "/v1/auth/tokens", olga, {{"name", "deploy"}}).status, 201);
  const ApiResponse twice = CookieCall("POST", "/v1/auth/tokens", olga, {{"name", "deploy"}});
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(CookieCall("POST", "/v1/auth/tokens", Login("bob", kPassword), {{"name", "deploy"}}).status, 201);
  for (const std::string& bad : {std::string("line\nforged"), std::string("esc\x1b[2J"), std::string("c1\xc2\x9b"), std::string("\x7f")}) {
    const ApiResponse r = CookieCall("POST", "/v1/auth/tokens", olga, {{"name", bad}});
    EXPECT_EQ(r.status, 400) << r.body;
  }
}

}  // namespace
}  // namespace cloister::testing
