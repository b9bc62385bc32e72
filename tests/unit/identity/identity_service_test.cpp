// The identity services (UserService, SessionService) on a real database
// through the real writer: each change commits with its audit event, a
// refusal writes nothing (or only its denial event), a unit forced to run
// twice in one batch answers with the run that committed, and the last
// admin in every environment is kept.
#include <gtest/gtest.h>

#include "appliance/identity/session_service.h"
#include "appliance/identity/user_service.h"
#include "tests/support/replaying_writer.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

constexpr ScryptParams kFastScrypt{16, 1, 1};
constexpr const char* kPassword = "correct horse battery";

class IdentityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenTestStore(dir_.File("identity.db"), key_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::move(store->writer);
    reads_ = std::move(store->reads);
    replaying_ = std::make_unique<testing::ReplayingWriter>(*writer_);
    users_ = std::make_unique<UserService>(*replaying_, ledger_, clock_, random_, kFastScrypt);
    SessionOptions options;
    options.lockout.account_threshold = 2;
    options.scrypt = kFastScrypt;
    sessions_ =
        std::make_unique<SessionService>(*replaying_, ledger_, Hmac, clock_, random_, options);
    by_.actor = {"user", "usr_root", "root"};
    by_.request_id = "req-1";
    by_.request_ip = "10.0.0.9";
  }

  // Stands in for the ledger's keyed hash: never shows the value.
  static std::string Hmac(std::string_view v) {
    return "hmac-sha256:" + std::to_string(std::hash<std::string_view>{}(v));
  }
  User Create(const std::string& name, std::vector<RoleBinding> roles) {
    auto created = users_->CreateUser(by_, {name, kPassword, false, "", std::move(roles)});
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : User{};
  }
  User Find(const std::string& name) {
    auto found = reads_->Read<User>([&](ReadView db) { return FindUser(db, name); });
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    return found.ok() ? *found : User{};
  }
  IssuedSession StartSession(const User& user) {
    auto issued = sessions_->Login(
        by_, {user, "password", kPassword, sessions_->AccountKey(user.name), "", "", "ip"});
    EXPECT_TRUE(issued.ok()) << issued.status().ToString();
    return issued.ok() ? *issued : IssuedSession{};
  }
  // The ledger's events with `action`, in order.
  std::vector<Json> Events(const std::string& action) {
    auto data = reads_->Read<std::vector<std::string>>([](ReadView db) {
      return db.Select("audit_events", "SELECT seq, data FROM audit_events ORDER BY seq")
          .ReadAll([](const Row& r) { return r.Blob(1); });
    });
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    std::vector<Json> out;
    for (const auto& d : data.ok() ? *data : std::vector<std::string>{}) {
      Json j = Json::parse(d);
      if (j["action"] == action) out.push_back(j);
    }
    return out;
  }
  int64_t Count(const std::string& table, const std::string& where = "1") {
    auto n = reads_->Read<int64_t>([&](ReadView db) {
      return db.Select(table, "SELECT COUNT(*) FROM " + table + " WHERE " + where).ReadInt();
    });
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }
  int64_t LiveSessions(const User& u) {
    return Count("sessions", "revoked_at IS NULL AND user_id = '" + u.id + "'");
  }

  testing::TempDir dir_;
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  testing::ManualClock clock_;
  AuditLedger ledger_{clock_};
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<ReadPool> reads_;
  std::unique_ptr<testing::ReplayingWriter> replaying_;
  std::unique_ptr<UserService> users_;
  std::unique_ptr<SessionService> sessions_;
  AuditRecord by_;
};

TEST_F(IdentityServiceTest, CreateUserCommitsTheUserWithItsEventAndNoPassword) {
  const User alice = Create("alice", {{Role::kAuthor, "dev"}});
  EXPECT_TRUE(alice.must_change_password);
  const auto events = Events("user.create");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["target"]["id"], alice.id);
  EXPECT_EQ(events[0]["actor"]["id"], "usr_root");
  EXPECT_EQ(events[0]["details"]["roles"],
            Json::parse(R"([{"role":"author","environment":"dev"}])"));
  EXPECT_EQ(events[0]["details"]["password_generated"], false);
  EXPECT_EQ(events[0].dump().find(kPassword), std::string::npos);
  EXPECT_TRUE(*VerifyPassword(kPassword, Find("alice").password_hash));
}

TEST_F(IdentityServiceTest, CreateUserWithATakenNameWritesNothing) {
  Create("alice", {});
  auto again = users_->CreateUser(by_, {"ALICE", kPassword, false, "", {}});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Count("users"), 1);
  EXPECT_EQ(Events("user.create").size(), 1u);
}

TEST_F(IdentityServiceTest, ReplayedCreateUserAnswersWithTheCommittedUserAndRecordsItOnce) {
  replaying_->ReplayNext();
  const User alice = Create("alice", {});
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(Find("alice").id, alice.id);
  EXPECT_EQ(Count("users"), 1);
  ASSERT_EQ(Events("user.create").size(), 1u);
  EXPECT_EQ(Events("user.create")[0]["target"]["id"], alice.id);
}

TEST_F(IdentityServiceTest, DisablingTheLastAdminIsRefusedAndWritesNothing) {
  Create("root", {{Role::kAdmin, "*"}});
  auto refused = users_->SetDisabled(by_, "root", true);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().reason(), "last_admin");
  EXPECT_FALSE(Find("root").disabled());
  EXPECT_TRUE(Events("user.disable").empty());
}

TEST_F(IdentityServiceTest, RevokingTheLastAdminBindingIsRefusedAndWritesNothing) {
  Create("root", {{Role::kAdmin, "*"}});
  auto refused = users_->RevokeRole(by_, "root", {Role::kAdmin, "*"});
  EXPECT_EQ(refused.status().reason(), "last_admin");
  EXPECT_EQ(Find("root").roles.size(), 1u);
  EXPECT_TRUE(Events("role.revoke").empty());
}

TEST_F(IdentityServiceTest, DisablingAnAdminWhileAnotherRemainsEndsTheirSessions) {
  const User root = Create("root", {{Role::kAdmin, "*"}});
  Create("second", {{Role::kAdmin, "*"}});
  StartSession(root);
  StartSession(root);
  auto disabled = users_->SetDisabled(by_, "root", true);
  ASSERT_TRUE(disabled.ok()) << disabled.status().ToString();
  EXPECT_TRUE(disabled->disabled());
  EXPECT_EQ(LiveSessions(root), 0);
  ASSERT_EQ(Events("user.disable").size(), 1u);
  EXPECT_EQ(Events("user.disable")[0]["details"]["sessions_ended"], 2);
}

// The other admin is disabled between the unit's two runs: the run that
// commits sees the last admin and refuses, whatever the first run found.
TEST_F(IdentityServiceTest, DisableReplayedAfterTheOtherAdminLeftIsRefused) {
  Create("root", {{Role::kAdmin, "*"}});
  const User second = Create("second", {{Role::kAdmin, "*"}});
  replaying_->ReplayNext([&](Transaction& tx) { return SetDisabled(tx, second.id, true, clock_); });
  auto refused = users_->SetDisabled(by_, "root", true);
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(refused.status().reason(), "last_admin");
  EXPECT_FALSE(Find("root").disabled());
  EXPECT_TRUE(Events("user.disable").empty());
}

TEST_F(IdentityServiceTest, ResetPasswordForcesAChangeAndEndsSessions) {
  Create("root", {{Role::kAdmin, "*"}});
  User alice = Create("alice", {});
  StartSession(alice);
  replaying_->ReplayNext();
  auto reset = users_->ResetPassword(by_, "alice", "another long password", true);
  ASSERT_TRUE(reset.ok()) << reset.status().ToString();
  EXPECT_TRUE(reset->must_change_password);
  EXPECT_TRUE(*VerifyPassword("another long password", Find("alice").password_hash));
  EXPECT_EQ(LiveSessions(alice), 0);
  ASSERT_EQ(Events("user.password.reset").size(), 1u);
  EXPECT_EQ(Events("user.password.reset")[0]["details"]["sessions_ended"], 1);
  EXPECT_EQ(Events("user.password.reset")[0]["details"]["password_generated"], true);
}

TEST_F(IdentityServiceTest, AChangeToAnUnknownUserIsNotFoundAndWritesNothing) {
  EXPECT_EQ(users_->SetCertificate(by_, "nobody", "CN=nobody").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(users_->GrantRole(by_, "nobody", {Role::kAuthor, "dev"}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Count("audit_events"), 0);
}

TEST_F(IdentityServiceTest, RoleChangesRecordTheEnvironment) {
  Create("alice", {});
  auto granted = users_->GrantRole(by_, "alice", {Role::kApprover, "prod"});
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_EQ(granted->roles.size(), 1u);
  ASSERT_EQ(Events("role.grant").size(), 1u);
  EXPECT_EQ(Events("role.grant")[0]["env"], "prod");
  EXPECT_EQ(Events("role.grant")[0]["details"]["role"], "approver");
  auto again = users_->GrantRole(by_, "alice", {Role::kApprover, "prod"});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Events("role.grant").size(), 1u);
  auto revoked = users_->RevokeRole(by_, "alice", {Role::kApprover, "prod"});
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_TRUE(revoked->roles.empty());
  EXPECT_EQ(Events("role.revoke").size(), 1u);
}

TEST_F(IdentityServiceTest, TheInitialAdminHoldsAdminEverywhereWithAToken) {
  auto admin = writer_->Write<InitialAdmin>([&](Transaction& tx) {
    return UserService::CreateInitialAdmin(tx, random_, clock_, "admin",
                                           "scrypt$16$1$1$c2FsdA==$aGFzaA==");
  });
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  EXPECT_FALSE(admin->user.must_change_password);
  EXPECT_TRUE(Grants(admin->user.roles, {Role::kAdmin}, "*"));
  auto principal = AuthenticateToken(*reads_, admin->token.secret, clock_);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->user_id, admin->user.id);
}

TEST_F(IdentityServiceTest, LoginIssuesOneSessionAndRecordsItAsTheUser) {
  const User alice = Create("alice", {});
  ASSERT_TRUE(sessions_
                  ->RecordFailedLogin(
                      by_, {"wrong_password", alice.id, sessions_->AccountKey("alice"), "a"})
                  .ok());
  replaying_->ReplayNext();
  const IssuedSession issued = StartSession(alice);
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(Count("sessions", "id = '" + issued.id + "'"), 1);
  EXPECT_EQ(LiveSessions(alice), 1);
  EXPECT_EQ(Count("login_failures", "kind = 'account'"), 0);  // cleared; the address's stays
  EXPECT_EQ(Count("login_failures", "kind = 'address'"), 1);
  EXPECT_FALSE(Find("alice").last_login_at.empty());
  const auto logins = Events("auth.login");
  ASSERT_EQ(logins.size(), 2u);
  EXPECT_EQ(logins[1]["outcome"], "success");
  EXPECT_EQ(logins[1]["actor"]["id"], alice.id);
  EXPECT_EQ(logins[1]["details"]["session"], Hmac(issued.id));
}

TEST_F(IdentityServiceTest, LoginRehashesAnOlderHashAndEndsThePresentedSession) {
  Create("alice", {});
  const IssuedSession old = StartSession(Find("alice"));
  SessionOptions stronger;
  stronger.scrypt = {32, 1, 1};
  SessionService service(
      *writer_, ledger_, [](std::string_view v) { return std::string(v); }, clock_, random_,
      stronger);
  auto issued =
      service.Login(by_, {Find("alice"), "password", kPassword, "acct", "", old.id, "ip"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_FALSE(NeedsRehash(Find("alice").password_hash, stronger.scrypt));
  EXPECT_EQ(Count("sessions", "revoked_at IS NOT NULL AND id = '" + old.id + "'"), 1);
  const Json last = Events("auth.login").back();
  EXPECT_EQ(last["details"]["password_rehashed"], true);
  EXPECT_EQ(last["details"]["replaced_session"], old.id);
}

TEST_F(IdentityServiceTest, FailedLoginsLockTheAccountAtTheThresholdAndNameUnknownUsersByHmac) {
  const std::string account = sessions_->AccountKey("ghost");
  ASSERT_TRUE(sessions_->RecordFailedLogin(by_, {"unknown_user", "", account, "addr"}).ok());
  EXPECT_TRUE(Events("auth.lockout").empty());
  replaying_->ReplayNext();
  ASSERT_TRUE(sessions_->RecordFailedLogin(by_, {"unknown_user", "", account, "addr"}).ok());
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(Count("login_failures", "kind = 'account' AND failures = 2"),
            1);  // the replay counted once
  const auto denials = Events("auth.login");
  ASSERT_EQ(denials.size(), 2u);
  EXPECT_EQ(denials[0]["details"]["attempted_user"], account);
  EXPECT_EQ(denials[0]["reason"], "unknown_user");
  const auto locks = Events("auth.lockout");
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0]["target"]["id"], account);
  EXPECT_EQ(locks[0]["details"]["failures"], 2);
}

TEST_F(IdentityServiceTest, AWrongCurrentPasswordIsRefusedRecordedAndCounted) {
  const User alice = Create("alice", {});
  const Status refused =
      sessions_->RefuseWrongPassword(by_, alice.id, sessions_->AccountKey("alice"), "addr");
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.reason(), "wrong_password");
  ASSERT_EQ(Events("user.password.change").size(), 1u);
  EXPECT_EQ(Events("user.password.change")[0]["outcome"], "denied");
  EXPECT_EQ(Count("login_failures"), 2);
  EXPECT_TRUE(*VerifyPassword(kPassword, Find("alice").password_hash));
}

TEST_F(IdentityServiceTest, ChangePasswordEndsEverySessionAndIssuesOne) {
  const User alice = Create("alice", {});
  StartSession(alice);
  StartSession(alice);
  replaying_->ReplayNext();
  auto issued = sessions_->ChangePassword(by_, {alice.id, "a brand new password", true, "ip"});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(LiveSessions(alice), 1);
  EXPECT_EQ(Count("sessions", "revoked_at IS NULL AND id = '" + issued->id + "'"), 1);
  EXPECT_FALSE(Find("alice").must_change_password);
  const auto changes = Events("user.password.change");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["details"]["sessions_ended"], 2);
  auto by_token = sessions_->ChangePassword(by_, {alice.id, "yet another password", false, "ip"});
  ASSERT_TRUE(by_token.ok());
  EXPECT_TRUE(by_token->id.empty());
  EXPECT_EQ(LiveSessions(alice), 0);
}

TEST_F(IdentityServiceTest, LogoutEndsTheSessionAndAnEndedOneWritesNothing) {
  const User alice = Create("alice", {});
  const IssuedSession s = StartSession(alice);
  ASSERT_TRUE(sessions_->Logout(by_, alice.id, s.id).ok());
  EXPECT_EQ(LiveSessions(alice), 0);
  EXPECT_EQ(sessions_->Logout(by_, alice.id, s.id).code(), StatusCode::kNotFound);
  ASSERT_EQ(Events("auth.logout").size(), 1u);
  EXPECT_EQ(Events("auth.logout")[0]["details"]["session"], Hmac(s.id));
}

TEST_F(IdentityServiceTest, ClearLockoutForgetsTheKeyAndNothingToClearWritesNothing) {
  ASSERT_TRUE(sessions_->RecordFailedLogin(by_, {"unknown_user", "", "acct", "addr"}).ok());
  ASSERT_TRUE(sessions_->ClearLockout(by_, "address", "addr").ok());
  EXPECT_EQ(Count("login_failures", "kind = 'address'"), 0);
  EXPECT_EQ(sessions_->ClearLockout(by_, "address", "addr").code(), StatusCode::kNotFound);
  ASSERT_EQ(Events("auth.lockout.clear").size(), 1u);
  EXPECT_EQ(Events("auth.lockout.clear")[0]["target"]["id"], "addr");
}

TEST_F(IdentityServiceTest, CreateTokenRecordsItByHmacAndOnceWhenReplayed) {
  const User alice = Create("alice", {});
  replaying_->ReplayNext();
  auto token = sessions_->CreateToken(by_, {"ci", alice.id, {Role::kOperator}, {"dev"}, ""});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(Count("api_tokens"), 1);
  EXPECT_EQ(Count("api_tokens", "id = '" + token->id + "'"), 1);
  const auto events = Events("token.create");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["target"]["id"], Hmac(token->id));
  EXPECT_EQ(events[0]["details"]["owner"]["name"], "alice");
  EXPECT_EQ(events[0]["details"]["roles"], Json::parse(R"(["operator"])"));
}

TEST_F(IdentityServiceTest, ATokenForADisabledOwnerIsRefusedAndWritesNothing) {
  Create("root", {{Role::kAdmin, "*"}});
  const User alice = Create("alice", {});
  ASSERT_TRUE(users_->SetDisabled(by_, "alice", true).ok());
  auto refused = sessions_->CreateToken(by_, {"ci", alice.id, {}, {}, ""});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "user alice is disabled");
  EXPECT_EQ(Count("api_tokens"), 0);
  EXPECT_TRUE(Events("token.create").empty());
}

TEST_F(IdentityServiceTest, RevokeTokenRevokesOnceAndRecordsTheRevocation) {
  const User alice = Create("alice", {});
  auto token = sessions_->CreateToken(by_, {"ci", alice.id, {}, {}, ""});
  ASSERT_TRUE(token.ok());
  replaying_->ReplayNext();
  ASSERT_TRUE(sessions_->RevokeToken(by_, token->id, [](const TokenInfo&) { return true; }).ok());
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(Count("api_tokens", "revoked_at IS NOT NULL"), 1);
  ASSERT_EQ(Events("token.revoke").size(), 1u);
  EXPECT_EQ(Events("token.revoke")[0]["outcome"], "success");
}

TEST_F(IdentityServiceTest, AForbiddenRevocationIsNotFoundAndRecordsOnlyItsDenial) {
  const User alice = Create("alice", {});
  auto token = sessions_->CreateToken(by_, {"ci", alice.id, {}, {}, ""});
  ASSERT_TRUE(token.ok());
  const Status refused =
      sessions_->RevokeToken(by_, token->id, [](const TokenInfo&) { return false; });
  EXPECT_EQ(refused.code(), StatusCode::kNotFound);
  EXPECT_EQ(refused.message(), "no active API token " + token->id);
  EXPECT_EQ(Count("api_tokens", "revoked_at IS NULL"), 1);
  const Status unknown =
      sessions_->RevokeToken(by_, "tok_unknown", [](const TokenInfo&) { return true; });
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  const auto events = Events("token.revoke");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["outcome"], "denied");
  EXPECT_EQ(events[1]["outcome"], "denied");
  EXPECT_EQ(events[0]["target"]["id"], Hmac(token->id));
  EXPECT_EQ(events[0].dump().find(token->id), std::string::npos);  // named by HMAC only
}

}  // namespace
}  // namespace cloister
