// A policy whose rule reads past the end of a list, bound where cloisterd
// evaluates it: at automation.save (on the writer thread), at api.request
// (on every request thread) and in what-if evaluation. Reading a field of a
// step that does not exist once killed the process; now the rule fails
// closed with the runtime error in its explanation and the appliance keeps
// serving.
#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kMissing = "index 1 is out of range for \"definition.steps\" of size 1";

const char* kSecondStepPolicy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: second-step-url
  description: Every automation calls a second URL.
hook: automation.save
rules:
  - id: second-step-url
    description: The second step has a URL.
    require: definition.steps[1].url != ""
    message: "the second step has no URL"
)";

const char* kSaveBinding = R"(apiVersion: cloister/v1
kind: PolicyBinding
metadata:
  name: second-step-url
hook: automation.save
policies: [second-step-url]
environments: ["*"]
level: hard_mandatory
)";

std::string Definition(bool two_steps) {
  std::string text = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: one-step
  description: Fetches invoices.
  owner: finance-ops
  data_classification: internal
trigger:
  type: manual
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api/invoices
)";
  if (two_steps) text += "  - id: post\n    type: http\n    url: https://erp.internal/api/out\n";
  return text;
}

class PolicyNoValueApiTest : public IdentityFixture {
 protected:
  void SetUp() override {
    Boot(std::string(kDefaultAuth) + "policy:\n  directory: \n");
    MakeUser("alice", {"author@dev"}, kPassword);
    const ApiResponse r =
        Call("POST", "/v1/auth/login", {{"username", "alice"}, {"password", kPassword}, {"return_token", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    alice_ = r.json()["token"];
  }
  ApiResponse Put(const std::string& collection, const std::string& name, const std::string& source) {
    return Call("PUT", "/v1/" + collection + "/" + name, {{"source", source}}, admin_token_);
  }
  ApiResponse Save(bool two_steps) {
    return Call("PUT", "/v1/automations/one-step", {{"source", Definition(two_steps)}}, alice_);
  }
  void ExpectServing() {
    const ApiResponse r = Call("GET", "/v1/auth/whoami", nullptr, admin_token_);
    EXPECT_EQ(r.status, 200) << "cloisterd stopped answering: " << r.body << "\n" << server_.console_log();
  }
  std::string alice_;
};

TEST_F(PolicyNoValueApiTest, ASaveWhoseRuleReadsAMissingStepIsDeniedAndTheApplianceStaysUp) {
  ASSERT_EQ(Put("policies", "second-step-url", kSecondStepPolicy).status, 201);
  ASSERT_EQ(Put("policy-bindings", "second-step-url", kSaveBinding).status, 201);

  for (int attempt = 0; attempt < 3; ++attempt) {  // the writer thread survives every one
    const ApiResponse r = Save(false);
    ASSERT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "policy_denied");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(std::string("(error: ") + kMissing + ")"),
              std::string::npos)
        << r.body;
    const Json verdict = r.json()["error"]["details"]["decision"]["bindings"][0]["verdicts"][0];
    EXPECT_EQ(verdict["rule"], "second-step-url");
    EXPECT_EQ(verdict["verdict"], "error");
    EXPECT_EQ(verdict["error"], kMissing);
    ExpectServing();
  }
  // Nothing was saved, and each refusal was recorded with its error.
  EXPECT_EQ(Call("GET", "/v1/automations/one-step", nullptr, alice_).status, 404);
  const Json decisions = Events("action=policy.decision");
  ASSERT_EQ(decisions.size(), 3u) << decisions.dump();
  for (const Json& d : decisions) {
    EXPECT_EQ(d["outcome"], "denied");
    EXPECT_EQ(d["details"]["bindings"][0]["verdicts"][0]["error"], kMissing);
  }
  // A definition that has the second step is saved by the same writer.
  const ApiResponse ok = Save(true);
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(PolicyNoValueApiTest, WhatIfEvaluationOfAMissingStepAnswersWithTheError) {
  const Json input = {{"time", "2026-11-18T10:00:00Z"},
                      {"definition", {{"name", "one-step"}, {"steps", {{{"id", "fetch"}, {"url", "https://x/"}}}}}}};
  const Json binding = Json::array({kSaveBinding, kSecondStepPolicy});
  for (int attempt = 0; attempt < 3; ++attempt) {
    const ApiResponse r = Call("POST", "/v1/policy/evaluate",
                               {{"hook", "automation.save"}, {"environment", "dev"}, {"input", input}, {"documents", binding}},
                               admin_token_);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["outcome"], "deny") << r.body;
    EXPECT_EQ(r.json()["bindings"][0]["verdicts"][0]["verdict"], "error") << r.body;
    EXPECT_EQ(r.json()["bindings"][0]["verdicts"][0]["error"], kMissing) << r.body;
    ExpectServing();
  }
}

TEST_F(PolicyNoValueApiTest, ARequestRuleReadingAMissingBindingFailsClosedOnEveryRequestThread) {
  // api.request rules run on the request threads, each with its own
  // evaluator: a missing element there refuses the request, it does not
  // take the thread (and the process) down.
  const char* policy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: third-binding
hook: api.request
rules:
  - id: third-binding
    description: Reads a role binding most principals do not have.
    deny: principal.bindings[2].environment == "prod" && request.method == "POST"
)";
  const char* binding = R"(apiVersion: cloister/v1
kind: PolicyBinding
metadata:
  name: third-binding
hook: api.request
policies: [third-binding]
environments: ["*"]
level: hard_mandatory
)";
  ASSERT_EQ(Put("policies", "third-binding", policy).status, 201);
  ASSERT_EQ(Put("policy-bindings", "third-binding", binding).status, 201);
  for (int attempt = 0; attempt < 4; ++attempt) {
    const ApiResponse r = Call("POST", "/v1/auth/tokens", {{"name", "t" + std::to_string(attempt)}}, alice_);
    ASSERT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "policy_denied");
    const Json verdict = r.json()["error"]["details"]["decision"]["bindings"][0]["verdicts"][0];
    EXPECT_EQ(verdict["verdict"], "error") << r.body;
    EXPECT_EQ(verdict["error"].get<std::string>().rfind("index 2 is out of range for \"principal.bindings\"", 0), 0u)
        << r.body;
  }
  ExpectServing();
  // The policy routes stay open, so the admin lifts it.
  ASSERT_EQ(Call("DELETE", "/v1/policy-bindings/third-binding", nullptr, admin_token_).status, 200);
  ExpectServing();
}

}  // namespace
}  // namespace cloister::testing
