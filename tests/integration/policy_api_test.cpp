// The policy engine over HTTPS: documents loaded from the configured
// directory and the database, versioned and audited changes that are never
// half-applied, what-if evaluation, and each enforcement level at the
// api.request hook, overrides included.
#include <filesystem>

#include "appliance/core/files.h"
#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

// Refuses POST /v1/auth/tokens: a rule every test can trip on demand.
const char* kTokenPolicy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: console-only-tokens
  description: Tokens are made at the console.
hook: api.request
rules:
  - id: no-api-tokens
    description: API tokens are not created through the API.
    deny: request.method == "POST" && request.route == "/v1/auth/tokens"
    message: "{{ principal.user }} may not create tokens with {{ request.method }} {{ request.path }}"
)";

std::string TokenBinding(const std::string& level, const std::string& extra = "") {
  return "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata:\n  name: tokens\nhook: api.request\n"
         "policies: [console-only-tokens]\nenvironments: [\"*\"]\nlevel: " +
         level + "\n" + extra;
}

class PolicyApiTest : public IdentityFixture {
 protected:
  void BootWithPolicies(const std::string& directory) {
    Boot(std::string(kDefaultAuth) + "policy:\n  directory: " + directory + "\n");
  }
  ApiResponse Put(const std::string& collection, const std::string& name, const std::string& source) {
    return Call("PUT", "/v1/" + collection + "/" + name, {{"source", source}}, admin_token_);
  }
  std::string Digest() { return Call("GET", "/v1/policies", nullptr, admin_token_).json()["policy_set_digest"]; }
  ApiResponse NewToken(const std::string& token, const std::map<std::string, std::string>& headers = {}) {
    // Token names are unique per owner: a fresh one each time.
    return Call("POST", "/v1/auth/tokens", {{"name", "t" + std::to_string(++tokens_made_)}}, token, headers);
  }
  int tokens_made_ = 0;
  // A session for `user` as a bearer token (tokens may not make tokens).
  std::string SessionFor(const std::string& user) {
    const ApiResponse r = Call("POST", "/v1/auth/login",
                               {{"username", user}, {"password", kPassword}, {"return_token", true}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["token"];
  }
  static constexpr const char* kPassword = "correct horse battery staple";
};

TEST_F(PolicyApiTest, LoadsTheShippedPacksFromTheConfiguredDirectory) {
  BootWithPolicies(CLOISTER_SOURCE_DIR "/policies");
  const ApiResponse list = Call("GET", "/v1/policies", nullptr, admin_token_);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json()["items"].size(), 5u) << list.body;
  std::set<std::string> names;
  const Json items = list.json()["items"];
  for (const auto& p : items) {
    names.insert(p["name"].get<std::string>());
    EXPECT_EQ(p["origin"], "directory");
  }
  EXPECT_EQ(names, (std::set<std::string>{"baseline", "change-freeze", "hipaa", "soc2-promotion", "soc2-save"}));
  const ApiResponse baseline = Call("GET", "/v1/policies/baseline", nullptr, admin_token_);
  ASSERT_EQ(baseline.status, 200);
  EXPECT_EQ(baseline.json()["rules"].size(), 20u);
  EXPECT_EQ(baseline.json()["hook"], "promotion");
}

TEST_F(PolicyApiTest, ChangesAreVersionedAuditedAndNeverHalfApplied) {
  BootWithPolicies("");
  const std::string empty = Digest();
  ApiResponse r = Put("policies", "console-only-tokens", kTokenPolicy);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["version"], 1);
  const std::string v1 = Digest();
  EXPECT_NE(v1, empty);
  EXPECT_EQ(r.json()["policy_set_digest"], v1);

  std::string changed = kTokenPolicy;
  changed.replace(changed.find("Tokens are made"), 15, "Tokens are minted");
  r = Put("policies", "console-only-tokens", changed);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["version"], 2);

  // A broken document: refused with its position, and nothing changes.
  std::string broken = changed;
  broken.replace(broken.find("request.route"), 13, "request.rout");
  const std::string before = Digest();
  r = Put("policies", "console-only-tokens", broken);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["message"],
            "database:Policy/console-only-tokens@v3:10:39: unknown input field \"rout\" of \"request\" (its fields: "
            "method, path, route, environment, source_ip, request_id) (in rules[0].deny)");
  EXPECT_EQ(Digest(), before);
  // A binding naming a missing policy, a name that disagrees with the path,
  // a document of the other kind: all refused.
  EXPECT_EQ(Put("policy-bindings", "tokens", "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata: {name: tokens}\n"
                                             "hook: api.request\npolicies: [nope]\nenvironments: [\"*\"]\nlevel: advisory\n")
                .status,
            412);
  EXPECT_EQ(Put("policies", "other-name", kTokenPolicy).status, 400);
  EXPECT_EQ(Put("policy-bindings", "console-only-tokens", kTokenPolicy).status, 400);
  EXPECT_EQ(Digest(), before);

  const Json versions = Call("GET", "/v1/policies/console-only-tokens/versions", nullptr, admin_token_).json();
  ASSERT_EQ(versions["versions"].size(), 2u);
  EXPECT_EQ(Call("GET", "/v1/policies/console-only-tokens?version=1", nullptr, admin_token_).json()["source"],
            kTokenPolicy);
  EXPECT_EQ(Call("GET", "/v1/policies/console-only-tokens", nullptr, admin_token_).json()["source"], changed);

  // A bound policy cannot be deleted; once unbound it can, and its history stays.
  ASSERT_EQ(Put("policy-bindings", "tokens", TokenBinding("shadow")).status, 201);
  r = Call("DELETE", "/v1/policies/console-only-tokens", nullptr, admin_token_);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "policy_in_use");
  ASSERT_EQ(Call("DELETE", "/v1/policy-bindings/tokens", nullptr, admin_token_).status, 200);
  ASSERT_EQ(Call("DELETE", "/v1/policies/console-only-tokens", nullptr, admin_token_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/policies/console-only-tokens", nullptr, admin_token_).status, 404);
  EXPECT_EQ(Call("GET", "/v1/policies/console-only-tokens/versions", nullptr, admin_token_).json()["versions"].size(), 3u);
  EXPECT_EQ(Digest(), empty);

  const Json puts = Events("action=policy.put");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0]["target"]["id"], "console-only-tokens");
  EXPECT_EQ(puts[0]["details"]["policy_set_digest"], v1);
  EXPECT_EQ(puts[0]["details"]["previous_policy_set_digest"], empty);
  EXPECT_EQ(Events("action=policy.delete").size(), 1u);
  EXPECT_EQ(Events("action=policy.binding.put").size(), 1u);
  EXPECT_EQ(Events("action=policy.binding.delete").size(), 1u);

  // Stored documents are loaded again after a restart.
  ASSERT_EQ(Put("policies", "console-only-tokens", kTokenPolicy).status, 200);
  const std::string stored = Digest();
  server_.Stop();
  ASSERT_TRUE(server_.Start());
  ASSERT_EQ(Call("POST", "/v1/sys/unseal").status, 200);
  EXPECT_EQ(Digest(), stored);
}

TEST_F(PolicyApiTest, OnlyAdminsChangePoliciesAndOthersMayRead) {
  BootWithPolicies("");
  MakeUser("ava", {"auditor@*"}, kPassword);
  const std::string ava = SessionFor("ava");
  EXPECT_EQ(Call("GET", "/v1/policies", nullptr, ava).status, 200);
  EXPECT_EQ(Call("PUT", "/v1/policies/x", {{"source", kTokenPolicy}}, ava).status, 403);
  EXPECT_EQ(Call("POST", "/v1/policy/reload", nullptr, ava).status, 403);
}

TEST_F(PolicyApiTest, EachEnforcementLevelAtTheRequestHook) {
  BootWithPolicies("");
  MakeUser("dora", {"approver@*"}, kPassword);
  MakeUser("erin", {"author@dev"}, kPassword);
  const std::string dora = SessionFor("dora");
  const std::string erin = SessionFor("erin");
  ASSERT_EQ(Put("policies", "console-only-tokens", kTokenPolicy).status, 201);

  // advisory: allowed, with the warning in a header, and recorded.
  ASSERT_EQ(Put("policy-bindings", "tokens", TokenBinding("advisory")).status, 201);
  ApiResponse r = NewToken(erin);
  EXPECT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(r.headers.count("cloister-policy-warning"));
  EXPECT_EQ(r.headers.at("cloister-policy-warning"),
            "console-only-tokens/no-api-tokens: erin may not create tokens with POST /v1/auth/tokens");
  Json decisions = Events("action=policy.decision");
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["outcome"], "success");
  EXPECT_EQ(decisions[0]["details"]["outcome"], "warn");
  EXPECT_EQ(decisions[0]["details"]["input"]["principal"]["user"], "erin");
  EXPECT_EQ(decisions[0]["details"]["input_digest"].get<std::string>().size(), 64u);

  // shadow: allowed, nothing shown, recorded with the failing verdict.
  ASSERT_EQ(Put("policy-bindings", "tokens", TokenBinding("shadow")).status, 200);
  r = NewToken(erin);
  EXPECT_EQ(r.status, 201);
  EXPECT_FALSE(r.headers.count("cloister-policy-warning"));
  decisions = Events("action=policy.decision");
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[1]["details"]["outcome"], "allow");
  EXPECT_EQ(decisions[1]["details"]["bindings"][0]["level"], "shadow");
  EXPECT_EQ(decisions[1]["details"]["bindings"][0]["failed"], true);

  // hard_mandatory: refused with the explanation; no override lifts it.
  ASSERT_EQ(Put("policy-bindings", "tokens", TokenBinding("hard_mandatory")).status, 200);
  r = NewToken(erin);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json()["error"]["code"], "policy_denied");
  const Json verdict = r.json()["error"]["details"]["decision"]["bindings"][0]["verdicts"][0];
  EXPECT_EQ(verdict["verdict"], "fail");
  EXPECT_EQ(verdict["clause"], "request.method == \"POST\" && request.route == \"/v1/auth/tokens\"");
  EXPECT_EQ(NewToken(dora, {{"X-Cloister-Override-Reason", "please"}}).status, 403);
  EXPECT_EQ(NewToken(admin_token_, {{"X-Cloister-Override-Reason", "please"}}).status, 403);
  // The policy routes stay open, so the admin can lift it.
  EXPECT_EQ(Call("GET", "/v1/policies", nullptr, erin).status, 200);
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, erin).status, 200);

  // soft_mandatory: refused, but a named role with a reason overrides it.
  ASSERT_EQ(Put("policy-bindings", "tokens", TokenBinding("soft_mandatory", "override_roles: [approver]\n")).status, 200);
  r = NewToken(erin);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json()["error"]["code"], "policy_override_required");
  EXPECT_EQ(r.json()["error"]["details"]["decision"]["override_roles"], Json::array({"approver"}));
  r = NewToken(erin, {{"X-Cloister-Override-Reason", "I really want one"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json()["error"]["details"]["decision"]["override_refused"],
            "overriding policy binding \"tokens\" needs one of the roles: approver");
  EXPECT_EQ(NewToken(dora, {{"X-Cloister-Override-Reason", "   "}}).status, 403);
  r = NewToken(dora, {{"X-Cloister-Override-Reason", "CHG-1182: vault migration needs a service token"}});
  EXPECT_EQ(r.status, 201) << r.body;
  decisions = Events("action=policy.decision");
  const Json& last = decisions[decisions.size() - 1];
  EXPECT_EQ(last["details"]["outcome"], "overridden");
  EXPECT_EQ(last["reason"], "override: CHG-1182: vault migration needs a service token");
  EXPECT_EQ(last["actor"]["name"], "dora");

  // Deleting the binding lifts the policy.
  ASSERT_EQ(Call("DELETE", "/v1/policy-bindings/tokens", nullptr, admin_token_).status, 200);
  EXPECT_EQ(NewToken(erin).status, 201);
}

TEST_F(PolicyApiTest, WhatIfEvaluatesWithoutChangingAnything) {
  BootWithPolicies(CLOISTER_SOURCE_DIR "/policies");
  const std::string before = Digest();
  const std::string binding =
      "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata: {name: baseline-prod}\nhook: promotion\n"
      "policies: [baseline]\nenvironments: [prod]\nlevel: hard_mandatory\n";
  const Json input = {{"time", "2026-11-18T10:00:00Z"},
                      {"promotion",
                       {{"version", "v1"},
                        {"from", "test"},
                        {"to", "prod"},
                        {"author", "alice"},
                        {"approvals", {{{"user", "bob"}, {"version", "v1"}, {"at", "2026-11-18T09:00:00Z"}}}}}},
                      {"definition",
                       {{"name", "x"}, {"owner", "ops"}, {"description", "does a thing"}, {"data_classification", "internal"}}},
                      {"live", {{{"environment", "test"}, {"version", "v1"}}}}};
  ApiResponse r = Call("POST", "/v1/policy/evaluate",
                       {{"hook", "promotion"}, {"environment", "prod"}, {"input", input}, {"documents", {binding}}},
                       admin_token_);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json d = r.json();
  EXPECT_EQ(d["outcome"], "deny");
  EXPECT_EQ(d["what_if"], true);
  EXPECT_NE(d["policy_set_digest"], before);
  std::vector<std::string> failing;
  for (const auto& v : d["bindings"][0]["verdicts"]) {
    if (v["verdict"] == "fail") failing.push_back(v["rule"]);
  }
  EXPECT_EQ(failing, std::vector<std::string>{"prod-two-approvers"});
  // Nothing was stored and nothing recorded as a decision.
  EXPECT_EQ(Digest(), before);
  EXPECT_TRUE(Call("GET", "/v1/policy-bindings", nullptr, admin_token_).json()["items"].empty());
  EXPECT_TRUE(Events("action=policy.decision").empty());
  // The same input against the set in force: no binding applies.
  r = Call("POST", "/v1/policy/evaluate", {{"hook", "promotion"}, {"environment", "prod"}, {"input", input}},
           admin_token_);
  EXPECT_EQ(r.json()["outcome"], "allow");
  EXPECT_TRUE(r.json()["bindings"].empty());
  // Malformed what-ifs name what is wrong.
  r = Call("POST", "/v1/policy/evaluate",
           {{"hook", "promotion"}, {"environment", "prod"}, {"input", {{"promotion", {{"aprovals", 1}}}}}}, admin_token_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["message"].get<std::string>().substr(0, 48),
            "input /promotion/aprovals: unknown field (fields");
  r = Call("POST", "/v1/policy/evaluate", {{"hook", "deploy"}, {"environment", "prod"}, {"input", Json::object()}},
           admin_token_);
  EXPECT_EQ(r.status, 400);
  r = Call("POST", "/v1/policy/evaluate", {{"hook", "promotion"}, {"environment", "moon"}, {"input", Json::object()}},
           admin_token_);
  EXPECT_EQ(r.status, 400);
}

TEST_F(PolicyApiTest, ReloadKeepsTheSetInForceWhenTheDirectoryIsBroken) {
  const std::string dir = dir_.File("policies");
  std::filesystem::create_directories(dir);
  WriteText(dir + "/tokens.yaml", kTokenPolicy);
  BootWithPolicies(dir);
  const std::string before = Digest();
  std::string broken = kTokenPolicy;
  broken.replace(broken.find("hook: api.request"), 17, "hook: api.requests");
  WriteText(dir + "/tokens.yaml", broken);
  ApiResponse r = Call("POST", "/v1/policy/reload", nullptr, admin_token_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["message"].get<std::string>(),
            dir + "/tokens.yaml:6:7: hook: must be one of promotion, automation.save, run.step, api.request, got "
                  "\"api.requests\"");
  EXPECT_EQ(Digest(), before);
  EXPECT_EQ(Events("action=policy.reload")[0]["outcome"], "error");
  std::string edited = kTokenPolicy;
  edited.replace(edited.find("Tokens are made"), 15, "Tokens are minted");
  WriteText(dir + "/tokens.yaml", edited);
  r = Call("POST", "/v1/policy/reload", nullptr, admin_token_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(Digest(), before);

  // At start, a broken directory stops cloisterd with the file and position.
  server_.Stop();
  WriteText(dir + "/tokens.yaml", broken);
  std::string console;
  EXPECT_NE(server_.RunToExit(&console), 0);
  EXPECT_NE(console.find("tokens.yaml:6:7: hook: must be one of"), std::string::npos) << console;
}

TEST_F(PolicyApiTest, CloisterctlManagesAndEvaluatesPolicies) {
  BootWithPolicies(CLOISTER_SOURCE_DIR "/policies");
  const std::string policy = dir_.File("tokens.yaml"), binding = dir_.File("binding.yaml"), input = dir_.File("in.json");
  WriteText(policy, kTokenPolicy);
  WriteText(binding, TokenBinding("advisory"));
  WriteText(input, R"({"request": {"method": "POST", "route": "/v1/auth/tokens", "path": "/v1/auth/tokens"},
                      "principal": {"user": "erin"}})");
  CommandResult r = RunCloisterctl(server_, {"policy", "put", policy}, admin_token_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Stored policy console-only-tokens version 1"), std::string::npos) << r.out;
  r = RunCloisterctl(server_, {"policy", "eval", "--hook", "api.request", "--env", "dev", "--input", input, "--with", binding},
                     admin_token_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Outcome: warn (allowed)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("erin may not create tokens with POST /v1/auth/tokens"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("clause: request.method == \"POST\""), std::string::npos) << r.out;
  // The binding was only tried: nothing is stored.
  r = RunCloisterctl(server_, {"policy", "binding", "list"}, admin_token_);
  EXPECT_EQ(r.out.find("tokens"), std::string::npos) << r.out;
  r = RunCloisterctl(server_, {"policy", "list"}, admin_token_);
  EXPECT_NE(r.out.find("console-only-tokens  hook api.request  v1  database"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("baseline  hook promotion  v0  directory"), std::string::npos) << r.out;
  r = RunCloisterctl(server_, {"policy", "history", "console-only-tokens"}, admin_token_);
  EXPECT_NE(r.out.find("v1"), std::string::npos);
  // A broken file is refused with its position, and the exit code says so.
  WriteText(policy, std::string(kTokenPolicy) + "  - id: x\n    description: y\n    require: 1\n");
  r = RunCloisterctl(server_, {"policy", "put", policy}, admin_token_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(":14:14: this expression is an int; a bool is needed here"), std::string::npos) << r.err;
}

TEST(PolicyTestCommandTest, FailsOnAWrongExpectationAndReportsCoverage) {
  TempDir dir;
  WriteText(dir.File("p.yaml"), kTokenPolicy);
  WriteText(dir.File("p_test.yaml"), R"(policies: [console-only-tokens]
cases:
  - name: a token request is refused
    input: {request: {method: POST, route: /v1/auth/tokens}}
    expect: {decision: deny, failing: [no-api-tokens]}
  - name: a wrong expectation
    input: {request: {method: GET, route: /v1/auth/tokens}}
    expect: {decision: deny, failing: [no-api-tokens]}
)");
  ApplianceServer unused(dir.File("data"));
  CommandResult r = RunCloisterctl(unused, {"policy", "test", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("  ok    a token request is refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  FAIL  a wrong expectation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expected deny with failing [no-api-tokens], got allow with failing []"), std::string::npos);
  EXPECT_NE(r.out.find("2 cases, 1 failed; 100% of 1 rules seen failing"), std::string::npos) << r.out;
  // A misspelt input field in a fixture is an error with its line.
  WriteText(dir.File("p_test.yaml"), "policies: [console-only-tokens]\ncases:\n  - name: x\n    input: {request: {methd: GET}}\n    expect: {decision: allow}\n");
  r = RunCloisterctl(unused, {"policy", "test", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("p_test.yaml:4:23: unknown input field \"request.methd\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cloister::testing
