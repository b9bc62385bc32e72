// Users, login sessions, CSRF and password changes through the real
// cloisterd over HTTPS, and what the audit ledger records of them.
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/identity_test_support.h"

namespace cloister {
namespace {

using testing::LoginResult;

class SessionApiTest : public testing::IdentityFixture {};

TEST_F(SessionApiTest, TheFirstAdminLogsInWithTheInitPasswordAndGetsAHardenedCookie) {
  Boot();
  EXPECT_EQ(admin_user_, "admin");
  EXPECT_GE(admin_password_.size(), 20u);
  const LoginResult login = Login("ADMIN", admin_password_);  // names ignore case
  ASSERT_EQ(login.response.status, 200) << login.response.body;
  const std::string cookie = login.response.headers.at("set-cookie");
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("; Path=/"), std::string::npos) << cookie;
  EXPECT_FALSE(login.response.json().contains("token")) << "a browser login must not see its session secret";
  EXPECT_FALSE(login.response.json()["password_change_required"]);

  const ApiResponse me = CookieCall("GET", "/v1/auth/whoami", login, nullptr, /*with_csrf=*/false);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["kind"], "user");
  EXPECT_EQ(me.json()["user"]["name"], "admin");
  EXPECT_EQ(me.json()["roles"], Json::parse(R"([{"role":"admin","environment":"*"}])"));
  EXPECT_EQ(me.json()["csrf_token"], login.csrf);

  // The initial token belongs to the first admin and can be revoked; the
  // admin keeps access through their password.
  const Json tokens = Call("GET", "/v1/auth/tokens", nullptr, admin_token_).json()["tokens"];
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0]["owner"]["name"], "admin");
  ASSERT_EQ(CookieCall("DELETE", "/v1/auth/tokens/" + tokens[0]["id"].get<std::string>(), login).status, 200);
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, admin_token_).status, 401);
  EXPECT_EQ(CookieCall("GET", "/v1/users", login).status, 200);
}

TEST_F(SessionApiTest, AdminCreatedUsersMustChangeTheirPasswordFirst) {
  Boot();
  const ApiResponse created =
      Call("POST", "/v1/users", {{"username", "Alice"}, {"roles", {{{"role", "author"}, {"environment", "dev"}}}}},
           admin_token_);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string temporary = created.json()["password"];
  EXPECT_TRUE(created.json()["must_change_password"]);
  EXPECT_EQ(Call("POST", "/v1/users", {{"username", "alice"}}, admin_token_).status, 409);  // case-insensitive
  EXPECT_EQ(Call("POST", "/v1/users", {{"username", "bad name"}}, admin_token_).status, 400);
  const ApiResponse short_password = Call("POST", "/v1/users", {{"username", "bob"}, {"password", "short"}}, admin_token_);
  EXPECT_EQ(short_password.status, 400);
  EXPECT_NE(short_password.body.find("12"), std::string::npos) << short_password.body;
  EXPECT_EQ(Call("POST", "/v1/users", {{"username", "carl"}, {"roles", {{{"role", "author"}, {"environment", "qa"}}}}},
                 admin_token_).status, 400);

  const LoginResult first = Login("alice", temporary);
  ASSERT_EQ(first.response.status, 200);
  EXPECT_TRUE(first.response.json()["password_change_required"]);
  const ApiResponse blocked = CookieCall("GET", "/v1/environments", first);
  EXPECT_EQ(blocked.status, 403);
  EXPECT_EQ(blocked.json()["error"]["code"], "password_change_required");
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", first).status, 200);

  const ApiResponse wrong = CookieCall("POST", "/v1/auth/password", first,
                                       {{"current_password", "not it at all"}, {"new_password", "a long new secret"}});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(CookieCall("POST", "/v1/auth/password", first, {{"current_password", temporary}, {"new_password", "short"}})
                .status, 400);
  const ApiResponse changed = CookieCall("POST", "/v1/auth/password", first,
                                         {{"current_password", temporary}, {"new_password", "a long new secret"}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  // The change ends every session, the one that asked included; it gets a new one.
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", first).status, 401);
  const LoginResult renewed = SessionFrom(changed);
  ASSERT_FALSE(renewed.cookie.empty());
  EXPECT_EQ(CookieCall("GET", "/v1/environments", renewed).status, 200);
  EXPECT_EQ(Login("alice", temporary).response.status, 401);
  EXPECT_EQ(Login("alice", "a long new secret").response.status, 200);

  const Json events = Events("action=user.password.change");
  ASSERT_EQ(events.size(), 2u);  // the wrong current password, then the change
  EXPECT_EQ(events[0]["outcome"], "denied");
  EXPECT_EQ(events[1]["details"]["sessions_ended"], 1);
}

TEST_F(SessionApiTest, MalformedLoginsAndSessionsAreRefusedByName) {
  Boot();
  auto login_body = [&](const std::string& raw) {
    ApiClient client(server_.Client());
    auto r = client.Send("POST", "/v1/auth/login", raw);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ApiResponse{};
  };
  EXPECT_EQ(login_body("{\"username\": 5, \"password\": \"x\"}").status, 400);
  EXPECT_EQ(login_body("{\"username\": \"admin\"}").status, 400);
  EXPECT_EQ(login_body("{\"username\": \"admin\", \"password\": \"x\", \"remember\": true}").status, 400);
  EXPECT_EQ(login_body("{\"username\": \"a\", \"username\": \"admin\", \"password\": \"x\"}").status, 400);
  EXPECT_EQ(login_body("[\"admin\"]").status, 400);
  EXPECT_EQ(login_body("{\"username\": \"admin\", \"password\": \"" + std::string(2000, 'p') + "\"}").status, 400);
  const ApiResponse no_certificate = login_body("{}");
  EXPECT_EQ(no_certificate.status, 400);
  EXPECT_NE(no_certificate.body.find("client certificate"), std::string::npos) << no_certificate.body;

  // Cookies that are not sessions: all 401, none a server error.
  for (const std::string& cookie : {std::string("cloister_session="), std::string("cloister_session=cloister_session_"),
                                    "cloister_session=" + std::string(8000, 'z'),
                                    std::string("cloister_session=cloister_session_%00%0a"),
                                    "cloister_session=" + admin_token_}) {
    EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, "", {{"Cookie", cookie}}).status, 401) << cookie.substr(0, 60);
  }
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, "cloister_session_" + std::string(43, '-')).status, 401);
  EXPECT_EQ(Events("action=auth.login").size(), 0u) << "malformed requests are refused before any login attempt";
}

TEST_F(SessionApiTest, LoginNeverAdoptsAPresentedSession) {
  Boot();
  // An attacker plants a well-formed session id before the victim logs in.
  const std::string planted = "cloister_session_" + std::string(43, 'A');
  const LoginResult login = Login("admin", admin_password_, {{"Cookie", "cloister_session=" + planted}});
  ASSERT_EQ(login.response.status, 200);
  EXPECT_NE(login.cookie, planted);
  EXPECT_EQ(login.cookie.rfind("cloister_session_", 0), 0u) << login.cookie;
  LoginResult attacker{{}, planted, login.csrf};
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", attacker).status, 401);

  // A live session presented at login is replaced, not extended.
  const LoginResult again = Login("admin", admin_password_, {{"Cookie", "cloister_session=" + login.cookie}});
  ASSERT_EQ(again.response.status, 200);
  EXPECT_NE(again.cookie, login.cookie);
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", login).status, 401);
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", again).status, 200);
  EXPECT_FALSE(Events("action=auth.login&outcome=success").back()["details"]["replaced_session"].is_null());
}

TEST_F(SessionApiTest, UnsafeCookieRequestsNeedTheCsrfToken) {
  Boot();
  const LoginResult login = Login("admin", admin_password_);
  ASSERT_EQ(login.response.status, 200);
  const Json body = {{"username", "mallory-made"}};
  const ApiResponse missing = CookieCall("POST", "/v1/users", login, body, /*with_csrf=*/false);
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(missing.json()["error"]["code"], "csrf_failed");
  LoginResult forged = login;
  forged.csrf = std::string(login.csrf.size(), 'x');
  EXPECT_EQ(CookieCall("POST", "/v1/users", forged, body).status, 403);
  EXPECT_EQ(Call("GET", "/v1/users/mallory-made", nullptr, admin_token_).status, 404) << "a refused request acted";
  EXPECT_EQ(CookieCall("DELETE", "/v1/auth/lockouts/account/x", login, nullptr, false).status, 403);
  EXPECT_EQ(CookieCall("POST", "/v1/auth/logout", login, nullptr, false).status, 403);

  EXPECT_EQ(CookieCall("GET", "/v1/users", login, nullptr, false).status, 200);  // safe methods need none
  EXPECT_EQ(CookieCall("POST", "/v1/users", login, body).status, 201);

  // A session sent as a bearer token is not ambient, so needs no CSRF token.
  const ApiResponse cli = Call("POST", "/v1/auth/login",
                               {{"username", "admin"}, {"password", admin_password_}, {"return_token", true}});
  ASSERT_EQ(cli.status, 200);
  EXPECT_EQ(cli.headers.count("set-cookie"), 0u);
  EXPECT_EQ(Call("POST", "/v1/users", {{"username", "cli-made"}}, cli.json()["token"]).status, 201);

  const Json denied = Events("action=auth.session&outcome=denied");
  ASSERT_EQ(denied.size(), 4u);
  EXPECT_EQ(denied[0]["reason"], "the request lacks the session's CSRF token (X-CSRF-Token)");
}

TEST_F(SessionApiTest, LogoutEndsTheSessionAndClearsTheCookie) {
  Boot();
  const LoginResult login = Login("admin", admin_password_);
  const ApiResponse out = CookieCall("POST", "/v1/auth/logout", login);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.headers.at("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", login).status, 401);
  EXPECT_EQ(Call("POST", "/v1/auth/logout", nullptr, admin_token_).status, 400);  // tokens are revoked, not logged out
  const Json events = Events("action=auth.logout");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["actor"]["name"], "admin");
  EXPECT_EQ(Events("action=auth.session&outcome=denied").back()["reason"], "the session is revoked");
}

TEST_F(SessionApiTest, DisablingAUserStopsTheirLiveSessionAndTokensAtOnce) {
  Boot();
  MakeUser("dora", {"operator@*"}, "dora's long password");
  const LoginResult session = Login("dora", "dora's long password");
  ASSERT_EQ(session.response.status, 200);
  const ApiResponse token = CookieCall("POST", "/v1/auth/tokens", session, {{"name", "dora's script"}});
  ASSERT_EQ(token.status, 201) << token.body;
  const std::string secret = token.json()["token"];
  ASSERT_EQ(Call("GET", "/metrics", nullptr, secret).status, 200);

  const ApiResponse disabled = Call("POST", "/v1/users/dora/disable", nullptr, admin_token_);
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_TRUE(disabled.json()["disabled"]);
  EXPECT_EQ(CookieCall("GET", "/metrics", session).status, 401);
  EXPECT_EQ(Call("GET", "/metrics", nullptr, secret).status, 401);
  const ApiResponse refused = Login("dora", "dora's long password").response;
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.json()["error"], Login("dora", "a wrong password!").response.json()["error"]);
  EXPECT_EQ(Events("action=auth.token&outcome=denied").back()["reason"], "the API token is owner_disabled");
  // dora's session above, and the one her password change (in MakeUser) left open.
  EXPECT_EQ(Events("action=user.disable")[0]["details"]["sessions_ended"], 2);

  ASSERT_EQ(Call("POST", "/v1/users/dora/enable", nullptr, admin_token_).status, 200);
  EXPECT_EQ(Call("GET", "/metrics", nullptr, secret).status, 200);  // tokens were never revoked
  EXPECT_EQ(CookieCall("GET", "/metrics", session).status, 401);      // sessions were
  EXPECT_EQ(Call("POST", "/v1/users/dora/enable", nullptr, admin_token_).status, 412);

  // The appliance keeps at least one enabled admin on every environment.
  const ApiResponse last = Call("POST", "/v1/users/admin/disable", nullptr, admin_token_);
  EXPECT_EQ(last.status, 412);
  EXPECT_EQ(last.json()["error"]["code"], "last_admin");
}

TEST_F(SessionApiTest, AResetPasswordEndsSessionsAndMustBeChanged) {
  Boot();
  MakeUser("erin", {"approver@prod"}, "erin's long password");
  const LoginResult session = Login("erin", "erin's long password");
  const ApiResponse reset = Call("POST", "/v1/users/erin/reset-password", nullptr, admin_token_);
  ASSERT_EQ(reset.status, 200) << reset.body;
  const std::string temporary = reset.json()["password"];
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", session).status, 401);
  EXPECT_EQ(Login("erin", "erin's long password").response.status, 401);
  const LoginResult next = Login("erin", temporary);
  ASSERT_EQ(next.response.status, 200);
  EXPECT_TRUE(next.response.json()["password_change_required"]);
  EXPECT_EQ(Events("action=user.password.reset")[0]["details"]["sessions_ended"], 2);  // as above
}

TEST_F(SessionApiTest, SessionsEndWhenIdleAndAtTheAbsoluteTimeout) {
  Boot("  session_idle_timeout_seconds: 1\n  session_absolute_timeout_seconds: 3\n");
  const LoginResult idle = Login("admin", admin_password_);
  ASSERT_EQ(idle.response.status, 200);
  EXPECT_EQ(idle.response.json()["session"]["idle_timeout_seconds"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", idle).status, 401);
  EXPECT_EQ(Events("action=auth.session&outcome=denied").back()["reason"], "the session is idle");

  // Kept busy, a session still ends at the absolute timeout.
  const LoginResult busy = Login("admin", admin_password_);
  const auto start = std::chrono::steady_clock::now();
  int last_status = 200;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3500) && last_status == 200) {
    last_status = CookieCall("GET", "/v1/auth/whoami", busy).status;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  EXPECT_EQ(last_status, 401);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  EXPECT_EQ(Events("action=auth.session&outcome=denied").back()["reason"], "the session is expired");
}

TEST_F(SessionApiTest, TheLedgerRecordsLoginsAndUserChangesButNeverSecrets) {
  Boot();
  MakeUser("frank", {"author@dev"}, "frank's long password");
  EXPECT_EQ(Login("frank", "frank's wrong password").response.status, 401);
  EXPECT_EQ(Login("nobody", "whatever password").response.status, 401);
  const LoginResult cli = Login("frank", "frank's long password");
  ASSERT_EQ(Call("POST", "/v1/users/frank/roles", {{"role", "approver"}, {"environment", "test"}}, admin_token_).status, 201);
  ASSERT_EQ(Call("DELETE", "/v1/users/frank/roles/approver/test", nullptr, admin_token_).status, 200);

  const Json failures = Events("action=auth.login&outcome=denied");
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0]["reason"], "wrong_password");
  EXPECT_FALSE(failures[0]["target"]["id"].is_null());
  EXPECT_EQ(failures[1]["reason"], "unknown_user");
  EXPECT_EQ(failures[1]["details"]["attempted_user"], Hmac("nobody")) << "unknown names appear only in HMAC form";
  EXPECT_EQ(Events("action=auth.login&outcome=success").size(), 2u);  // with the temporary password, and now
  EXPECT_EQ(Events("action=user.create").size(), 1u);
  EXPECT_EQ(Events("action=role.grant")[0]["env"], "test");
  EXPECT_EQ(Events("action=role.revoke")[0]["details"]["role"], "approver");

  const std::string ledger = Call("GET", "/v1/audit/events?limit=1000", nullptr, admin_token_).body;
  for (const std::string& secret : {admin_password_, std::string("frank's long password"),
                                   std::string("frank's wrong password"), std::string("temporary-frank-password"),
                                   std::string("nobody"), cli.cookie, cli.csrf, admin_token_}) {
    EXPECT_EQ(ledger.find(secret), std::string::npos) << "the ledger holds a secret: " << secret;
  }
}

}  // namespace
}  // namespace cloister
