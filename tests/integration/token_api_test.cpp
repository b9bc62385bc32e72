// API tokens through the real cloisterd: owners, restrictions, expiry,
// revocation, and what the audit ledger records of them.
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/identity_test_support.h"

namespace cloister {
namespace {

class TokenApiTest : public testing::IdentityFixture {
 protected:
  void SetUp() override { Boot(); }
};

TEST_F(TokenApiTest, CreateUseListAndRevoke) {
  const ApiResponse created =
      Call("POST", "/v1/auth/tokens", {{"name", "quarterly review"}, {"roles", {"auditor"}}}, admin_token_);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string secret = created.json()["token"];
  const std::string id = created.json()["id"];
  EXPECT_EQ(created.json()["owner"]["name"], "admin");
  EXPECT_EQ(secret.size(), std::string("cloister_").size() + 43);  // 256 bits in base64url

  // The admin's token narrowed to auditor is an auditor, nothing more.
  EXPECT_EQ(Call("GET", "/v1/audit/events", nullptr, secret).status, 200);
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, secret).status, 403);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}}, secret).status, 403);

  const ApiResponse list = Call("GET", "/v1/auth/tokens", nullptr, admin_token_);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "a secret was listed";
  bool found = false;
  const Json tokens = list.json()["tokens"];  // a named copy: iterating a temporary's member would dangle
  for (const auto& t : tokens) {
    if (t["id"] == id) {
      found = true;
      EXPECT_FALSE(t["last_used_at"].is_null());
      EXPECT_TRUE(t["revoked_at"].is_null());
      EXPECT_EQ(t["roles"], Json::array({"auditor"}));
    }
  }
  EXPECT_TRUE(found) << list.body;

  EXPECT_EQ(Call("DELETE", "/v1/auth/tokens/" + id, nullptr, admin_token_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/audit/events", nullptr, secret).status, 401);  // at once
  EXPECT_EQ(Call("DELETE", "/v1/auth/tokens/" + id, nullptr, admin_token_).status, 404);

  // The ledger: creation, use, revocation, the refused second revocation and
  // the use of the revoked token; the token named only in HMAC form.
  const std::string hmac = Hmac(id);
  EXPECT_EQ(Events("action=token.create")[0]["target"]["id"], hmac);
  EXPECT_EQ(Events("action=token.revoke&outcome=success")[0]["target"]["id"], hmac);
  EXPECT_EQ(Events("action=token.revoke&outcome=denied").size(), 1u);
  // A token acts for its owner: the owner is the actor, the token the means.
  Json uses = Json::array();
  for (const Json& e : Events("action=auth.token&outcome=success")) {
    if (e["details"].value("via_token", "") == hmac) uses.push_back(e);
  }
  ASSERT_FALSE(uses.empty());
  EXPECT_EQ(uses[0]["actor"]["kind"], "user");
  EXPECT_EQ(uses[0]["actor"]["name"], "admin");
  const Json denied = Events("action=auth.token&outcome=denied");
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied.back()["reason"], "the API token is revoked");
  const std::string all = Call("GET", "/v1/audit/events?limit=1000", nullptr, admin_token_).body;
  EXPECT_EQ(all.find(id), std::string::npos) << "a plain token id reached the ledger";
  EXPECT_EQ(all.find(secret), std::string::npos);
}

TEST_F(TokenApiTest, ExpiredTokensStopWorking) {
  const ApiResponse created =
      Call("POST", "/v1/auth/tokens", {{"name", "short"}, {"roles", {"operator"}}, {"ttl_seconds", 1}}, admin_token_);
  ASSERT_EQ(created.status, 201);
  const std::string secret = created.json()["token"];
  EXPECT_EQ(Call("GET", "/metrics", nullptr, secret).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(Call("GET", "/metrics", nullptr, secret).status, 401);
  EXPECT_EQ(Events("action=auth.token&outcome=denied").back()["reason"], "the API token is expired");
}

TEST_F(TokenApiTest, ATokenHoldsItsOwnersCurrentRolesWithinItsRestriction) {
  MakeUser("ivan", {"author@dev", "operator@test"}, "ivan's long password");
  const testing::LoginResult ivan = Login("ivan", "ivan's long password");
  const ApiResponse mine = CookieCall("POST", "/v1/auth/tokens", ivan, {{"name", "dev only"}, {"environments", {"dev"}}});
  ASSERT_EQ(mine.status, 201) << mine.body;
  const std::string secret = mine.json()["token"];
  const Json me = Call("GET", "/v1/auth/whoami", nullptr, secret).json();
  EXPECT_EQ(me["kind"], "token");
  EXPECT_EQ(me["user"]["name"], "ivan");
  EXPECT_EQ(me["roles"], Json::parse(R"([{"role":"author","environment":"dev"}])")) << me.dump();

  // Roles come from the owner at each request: a grant widens the token
  // only within its restriction, a revocation narrows it at once.
  ASSERT_EQ(Call("POST", "/v1/users/ivan/roles", {{"role", "approver"}, {"environment", "*"}}, admin_token_).status, 201);
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, secret).json()["roles"].size(), 2u);  // author@dev, approver@dev
  ASSERT_EQ(Call("DELETE", "/v1/users/ivan/roles/author/dev", nullptr, admin_token_).status, 200);
  ASSERT_EQ(Call("DELETE", "/v1/users/ivan/roles/approver/*", nullptr, admin_token_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, secret).status, 403);

  // Non-admins manage only their own tokens; ids of others' do not exist for them.
  EXPECT_EQ(CookieCall("POST", "/v1/auth/tokens", ivan, {{"name", "for admin"}, {"owner", "admin"}}).status, 403);
  const Json listed = CookieCall("GET", "/v1/auth/tokens", ivan).json()["tokens"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["name"], "dev only");
  const std::string admins_token_id = Call("GET", "/v1/auth/tokens", nullptr, admin_token_).json()["tokens"][0]["id"];
  EXPECT_EQ(CookieCall("DELETE", "/v1/auth/tokens/" + admins_token_id, ivan).status, 404);
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, admin_token_).status, 200);

  // An admin may make a token for anyone.
  const ApiResponse for_ivan = Call("POST", "/v1/auth/tokens", {{"name", "ops"}, {"owner", "IVAN"}}, admin_token_);
  ASSERT_EQ(for_ivan.status, 201) << for_ivan.body;
  EXPECT_EQ(for_ivan.json()["owner"]["name"], "ivan");
}

TEST_F(TokenApiTest, RefusesBadRequests) {
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"roles", {"root"}}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"environments", {"staging"}}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"environments", {"*"}}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"ttl_seconds", 0}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"roles", "auditor"}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"owner", "nobody"}}, admin_token_).status, 404);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"roles", {"author"}}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/auth/tokens", {{"name", "x"}, {"role", "author"}}, admin_token_).status, 400);
  EXPECT_EQ(Call("DELETE", "/v1/auth/tokens/tok_nothere", nullptr, admin_token_).status, 404);
}

TEST_F(TokenApiTest, CloisterctlCreatesListsAndRevokes) {
  auto created = testing::RunCloisterctl(
      server_, {"--json", "token", "create", "--name", "ci", "--role", "operator", "--env", "test", "--ttl", "30d"},
      admin_token_);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const Json j = Json::parse(created.out);
  EXPECT_FALSE(j["expires_at"].is_null());
  auto list = testing::RunCloisterctl(server_, {"token", "list"}, admin_token_);
  EXPECT_NE(list.out.find(j["id"].get<std::string>() + "  active  admin  roles operator in test  ci"), std::string::npos)
      << list.out;
  EXPECT_EQ(testing::RunCloisterctl(server_, {"token", "revoke", j["id"]}, admin_token_).exit_code, 0);
  EXPECT_NE(testing::RunCloisterctl(server_, {"token", "list"}, admin_token_).out.find("revoked"), std::string::npos);
  EXPECT_EQ(testing::RunCloisterctl(server_, {"token", "create", "--name", "x", "--ttl", "soon"}, admin_token_).exit_code, 1);
}

}  // namespace
}  // namespace cloister
