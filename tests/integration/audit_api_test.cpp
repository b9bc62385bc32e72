// The audit ledger through the real cloisterd over HTTPS, checked offline
// with the real cloister-verify binary.
#include <sys/wait.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "appliance/storage/connection.h"
#include "appliance/identity/token_store.h"
#include "tests/integration/appliance_server.h"

namespace cloister {
namespace {

using testing::ApplianceServer;
using testing::OpenDatabaseWithKeyFile;

// Runs a command, returning its exit code and standard output.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

class AuditApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    const ApiResponse init = Call("POST", "/v1/sys/init", {{"key_file", dir_.File("unseal.key")}, {"appliance_name", "lab"}});
    ASSERT_EQ(init.status, 200) << init.body;
    token_ = init.json()["initial_admin_token"];
    ASSERT_EQ(Call("POST", "/v1/sys/unseal", Json::object()).status, 200);
    key_ = Text("/v1/audit/public-key");
    testing::WriteText(dir_.File("vkey"), key_);
  }

  ApiResponse Call(const std::string& method, const std::string& path, const Json& body = nullptr,
                   const std::string& token = "", const std::map<std::string, std::string>& headers = {}) {
    return testing::Call(server_, method, path, body, token, headers);
  }
  std::string Text(const std::string& path) { return Call("GET", path, nullptr, token_).body; }
  Json Get(const std::string& path) { return Call("GET", path, nullptr, token_).json(); }
  std::string Export(const Json& body, const std::string& name) {
    ApiResponse r = Call("POST", "/v1/audit/exports", body, token_);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/gzip");
    testing::WriteText(dir_.File(name), r.body);
    return dir_.File(name);
  }
  std::pair<int, std::string> VerifyBundle(const std::string& bundle, const std::string& extra = "") {
    return Shell(std::string(CLOISTER_VERIFY_PATH) + " bundle " + bundle + " --key " + dir_.File("vkey") + " " + extra);
  }

  testing::TempDir dir_;
  ApplianceServer server_{dir_.File("data")};
  std::string token_;
  std::string key_;
};

TEST_F(AuditApiTest, RecordsInitUnsealAndEveryAuthenticationAttempt) {
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, "cloister_" + std::string(43, 'B')).status, 401);
  const Json events = Get("/v1/audit/events?limit=1000")["events"];
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0]["seq"], 0);
  EXPECT_EQ(events[0]["action"], "system.init");
  EXPECT_EQ(events[0]["details"]["appliance_name"], "lab");
  EXPECT_EQ(events[1]["action"], "system.unseal");
  bool saw_denied = false;
  for (const auto& e : events) {
    if (e["action"] == "auth.token" && e["outcome"] == "denied") {
      saw_denied = true;
      // The presented token appears only in the matchable HMAC form.
      const std::string presented = "cloister_" + std::string(43, 'B');
      EXPECT_EQ(e["details"]["token"], Call("POST", "/v1/audit/hash", {{"value", presented}}, token_).json()["hash"]);
      EXPECT_EQ(e.dump().find(presented), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_denied);
  // No secret anywhere in the ledger.
  const std::string all = Get("/v1/audit/events?limit=1000").dump();
  EXPECT_EQ(all.find(token_), std::string::npos);
  EXPECT_EQ(all.find(testing::Slurp(dir_.File("unseal.key")).substr(0, 64)), std::string::npos);
}

TEST_F(AuditApiTest, AnAuditorTokenReadsTheLedgerAndIsForbiddenElsewhere) {
  // The admin's own token, narrowed to the auditor role.
  const ApiResponse created =
      Call("POST", "/v1/auth/tokens", {{"name", "quarterly review"}, {"roles", {"auditor"}}}, token_);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string auditor = created.json()["token"];

  EXPECT_EQ(Call("GET", "/v1/audit/events", nullptr, auditor).status, 200);
  const ApiResponse forbidden = Call("GET", "/v1/environments", nullptr, auditor);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.json()["error"]["code"], "forbidden");
  EXPECT_EQ(forbidden.json()["error"]["details"]["required_roles"], Json::array({"author", "approver", "operator"}));
  EXPECT_EQ(Call("POST", "/v1/sys/seal", nullptr, auditor).status, 403);
  EXPECT_EQ(Get("/v1/sys/seal-status").value("sealed", true), false);  // still unsealed

  const Json denials = Get("/v1/audit/events?action=auth.authorize&outcome=denied")["events"];
  ASSERT_EQ(denials.size(), 2u);
  // The token's owner acted, through the token (a label, never an identity).
  EXPECT_EQ(denials[0]["actor"]["name"], "admin");
  EXPECT_TRUE(denials[0]["details"].contains("via_token")) << denials[0].dump();
  EXPECT_EQ(denials[0]["details"]["path"], "/v1/environments");
}

TEST_F(AuditApiTest, RecordsARefusedInitOfARunningAppliance) {
  EXPECT_EQ(Call("POST", "/v1/sys/init", {{"shares", 1}, {"threshold", 1}}).status, 409);
  const Json denied = Get("/v1/audit/events?action=system.init&outcome=denied")["events"];
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0]["actor"]["kind"], "anonymous");
  EXPECT_NE(denied[0]["reason"].get<std::string>().find("already initialized"), std::string::npos);
}

TEST_F(AuditApiTest, FiltersAndPaginatesEvents) {
  for (int i = 0; i < 5; ++i) Get("/v1/environments");
  const Json page = Get("/v1/audit/events?action=auth.token&limit=2");
  ASSERT_EQ(page["events"].size(), 2u);
  const uint64_t cursor = page["next_cursor"];
  const Json next = Get("/v1/audit/events?action=auth.token&limit=2&cursor=" + std::to_string(cursor));
  EXPECT_EQ(next["events"][0]["seq"], cursor);
  EXPECT_EQ(Get("/v1/audit/events?outcome=denied")["events"].size(), 0u);
  EXPECT_EQ(Call("GET", "/v1/audit/events?limit=0", nullptr, token_).status, 400);
  EXPECT_EQ(Call("GET", "/v1/audit/events?from_seq=x", nullptr, token_).status, 400);
}

TEST_F(AuditApiTest, CheckpointsAndProofsVerifyOffline) {
  const Json latest = Get("/v1/audit/checkpoints/latest");
  EXPECT_GT(latest["size"].get<uint64_t>(), 0u);
  EXPECT_EQ(latest["note"].get<std::string>().rfind("lab/audit\n", 0), 0u);
  EXPECT_FALSE(Get("/v1/audit/checkpoints")["checkpoints"].empty());

  const std::string proof = Text("/v1/audit/proofs/inclusion?seq=1&format=tlog-proof");
  EXPECT_EQ(proof.rfind("c2sp.org/tlog-proof@v1\nindex 1\n", 0), 0u) << proof;
  testing::WriteText(dir_.File("proof"), proof);
  // The event's exact bytes, as exported.
  const std::string bundle = Export({{"from_seq", 1}, {"to_seq", 1}}, "one.tar.gz");
  ASSERT_EQ(Shell("mkdir -p " + dir_.File("one") + " && tar -xzf " + bundle + " -C " + dir_.File("one")).first, 0);
  const std::string event = testing::Slurp(dir_.File("one/cloister-audit-1-1/events.jsonl"));
  testing::WriteText(dir_.File("event.json"), event);
  auto [code, out] = Shell(std::string(CLOISTER_VERIFY_PATH) + " proof " + dir_.File("proof") + " --event " +
                         dir_.File("event.json") + " --key " + dir_.File("vkey"));
  EXPECT_EQ(code, 0) << out;
  testing::WriteText(dir_.File("event.json"), event.substr(0, 20) + " " + event.substr(20));
  EXPECT_EQ(Shell(std::string(CLOISTER_VERIFY_PATH) + " proof " + dir_.File("proof") + " --event " +
                dir_.File("event.json") + " --key " + dir_.File("vkey")).first, 1);

  const Json consistency = Get("/v1/audit/proofs/consistency?from=1");
  EXPECT_TRUE(consistency["proof"].is_array());
  EXPECT_EQ(Call("GET", "/v1/audit/proofs/consistency?from=0", nullptr, token_).status, 400);
  EXPECT_EQ(Call("GET", "/v1/audit/proofs/inclusion?seq=999999", nullptr, token_).status, 400);
}

TEST_F(AuditApiTest, ExportVerifiesWithCloisterVerifyAndStateCarriesBetweenReviews) {
  const std::string first = Export(Json::object(), "first.tar.gz");
  auto [code, out] = VerifyBundle(first, "--state " + dir_.File("review.state"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("VERIFIED"), std::string::npos);
  const uint64_t accepted = Json::parse(testing::Slurp(dir_.File("review.state")))["size"];

  Get("/v1/environments");
  // Without a consistency proof from the accepted size the next review fails...
  EXPECT_EQ(VerifyBundle(Export({{"from_seq", accepted}}, "bad.tar.gz"), "--state " + dir_.File("review.state")).first, 1);
  // ...with it, it passes and the state moves on.
  const std::string second = Export({{"from_seq", accepted}, {"since_size", accepted}}, "second.tar.gz");
  auto [code2, json] = VerifyBundle(second, "--state " + dir_.File("review.state") + " --json");
  ASSERT_EQ(code2, 0) << json;
  const Json report = Json::parse(json);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_GT(Json::parse(testing::Slurp(dir_.File("review.state")))["size"].get<uint64_t>(), accepted);
}

TEST_F(AuditApiTest, TamperedExportIsRefusedNamingTheFile) {
  const std::string bundle = Export(Json::object(), "t.tar.gz");
  ASSERT_EQ(Shell("mkdir -p " + dir_.File("t") + " && tar -xzf " + bundle + " -C " + dir_.File("t")).first, 0);
  std::string dir;
  for (const auto& e : std::filesystem::directory_iterator(dir_.File("t"))) dir = e.path().string();
  std::string events = testing::Slurp(dir + "/events.jsonl");
  events.replace(events.find("system.unseal"), 13, "system.unseaL");
  testing::WriteText(dir + "/events.jsonl", events);
  auto [code, out] = VerifyBundle(dir);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("FAIL  events.jsonl: SHA-256 does not match the manifest"), std::string::npos) << out;
  // A key the auditor did not pin is refused even though the manifest names its own.
  testing::WriteText(dir_.File("other.vkey"), "lab/audit+00000000+AQ" + std::string(42, 'A') + "=");
  EXPECT_EQ(Shell(std::string(CLOISTER_VERIFY_PATH) + " bundle " + bundle + " --key " + dir_.File("other.vkey")).first, 2);
}

TEST_F(AuditApiTest, FilteredExportRedactsOthersAndNeutralizesCsvFormulas) {
  // A request id is chosen by the client: one that starts like a formula.
  Call("GET", "/v1/environments", nullptr, token_, {{"X-Request-Id", "-1-1"}});
  const std::string bundle = Export({{"filter", {{"action", "auth.token"}}}}, "f.tar.gz");
  ASSERT_EQ(VerifyBundle(bundle).first, 0);
  ASSERT_EQ(Shell("mkdir -p " + dir_.File("f") + " && tar -xzf " + bundle + " -C " + dir_.File("f")).first, 0);
  std::string dir;
  for (const auto& e : std::filesystem::directory_iterator(dir_.File("f"))) dir = e.path().string();
  const std::string jsonl = testing::Slurp(dir + "/events.jsonl");
  EXPECT_EQ(jsonl.rfind("{\"redacted\":true,\"seq\":0,\"leaf_hash\":\"", 0), 0u) << jsonl.substr(0, 100);
  const std::string csv = testing::Slurp(dir + "/events.csv");
  EXPECT_NE(csv.find(",'-1-1,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find(",-1-1,"), std::string::npos);
}

TEST_F(AuditApiTest, VerifyReportsAnIntactLedger) {
  const Json report = Get("/v1/audit/verify");
  EXPECT_TRUE(report["ok"].get<bool>()) << report.dump();
  EXPECT_GT(report["events_checked"].get<uint64_t>(), 2u);
}

TEST_F(AuditApiTest, SelfCheckAtUnsealRefusesWritesAfterTampering) {
  Get("/v1/audit/checkpoints/latest");  // a checkpoint covering what follows
  for (int i = 0; i < 3; ++i) Get("/v1/environments");
  const uint64_t size = Get("/v1/audit/checkpoints/latest")["size"];
  Get("/v1/environments");  // events after the latest checkpoint
  EXPECT_EQ(server_.Stop(), 0);

  // Someone with the data key edits an event after the latest checkpoint.
  {
    auto conn = OpenDatabaseWithKeyFile(dir_.File("data"), dir_.File("unseal.key"));
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->Exec("UPDATE audit_events SET data = replace(data, '\"GET\"', '\"PUT\"') WHERE seq = " +
                              std::to_string(size)).ok());
  }

  ASSERT_TRUE(server_.Start());  // key-file seal: unseals itself and self-checks
  const ApiResponse health = Call("GET", "/v1/sys/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_FALSE(health.json()["ledger_integrity"]["ok"].get<bool>()) << health.body;
  const ApiResponse write = Call("POST", "/v1/audit/hash", {{"value", "x"}}, token_);
  EXPECT_EQ(write.status, 503);
  EXPECT_EQ(write.json()["error"]["code"], "ledger_integrity");
  const Json report = Get("/v1/audit/verify");
  EXPECT_FALSE(report["ok"].get<bool>());
  EXPECT_EQ(report["first_bad_seq"], size);
  EXPECT_NE(Text("/metrics").find("cloister_audit_ledger_intact 0"), std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/sys/seal", nullptr, token_).status, 200);  // sealing still works
}

}  // namespace
}  // namespace cloister
