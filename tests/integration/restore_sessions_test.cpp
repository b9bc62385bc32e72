// A restore puts back the database of the backup's time. Without care that
// revives what ended after it: login sessions that were logged out and API
// tokens that were revoked. These tests restore over a real cloisterd and
// check that every session ends, that revoked tokens stay revoked, and that
// the restore report and the system.restore event name the tokens created
// and revoked after the backup.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;

class RestoreSessionsTest : public IdentityFixture {
 protected:
  struct Token {
    std::string id, secret;
  };
  Token CreateToken(const LoginResult& as, const std::string& name) {
    const ApiResponse r = CookieCall("POST", "/v1/auth/tokens", as, {{"name", name}});
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.json().value("id", ""), r.json().value("token", "")};
  }
  // Backs up the running appliance; returns a copy of the backup file.
  std::string Backup() {
    const ApiResponse r = Call("POST", "/v1/sys/backups", Json::object(), admin_token_);
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string copy = dir_.File("backup.cbk");
    fs::copy_file(server_.data_dir() + "/backups/" + r.json().value("name", ""), copy);
    return copy;
  }
  CommandResult Restore(const std::string& backup) {
    return RunCloisterctl(server_, {"backup", "restore", backup, "--data-dir", server_.data_dir(), "--key-file",
                                    dir_.File("unseal.key"), "--allow-older"});
  }
};

TEST_F(RestoreSessionsTest, ARestoreEndsSessionsAndKeepsTokensRevokedAfterTheBackupRevoked) {
  Boot();
  MakeUser("alice", {"admin@*"}, "correct horse battery 1");
  const LoginResult kept = Login("alice", "correct horse battery 1");
  const LoginResult logged_out = Login("alice", "correct horse battery 1");
  ASSERT_EQ(kept.response.status, 200);
  ASSERT_EQ(logged_out.response.status, 200);
  const Token revoked = CreateToken(kept, "ci deploy");
  const std::string backup = Backup();

  // After the backup: a session ends, a token is revoked, another is created.
  ASSERT_EQ(CookieCall("POST", "/v1/auth/logout", logged_out, Json::object()).status, 200);
  ASSERT_EQ(CookieCall("GET", "/v1/auth/whoami", logged_out).status, 401);
  ASSERT_EQ(Call("DELETE", "/v1/auth/tokens/" + revoked.id, nullptr, admin_token_).status, 200);
  ASSERT_EQ(Call("GET", "/v1/auth/whoami", nullptr, revoked.secret).status, 401);
  const Token created = CreateToken(kept, "nightly export");
  ASSERT_EQ(Call("GET", "/v1/auth/whoami", nullptr, created.secret).status, 200);

  ASSERT_EQ(server_.Stop(), 0);
  const CommandResult restored = Restore(backup);
  ASSERT_EQ(restored.exit_code, 0) << restored.err << restored.out;
  // The report names both tokens, by id, name and owner, and says what happens.
  EXPECT_NE(restored.out.find("Every login session ends"), std::string::npos) << restored.out;
  const size_t revived_at = restored.out.find("revoked after the backup was taken");
  const size_t created_at = restored.out.find("created after the backup was taken");
  ASSERT_NE(revived_at, std::string::npos) << restored.out;
  ASSERT_NE(created_at, std::string::npos) << restored.out;
  EXPECT_NE(restored.out.find("revokes them again"), std::string::npos) << restored.out;
  EXPECT_NE(restored.out.find(revoked.id + "  \"ci deploy\"  owner alice"), std::string::npos) << restored.out;
  EXPECT_NE(restored.out.find(created.id + "  \"nightly export\"  owner alice"), std::string::npos) << restored.out;

  // The key file unseals at start; the unseal records the restore.
  ASSERT_TRUE(server_.Start());
  ASSERT_EQ(Call("GET", "/v1/auth/whoami", nullptr, admin_token_).status, 200);
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", logged_out).status, 401)
      << "a session logged out after the backup came back to life";
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", kept).status, 401) << "a session survived the restore";
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, revoked.secret).status, 401)
      << "a token revoked after the backup came back to life";
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, created.secret).status, 401);
  // Logging in again works.
  EXPECT_EQ(Login("alice", "correct horse battery 1").response.status, 200);

  const Json events = Events("action=system.restore");
  ASSERT_EQ(events.size(), 1u);
  const Json& d = events[0]["details"];
  EXPECT_GE(d["sessions_revoked"].get<int>(), 2) << d.dump();
  ASSERT_EQ(d["tokens_revoked_after_backup"].size(), 1u) << d.dump();
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["token"], Hmac(revoked.id));
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["name"], "ci deploy");
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["owner"]["name"], "alice");
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["revoked_again"], true);
  ASSERT_EQ(d["tokens_created_after_backup"].size(), 1u) << d.dump();
  EXPECT_EQ(d["tokens_created_after_backup"][0]["token"], Hmac(created.id));
  EXPECT_EQ(d["tokens_created_after_backup"][0]["name"], "nightly export");
  // The ledger keeps token ids in HMAC form only.
  EXPECT_EQ(events.dump().find(revoked.id), std::string::npos);
  // The revocation again is an event of its own, found with the others.
  bool found = false;
  for (const Json& e : Events("action=token.revoke")) {
    if (e["target"]["id"] == Hmac(revoked.id) && e.value("reason", "").find("restore") != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << "no token.revoke event for the token revoked again";
  // And the token list shows it revoked.
  const Json tokens = Call("GET", "/v1/auth/tokens", nullptr, admin_token_).json()["tokens"];
  for (const Json& t : tokens) {
    if (t["id"] == revoked.id) {
      EXPECT_FALSE(t["revoked_at"].is_null()) << t.dump();
    }
  }
}

TEST_F(RestoreSessionsTest, ARestoreWithNothingChangedSaysSoAndStillEndsSessions) {
  Boot();
  MakeUser("bob", {"admin@*"}, "correct horse battery 2");
  const LoginResult session = Login("bob", "correct horse battery 2");
  ASSERT_EQ(session.response.status, 200);
  const std::string backup = Backup();
  ASSERT_EQ(server_.Stop(), 0);
  const CommandResult restored = Restore(backup);
  ASSERT_EQ(restored.exit_code, 0) << restored.err << restored.out;
  EXPECT_NE(restored.out.find("No API token was created or revoked after the backup"), std::string::npos)
      << restored.out;
  ASSERT_TRUE(server_.Start());
  EXPECT_EQ(CookieCall("GET", "/v1/auth/whoami", session).status, 401);
  EXPECT_EQ(Events("action=system.restore").size(), 1u);
}

}  // namespace
}  // namespace cloister::testing
