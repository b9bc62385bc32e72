// The real cloisterd over HTTPS: init, unseal, seal, health, metrics.
#include <filesystem>

#include <gtest/gtest.h>

#include "appliance/core/version.h"
#include "tests/integration/appliance_server.h"

namespace cloister {
namespace {

using testing::ApplianceServer;

class SysApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }

  ApiResponse Call(const std::string& method, const std::string& path, const Json& body = nullptr,
                   const std::string& token = "", const std::map<std::string, std::string>& headers = {}) {
    return testing::Call(server_, method, path, body, token, headers);
  }
  Json Init(const Json& body) {
    const ApiResponse r = Call("POST", "/v1/sys/init", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  testing::TempDir dir_;
  ApplianceServer server_{dir_.File("data")};
};

TEST_F(SysApiTest, ShamirLifecycleOverHttps) {
  // Not initialized: 501, and everything but the sys endpoints is 503 sealed.
  ApiResponse health = Call("GET", "/v1/sys/health");
  EXPECT_EQ(health.status, 501);
  EXPECT_FALSE(health.json()["initialized"].get<bool>());
  EXPECT_EQ(health.json()["version"], CloisterVersion());
  EXPECT_TRUE(health.json()["uptime_seconds"].is_number_integer());
  EXPECT_EQ(Call("GET", "/v1/environments").json()["error"]["code"], "sealed");

  const Json init = Init({{"shares", 5}, {"threshold", 3}, {"appliance_name", "dc1-lab"}});
  ASSERT_EQ(init["shares"].size(), 5u);
  const std::string token = init["initial_admin_token"];
  EXPECT_EQ(token.rfind("cloister_", 0), 0u);
  EXPECT_EQ(init["environments"], Json::array({"dev", "test", "prod"}));
  EXPECT_FALSE(init["tls_fingerprint"].get<std::string>().empty());

  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 503);
  ApiResponse sealed = Call("GET", "/v1/environments", nullptr, token);
  EXPECT_EQ(sealed.status, 503);
  EXPECT_EQ(sealed.json()["error"]["code"], "sealed");
  EXPECT_EQ(Call("GET", "/metrics", nullptr, token).status, 503);

  ApiResponse one = Call("POST", "/v1/sys/unseal", {{"share", init["shares"][3]}});
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.json()["progress"], 1);
  EXPECT_EQ(one.json()["threshold"], 3);
  EXPECT_TRUE(one.json()["sealed"].get<bool>());
  // A mistyped share is named as such and changes nothing.
  std::string typo = init["shares"][0];
  typo[10] = typo[10] == 'f' ? 'e' : 'f';
  ApiResponse bad = Call("POST", "/v1/sys/unseal", {{"share", typo}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["code"], "invalid_share");
  EXPECT_EQ(bad.json()["error"]["details"]["progress"], 1);
  EXPECT_EQ(Call("POST", "/v1/sys/unseal", {{"share", init["shares"][1]}}).json()["progress"], 2);
  ApiResponse done = Call("POST", "/v1/sys/unseal", {{"share", init["shares"][0]}});
  EXPECT_EQ(done.status, 200);
  EXPECT_FALSE(done.json()["sealed"].get<bool>());

  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 200);
  ApiResponse envs = Call("GET", "/v1/environments", nullptr, token);
  EXPECT_EQ(envs.status, 200) << envs.body;
  EXPECT_EQ(envs.json()["environments"][2]["name"], "prod");
  EXPECT_EQ(Call("GET", "/v1/environments").status, 401);
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, "cloister_" + std::string(43, 'A')).status, 401);

  ApiResponse metrics = Call("GET", "/metrics", nullptr, token);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  for (const char* family : {"cloister_http_requests_total{", "cloister_http_request_duration_seconds_bucket{",
                             "cloister_writer_batch_units", "cloister_writer_commit_seconds", "cloister_sealed 0",
                             "cloister_initialized 1"}) {
    EXPECT_NE(metrics.body.find(family), std::string::npos) << family;
  }

  // Seal, then a restarted process comes up sealed with the same data.
  EXPECT_EQ(Call("POST", "/v1/sys/seal", nullptr, token).status, 200);
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 503);
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start());
  EXPECT_EQ(Call("GET", "/v1/sys/seal-status").json()["sealed"], true);
  for (int i : {4, 2, 0}) Call("POST", "/v1/sys/unseal", {{"share", init["shares"][i]}});
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, token).status, 200);
}

TEST_F(SysApiTest, InitOnlyOnce) {
  Init({{"shares", 1}, {"threshold", 1}});
  ApiResponse again = Call("POST", "/v1/sys/init", {{"shares", 1}, {"threshold", 1}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.json()["error"]["code"], "already_initialized");
}

TEST_F(SysApiTest, InitValidatesItsRequest) {
  EXPECT_EQ(Call("POST", "/v1/sys/init", {{"shares", 3}, {"threshold", 5}}).status, 400);
  EXPECT_EQ(Call("POST", "/v1/sys/init", {{"shares", "five"}}).status, 400);
  EXPECT_EQ(Call("POST", "/v1/sys/init", {{"key_file", "relative.key"}}).status, 400);
  EXPECT_EQ(Call("POST", "/v1/sys/init", {{"environments", {"dev", "dev"}}}).status, 400);
  EXPECT_EQ(Call("POST", "/v1/sys/init", {{"appliance_name", "has space"}}).status, 400);
  ApiResponse unknown = Call("POST", "/v1/sys/init", {{"sharez", 3}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.json()["error"]["message"].get<std::string>().find("sharez"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 501);  // nothing was initialized
}

TEST_F(SysApiTest, UnsealBeforeInitIsRefused) {
  ApiResponse r = Call("POST", "/v1/sys/unseal", {{"share", "00"}});
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.json()["error"]["code"], "not_initialized");
}

TEST_F(SysApiTest, KeyFileSealUnsealsByApiAndAutomaticallyOnRestart) {
  const std::string key_file = dir_.File("unseal.key");
  const Json init = Init({{"key_file", key_file}, {"environments", {"build", "live"}}});
  EXPECT_EQ(init["key_file"], key_file);
  EXPECT_EQ(std::filesystem::status(key_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ApiResponse r = Call("POST", "/v1/sys/unseal", Json::object());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json()["sealed"].get<bool>());
  EXPECT_EQ(Call("POST", "/v1/sys/unseal", {{"share", "abc"}}).status, 200);  // already unsealed: status only

  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start());
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 200);
  ApiResponse envs = Call("GET", "/v1/environments", nullptr, init["initial_admin_token"]);
  EXPECT_EQ(envs.json()["environments"][1]["name"], "live");
}

TEST_F(SysApiTest, DatabaseThatDoesNotDecryptIsReportedWhileTheServerStaysUp) {
  const Json init = Init({{"shares", 1}, {"threshold", 1}});
  EXPECT_EQ(server_.Stop(), 0);
  // Replace the database with bytes that are not this appliance's database.
  testing::WriteText(dir_.File("data/cloister.db"), std::string(16384, '\x5a'));
  ASSERT_TRUE(server_.Start());
  ApiResponse r = Call("POST", "/v1/sys/unseal", {{"share", init["shares"][0]}});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json()["error"]["code"], "database_undecryptable");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("does not decrypt"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 503);
}

TEST(RequestLogTest, OneLinePerRequestWithItsRequestIdAndNoSecrets) {
  testing::TempDir dir;
  ApplianceServer server(dir.File("data"), "", dir.File("log/cloisterd.log"));
  ASSERT_TRUE(server.Start());
  ApiClient client(server.Client());
  auto init = client.PostJson("/v1/sys/init", {{"shares", 2}, {"threshold", 2}});
  ASSERT_TRUE(init.ok());
  auto health = client.Send("GET", "/v1/sys/health", "", "", {{"X-Request-Id", "trace-4711"}});
  ASSERT_TRUE(health.ok());
  auto forged = client.Get("/v1/x%0a2026-01-01T00:00:00.000000Z%20info%20%20http:%20forged");
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(server.Stop(), 0);

  const std::string log = testing::Slurp(dir.File("log/cloisterd.log"));
  EXPECT_NE(log.find("http: rid=trace-4711 127.0.0.1 GET /v1/sys/health 503 "), std::string::npos) << log;
  EXPECT_NE(log.find("rid=" + init->headers["x-request-id"] + " 127.0.0.1 POST /v1/sys/init 200 "),
            std::string::npos) << log;
  EXPECT_NE(log.find("GET /v1/x\\x0a2026-01-01"), std::string::npos) << log;
  EXPECT_EQ(log.find("\n2026-01-01T00:00:00.000000Z"), std::string::npos) << "a request forged a log line";
  const Json j = init->json();
  EXPECT_EQ(log.find(j["initial_admin_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.find(j["shares"][0].get<std::string>()), std::string::npos);
}

}  // namespace
}  // namespace cloister
