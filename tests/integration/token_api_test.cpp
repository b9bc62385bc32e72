// API tokens through the real cloisterd: roles, expiry, revocation, and what
// the audit ledger records of them.
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/appliance_server.h"

namespace cloister {
namespace {

using testing::ApplianceServer;

class TokenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    const ApiResponse init = Call("POST", "/v1/sys/init", {{"shares", 1}, {"threshold", 1}});
    ASSERT_EQ(init.status, 200);
    admin_ = init.json()["initial_admin_token"];
    ASSERT_EQ(Call("POST", "/v1/sys/unseal", {{"share", init.json()["shares"][0]}}).status, 200);
  }
  ApiResponse Call(const std::string& method, const std::string& path, const Json& body = nullptr,
                   const std::string& token = "", const std::map<std::string, std::string>& headers = {}) {
    return testing::Call(server_, method, path, body, token, headers);
  }
  Json Events(const std::string& query) { return Call("GET", "/v1/audit/events?limit=1000&" + query, nullptr, admin_).json()["events"]; }
  std::string Hmac(const std::string& v) { return Call("POST", "/v1/audit/hash", {{"value", v}}, admin_).json()["hash"]; }

  testing::TempDir dir_;
  ApplianceServer server_{dir_.File("data")};
  std::string admin_;
};

TEST_F(TokenApiTest, CreateUseListAndRevoke) {
  const ApiResponse created =
      Call("POST", "/v1/auth/tokens", {{"name", "quarterly review"}, {"role", "auditor"}}, admin_);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string secret = created.json()["token"];
  const std::string id = created.json()["id"];
  EXPECT_EQ(created.json()["environment"], "*");

  EXPECT_EQ(Call("GET", "/v1/audit/events", nullptr, secret).status, 200);
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, secret).status, 403);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"role", "admin"}}, secret).status, 403);

  const ApiResponse list = Call("GET", "/v1/auth/tokens", nullptr, admin_);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "a secret was listed";
  bool found = false;
  const Json tokens = list.json()["tokens"];  // a named copy: iterating a temporary's member would dangle
  for (const auto& t : tokens) {
    if (t["id"] == id) {
      found = true;
      EXPECT_FALSE(t["last_used_at"].is_null());
      EXPECT_TRUE(t["revoked_at"].is_null());
    }
  }
  EXPECT_TRUE(found) << list.body;

  EXPECT_EQ(Call("DELETE", "/v1/auth/tokens/" + id, nullptr, admin_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/audit/events", nullptr, secret).status, 401);  // at once
  EXPECT_EQ(Call("DELETE", "/v1/auth/tokens/" + id, nullptr, admin_).status, 404);

  // The ledger: creation, use, revocation, the refused second revocation and
  // the use of the revoked token; the token named only in HMAC form.
  const std::string hmac = Hmac(id);
  EXPECT_EQ(Events("action=token.create")[0]["target"]["id"], hmac);
  EXPECT_EQ(Events("action=token.revoke&outcome=success")[0]["target"]["id"], hmac);
  EXPECT_EQ(Events("action=token.revoke&outcome=denied").size(), 1u);
  EXPECT_FALSE(Events("action=auth.token&actor=" + hmac).empty());
  const Json denied = Events("action=auth.token&outcome=denied");
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied.back()["reason"], "the API token is revoked");
  const std::string all = Call("GET", "/v1/audit/events?limit=1000", nullptr, admin_).body;
  EXPECT_EQ(all.find(id), std::string::npos) << "a plain token id reached the ledger";
  EXPECT_EQ(all.find(secret), std::string::npos);
}

TEST_F(TokenApiTest, ExpiredTokensStopWorking) {
  const ApiResponse created =
      Call("POST", "/v1/auth/tokens", {{"name", "short"}, {"role", "operator"}, {"ttl_seconds", 1}}, admin_);
  ASSERT_EQ(created.status, 201);
  const std::string secret = created.json()["token"];
  EXPECT_EQ(Call("GET", "/metrics", nullptr, secret).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(Call("GET", "/metrics", nullptr, secret).status, 401);
  EXPECT_EQ(Events("action=auth.token&outcome=denied").back()["reason"], "the API token is expired");
}

TEST_F(TokenApiTest, EnvironmentBoundTokensStayInTheirEnvironment) {
  const ApiResponse created =
      Call("POST", "/v1/auth/tokens", {{"name", "dev author"}, {"role", "author"}, {"environment", "dev"}}, admin_);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["environment"], "dev");
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, created.json()["token"]).status, 200);
}

TEST_F(TokenApiTest, RefusesBadRequests) {
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"role", "root"}}, admin_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"role", "author"}, {"environment", "staging"}}, admin_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"role", "author"}, {"ttl_seconds", 0}}, admin_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"role", "author"}}, admin_).status, 400);
  EXPECT_EQ(Call("DELETE", "/v1/auth/tokens/tok_nothere", nullptr, admin_).status, 404);
}

TEST_F(TokenApiTest, CloisterctlCreatesListsAndRevokes) {
  auto created = testing::RunCloisterctl(server_, {"--json", "token", "create", "--name", "ci", "--role", "operator",
                                                   "--ttl", "30d"}, admin_);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const Json j = Json::parse(created.out);
  EXPECT_FALSE(j["expires_at"].is_null());
  auto list = testing::RunCloisterctl(server_, {"token", "list"}, admin_);
  EXPECT_NE(list.out.find(j["id"].get<std::string>() + "  active  operator@*  ci"), std::string::npos) << list.out;
  EXPECT_EQ(testing::RunCloisterctl(server_, {"token", "revoke", j["id"]}, admin_).exit_code, 0);
  EXPECT_NE(testing::RunCloisterctl(server_, {"token", "list"}, admin_).out.find("revoked"), std::string::npos);
  EXPECT_EQ(testing::RunCloisterctl(server_, {"token", "create", "--name", "x", "--role", "author", "--ttl", "soon"}, admin_)
                .exit_code, 1);
}

}  // namespace
}  // namespace cloister
