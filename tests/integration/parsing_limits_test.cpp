// Parsing is bounded in time and size, over HTTPS against a real cloisterd:
// YAML aliases are refused before they expand, an expensive glob fails its
// rule on the step budget, and JSON numbers no double or int64 holds are a
// 400 naming the field on every route, login included. After each attack the
// server still answers at once.
#include <chrono>

#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

constexpr const char* kPassword = "correct horse battery staple";

// `levels` levels of ten aliases to the level before: 10^levels scalars in a
// few hundred bytes.
std::string AliasBomb(int levels) {
  std::string out = "a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n";
  for (int i = 1; i <= levels; ++i) {
    out += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) out += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    out += "]\n";
  }
  return out;
}

// A valid automation whose steps share a block through an anchor.
const char* kAutomationWithAliases = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: invoice-triage
  description: Sorts incoming invoices.
  owner: finance-ops
  data_classification: internal
trigger:
  type: manual
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api/invoices
    headers: &common
      X-Team: finance
  - id: again
    type: http
    url: https://erp.internal/api/other
    headers: *common
)";

const char* kGlobPolicy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: owner-glob
  description: The owner names the descriptions it may carry.
hook: promotion
rules:
  - id: owner-glob
    description: The description matches the owner's glob.
    deny: matches(definition.description, definition.owner)
    message: "the description does not fit"
)";

const char* kGlobBinding =
    "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata: {name: owner-glob}\nhook: promotion\n"
    "policies: [owner-glob]\nenvironments: [prod]\nlevel: hard_mandatory\n";

class ParsingLimitsTest : public IdentityFixture {
 protected:
  void SetUp() override {
    Boot(std::string(kDefaultAuth) + "policy:\n  directory: \n");
    MakeUser("alice", {"author@dev", "auditor@*"}, kPassword);
    const ApiResponse r =
        Call("POST", "/v1/auth/login", {{"username", "alice"}, {"password", kPassword}, {"return_token", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    alice_ = r.json()["token"];
  }

  // One request with `body` sent byte for byte: numbers such as 1e400 have
  // no nlohmann value to dump.
  ApiResponse Raw(const std::string& method, const std::string& path, const std::string& body,
                  const std::string& token) {
    ApiClient client(server_.Client(token));
    auto r = client.Send(method, path, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ApiResponse{};
  }

  static std::string Message(const ApiResponse& r) {
    const Json j = r.json();
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }

  void ExpectResponsive() {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(Call("GET", "/v1/sys/health").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }

  std::string alice_;
};

TEST_F(ParsingLimitsTest, AliasBombInAnEvaluateBodyIsRefusedBeforeItExpands) {
  const std::string bomb = AliasBomb(7);  // 10^7 nodes once expanded
  ASSERT_LT(bomb.size(), 600u);
  const Json input = {{"definition", {{"name", "x"}}}};
  const auto start = std::chrono::steady_clock::now();
  const ApiResponse r = Call("POST", "/v1/policy/evaluate",
                             {{"hook", "promotion"}, {"environment", "prod"}, {"input", input}, {"documents", {bomb}}},
                             alice_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Message(r).find("documents[0]:1:5: YAML anchor \"&a0\" refused"), std::string::npos) << r.body;
  ExpectResponsive();
}

TEST_F(ParsingLimitsTest, AutomationWithAliasesIsRefusedOnSaveAndValidate) {
  ApiResponse r = Call("PUT", "/v1/automations/invoice-triage", {{"source", kAutomationWithAliases}}, alice_);
  ASSERT_EQ(r.status, 400) << r.body;
  Json problems = r.json()["error"]["details"]["problems"];
  ASSERT_EQ(problems.size(), 1u) << r.body;
  EXPECT_EQ(problems[0]["line"], 14);
  EXPECT_EQ(problems[0]["column"], 14);
  EXPECT_NE(problems[0]["message"].get<std::string>().find("YAML anchor \"&common\" refused"), std::string::npos)
      << r.body;
  EXPECT_EQ(Call("GET", "/v1/automations/invoice-triage", nullptr, alice_).status, 404);

  r = Call("POST", "/v1/automations/validate", {{"source", kAutomationWithAliases}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["valid"], false);
  problems = r.json()["problems"];
  ASSERT_EQ(problems.size(), 1u) << r.body;
  EXPECT_NE(problems[0]["message"].get<std::string>().find("anchors and aliases"), std::string::npos) << r.body;

  // The bomb itself, where the old reader grew by hundreds of megabytes.
  const auto start = std::chrono::steady_clock::now();
  r = Call("POST", "/v1/automations/validate", {{"source", AliasBomb(7)}}, alice_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["valid"], false);
  ExpectResponsive();
}

TEST_F(ParsingLimitsTest, DocumentsOverTheNodeLimitAreRefusedNamingIt) {
  std::string big = "items: [";
  for (int i = 0; i < 120000; ++i) big += i ? ",1" : "1";
  big += "]\n";
  const ApiResponse r = Call("POST", "/v1/automations/validate", {{"source", big}}, alice_);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  EXPECT_EQ(r.json()["valid"], false);
  EXPECT_NE(r.body.find("more than 100000 YAML nodes"), std::string::npos) << r.body.substr(0, 500);
  ExpectResponsive();
}

TEST_F(ParsingLimitsTest, ExpensiveGlobFailsItsRuleOnTheStepBudget) {
  // 200 KB of text and a glob whose middle almost matches at every position.
  const Json input = {{"time", "2026-11-18T10:00:00Z"},
                      {"promotion", {{"version", "v1"}, {"from", "test"}, {"to", "prod"}}},
                      {"definition",
                       {{"name", "x"},
                        {"description", std::string(200000, 'a')},
                        {"owner", "*" + std::string(2000, 'a') + "b*"}}}};
  const auto start = std::chrono::steady_clock::now();
  const ApiResponse r = Call(
      "POST", "/v1/policy/evaluate",
      {{"hook", "promotion"}, {"environment", "prod"}, {"input", input}, {"documents", {kGlobPolicy, kGlobBinding}}},
      alice_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  const Json d = r.json();
  EXPECT_EQ(d["outcome"], "deny");  // fails closed
  ASSERT_EQ(d["bindings"].size(), 1u) << r.body.substr(0, 500);
  const Json verdict = d["bindings"][0]["verdicts"][0];
  EXPECT_EQ(verdict["verdict"], "error");
  EXPECT_EQ(verdict["error"], "step budget of 100000 exhausted");
  ExpectResponsive();
}

TEST_F(ParsingLimitsTest, NumbersOutOfRangeAre400NamingTheFieldOnEveryRoute) {
  struct Case {
    const char* method;
    const char* path;
    std::string body;
    std::string token;
    const char* names;  // what the message must contain
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/auth/login", R"({"username": "alice", "password": 1e400})", "", "/password"},
      {"POST", "/v1/auth/login", R"({"username": "alice", "password": "x", "return_token": -1e400})", "",
       "/return_token"},
      {"POST", "/v1/auth/tokens", R"({"name": "t", "ttl_seconds": 9223372036854775808})", alice_,
       "field \"ttl_seconds\" is out of range"},
      {"POST", "/v1/auth/tokens", R"({"name": "t", "ttl_seconds": 1e19})", alice_,
       "field \"ttl_seconds\" must be an integer"},
      {"POST", "/v1/auth/tokens", R"({"name": "t", "ttl_seconds": 1e400})", alice_, "/ttl_seconds"},
      {"POST", "/v1/audit/exports", R"({"from_seq": 9223372036854775808})", alice_,
       "field \"from_seq\" is out of range"},
      {"POST", "/v1/audit/exports", R"({"since_size": 1e400})", alice_, "/since_size"},
      {"POST", "/v1/policy/evaluate",
       R"({"hook": "promotion", "environment": "prod", "input": {"environment": {"position": 1e400}}})", alice_,
       "/input/environment/position"},
      {"POST", "/v1/policy/evaluate",
       R"({"hook": "promotion", "environment": "prod", "input": {"environment": {"position": 9223372036854775808}}})",
       alice_, "input /environment/position: integer out of range"},
      {"POST", "/v1/policy/evaluate",
       R"({"hook": "promotion", "environment": "prod", "input": {"environment": {"position": 1e19}}})", alice_,
       "input /environment/position: expected an integer"},
      {"PUT", "/v1/automations/invoice-triage", R"({"source": 1e400})", alice_, "/source"},
      {"POST", "/v1/automations/validate", R"({"source": [1, 2, 1e999]})", alice_, "/source/2"},
  };
  for (const Case& c : cases) {
    const ApiResponse r = Raw(c.method, c.path, c.body, c.token);
    EXPECT_EQ(r.status, 400) << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    EXPECT_NE(Message(r).find(c.names), std::string::npos) << c.path << " " << c.body << " -> " << r.body;
  }
  ExpectResponsive();
  // A good login still works afterwards.
  EXPECT_EQ(Call("POST", "/v1/auth/login", {{"username", "alice"}, {"password", kPassword}}).status, 200);
}

}  // namespace
}  // namespace cloister::testing
