// Users, sessions, login backoff and token restrictions on a real SQLCipher
// database through the real writer, with a manual clock.
#include <gtest/gtest.h>

#include "appliance/identity/login_throttle.h"
#include "appliance/identity/session_store.h"
#include "appliance/identity/token_store.h"
#include "appliance/identity/user_store.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

using std::chrono::seconds;

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenTestStore(path_, key_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::move(store->writer);
    reads_ = std::move(store->reads);
  }
  template <typename T>
  Result<T> Write(const std::function<Result<T>(Transaction&)>& fn) {
    std::optional<Result<T>> out;
    const Status st = writer_->Write([&](Transaction& tx) -> Status {
      out = fn(tx);
      return out->status();
    });
    if (!st.ok()) return st;
    return *out;
  }
  User AddUser(const std::string& name, std::vector<RoleBinding> roles) {
    NewUser u;
    u.name = name;
    u.password_hash = "scrypt$16384$8$1$c2FsdA==$aGFzaA==";
    u.roles = std::move(roles);
    auto created = Write<User>([&](Transaction& tx) { return CreateUser(tx, random_, clock_, u); });
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : User{};
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("identity.db");
  SecureBytes key_{32};  // all zero: the key is not what is under test
  testing::ManualClock clock_;
  SystemRandom random_;
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<ReadPool> reads_;
};

TEST_F(IdentityStoreTest, UserNamesAreUniqueWithoutRegardToCase) {
  const User alice = AddUser("Alice", {{Role::kAuthor, "dev"}});
  EXPECT_EQ(alice.id.rfind("usr_", 0), 0u);
  NewUser again;
  again.name = "ALICE";
  again.password_hash = "x";
  auto dup = Write<User>([&](Transaction& tx) { return CreateUser(tx, random_, clock_, again); });
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  auto found = reads_->Read<User>([](ReadView db) { return FindUser(db, "aLiCe"); });
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->name, "Alice");
  EXPECT_EQ(found->roles.size(), 1u);
  for (const char* bad : {"", "-lead", "has space", "semi;colon", "ünï"}) {
    EXPECT_FALSE(ValidateUserName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateUserName(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateUserName("first.last@example-1_x").ok());
}

TEST_F(IdentityStoreTest, TheLastAdminOnEveryEnvironmentIsKept) {
  const User root = AddUser("root", {{Role::kAdmin, "*"}});
  AddUser("devadmin", {{Role::kAdmin, "dev"}});
  auto check = [&](const std::string& id) {
    return reads_->Read([&](ReadView db) { return CheckAnotherAdminRemains(db, id); });
  };
  EXPECT_EQ(check(root.id).reason(), "last_admin");
  const User second = AddUser("second", {{Role::kAdmin, "*"}});
  EXPECT_TRUE(check(root.id).ok());
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) { return SetDisabled(tx, second.id, true, clock_); }).ok());
  EXPECT_EQ(check(root.id).reason(), "last_admin");  // a disabled admin does not count
}

TEST_F(IdentityStoreTest, SessionsEndWhenIdleAtTheAbsoluteTimeoutAndWhenRevoked) {
  const User u = AddUser("sam", {{Role::kOperator, "test"}});
  const SessionPolicy policy{seconds(60), seconds(300)};
  auto issue = [&] {
    return *Write<IssuedSession>(
        [&](Transaction& tx) { return CreateSession(tx, random_, clock_, policy, u.id, "password", "10.0.0.1"); });
  };
  auto check = [&](const std::string& secret, std::string* why) {
    return AuthenticateSession(*reads_, secret, clock_, policy, why);
  };
  std::string why;
  const IssuedSession s = issue();
  auto p = check(s.secret, &why);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->user_name, "sam");
  EXPECT_EQ(p->csrf_token, s.csrf_token);
  EXPECT_EQ(p->bindings.size(), 1u);

  // Each request keeps it alive for another idle period, up to the absolute limit.
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(seconds(59));
    ASSERT_TRUE(check(s.secret, &why).ok()) << i;
    ASSERT_TRUE(writer_->Write([&](Transaction& tx) { return TouchSession(tx, s.id, clock_); }).ok());
  }
  clock_.Advance(seconds(59));  // 295 s after login, 59 s idle
  EXPECT_TRUE(check(s.secret, &why).ok());
  clock_.Advance(seconds(5));
  EXPECT_FALSE(check(s.secret, &why).ok());
  EXPECT_EQ(why, "expired");

  const IssuedSession idle = issue();
  clock_.Advance(seconds(60));
  EXPECT_FALSE(check(idle.secret, &why).ok());
  EXPECT_EQ(why, "idle");

  const IssuedSession revoked = issue();
  ASSERT_TRUE(*Write<int64_t>([&](Transaction& tx) { return RevokeUserSessions(tx, u.id, clock_); }) >= 1);
  EXPECT_FALSE(check(revoked.secret, &why).ok());
  EXPECT_EQ(why, "revoked");

  // Malformed and unknown secrets, the same answer.
  std::string flipped = issue().secret;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(check(flipped, &why).status().reason(), "invalid_session");
  EXPECT_EQ(why, "unknown");
  for (const std::string& bad : {std::string(""), std::string("cloister_session_"), flipped + "A",
                                std::string("cloister_") + std::string(43, 'A')}) {
    EXPECT_EQ(check(bad, &why).status().reason(), "invalid_session") << bad;
    EXPECT_EQ(why, "malformed") << bad;
  }
}

TEST_F(IdentityStoreTest, BackoffDoublesFromTheThresholdUpToTheLimitAndIsForgotten) {
  const LockoutPolicy policy{3, 10, seconds(2), seconds(10), seconds(600)};
  auto fail = [&] {
    return *Write<LoginFailures>(
        [&](Transaction& tx) { return RecordLoginFailure(tx, "account", "pat", policy, clock_); });
  };
  auto wait = [&] {
    return *reads_->Read<int64_t>([&](ReadView db) { return LockedForSeconds(db, "account", "pat", clock_); });
  };
  EXPECT_TRUE(fail().locked_until.empty());
  EXPECT_TRUE(fail().locked_until.empty());
  EXPECT_EQ(wait(), 0);
  const std::vector<int64_t> expected = {2, 4, 8, 10, 10};  // failures 3, 4, 5, 6, 7
  for (int64_t delay : expected) {
    const LoginFailures f = fail();
    EXPECT_FALSE(f.locked_until.empty());
    EXPECT_EQ(wait(), delay) << "after " << f.failures << " failures";
    clock_.Advance(seconds(delay));
    EXPECT_EQ(wait(), 0);
  }
  auto listed = reads_->Read<std::vector<LoginFailures>>(
      [&](ReadView db) { return ListLoginFailures(db, policy, clock_); });
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].failures, 7);

  // Past reset_after the count starts again.
  clock_.Advance(seconds(601));
  EXPECT_EQ(fail().failures, 1);
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) { return ClearLoginFailures(tx, "account", "pat"); }).ok());
  EXPECT_EQ(writer_->Write([&](Transaction& tx) { return ClearLoginFailures(tx, "account", "pat"); }).code(),
            StatusCode::kNotFound);
}

TEST_F(IdentityStoreTest, TokensFollowTheirOwnerAndStopWhenTheOwnerIsDisabled) {
  const User u = AddUser("tess", {{Role::kAuthor, "dev"}, {Role::kOperator, "*"}});
  NewToken spec{"ci", u.id, {Role::kOperator}, {"test"}, ""};
  const IssuedToken t = *Write<IssuedToken>([&](Transaction& tx) { return CreateToken(tx, random_, clock_, spec); });
  std::string why;
  auto p = AuthenticateToken(*reads_, t.secret, clock_, &why);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->user_name, "tess");
  ASSERT_EQ(p->bindings.size(), 1u);
  EXPECT_EQ(p->bindings[0].role, Role::kOperator);
  EXPECT_EQ(p->bindings[0].environment, "test");
  auto info = reads_->Read<TokenInfo>([&](ReadView db) { return FindToken(db, t.id); });
  EXPECT_EQ(info->roles, std::vector<std::string>{"operator"});
  EXPECT_EQ(info->environments, std::vector<std::string>{"test"});

  ASSERT_TRUE(writer_->Write([&](Transaction& tx) { return SetDisabled(tx, u.id, true, clock_); }).ok());
  EXPECT_FALSE(AuthenticateToken(*reads_, t.secret, clock_, &why).ok());
  EXPECT_EQ(why, "owner_disabled");
}

// Damage is reported, never replaced: a stored value that does not decode is
// corruption naming its table and row, whatever the read was for.
class IdentityDamageTest : public IdentityStoreTest {
 protected:
  // Direct SQL on the database, as someone holding the key could do.
  void Damage(const std::string& sql) {
    auto conn = Connection::Open(path_, key_, ConnectionOptions{});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE((*conn)->Exec(sql).ok()) << sql;
  }
  static void ExpectCorruption(const Status& st, const std::string& fragment) {
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find(fragment), std::string::npos) << st.message();
  }
};

TEST_F(IdentityDamageTest, ARoleBindingNamingNoRoleIsCorruptionNamingTheBinding) {
  const User u = AddUser("ruth", {{Role::kAuthor, "dev"}});
  Damage("UPDATE role_bindings SET role = 'superuser' WHERE user_id = '" + u.id + "'");
  auto found = reads_->Read<User>([](ReadView db) { return FindUser(db, "ruth"); });
  ExpectCorruption(found.status(), "role_bindings row " + u.id + "/dev: role \"superuser\" is not a role");
}

TEST_F(IdentityDamageTest, ATokenWhoseExpiryIsNotATimestampIsCorruptionNotALiveToken) {
  const User u = AddUser("tom", {{Role::kOperator, "*"}});
  NewToken spec{"ci", u.id, {}, {}, FormatTimestamp(clock_.Now() + seconds(60))};
  const IssuedToken t = *Write<IssuedToken>([&](Transaction& tx) { return CreateToken(tx, random_, clock_, spec); });
  Damage("UPDATE api_tokens SET expires_at = 'someday' WHERE id = '" + t.id + "'");
  ExpectCorruption(AuthenticateToken(*reads_, t.secret, clock_).status(),
                   "api_tokens row " + t.id + ": expires_at is not a timestamp");
}

TEST_F(IdentityDamageTest, ASessionWhoseLastRequestTimeIsNotATimestampIsCorruptionNotALiveSession) {
  const User u = AddUser("sue", {{Role::kOperator, "*"}});
  const SessionPolicy policy;
  const IssuedSession s = *Write<IssuedSession>(
      [&](Transaction& tx) { return CreateSession(tx, random_, clock_, policy, u.id, "password", "10.0.0.1"); });
  Damage("UPDATE sessions SET last_seen_at = 'x' WHERE id = '" + s.id + "'");
  ExpectCorruption(AuthenticateSession(*reads_, s.secret, clock_, policy).status(),
                   "sessions row " + s.id + ": last_seen_at is not a timestamp");
}

TEST_F(IdentityDamageTest, ALockWhoseEndIsNotATimestampIsCorruptionNotALapsedLock) {
  const LockoutPolicy policy{1, 10, seconds(60), seconds(600), seconds(600)};
  ASSERT_TRUE(Write<LoginFailures>([&](Transaction& tx) {
                return RecordLoginFailure(tx, "account", "pat", policy, clock_);
              }).ok());
  Damage("UPDATE login_failures SET locked_until = 'soon' WHERE kind = 'account' AND key = 'pat'");
  auto wait = reads_->Read<int64_t>([&](ReadView db) { return LockedForSeconds(db, "account", "pat", clock_); });
  ExpectCorruption(wait.status(), "login_failures row account/pat: locked_until is not a timestamp");
  auto current = reads_->Read<LoginFailures>(
      [&](ReadView db) { return CurrentLoginFailures(db, "account", "pat", policy, clock_); });
  ExpectCorruption(current.status(), "login_failures row account/pat: locked_until is not a timestamp");
}

TEST(RestrictBindingsTest, NarrowsAndNeverWidens) {
  const std::vector<RoleBinding> admin_all = {{Role::kAdmin, "*"}};
  auto names = [](const std::vector<RoleBinding>& bs) {
    std::string out;
    for (const auto& b : bs) out += std::string(RoleName(b.role)) + "@" + b.environment + " ";
    return out;
  };
  EXPECT_EQ(names(RestrictBindings(admin_all, {}, {})), "admin@* ");
  EXPECT_EQ(names(RestrictBindings(admin_all, {Role::kAuditor}, {})), "auditor@* ");
  EXPECT_EQ(names(RestrictBindings(admin_all, {Role::kAuditor}, {"prod"})), "auditor@prod ");
  const std::vector<RoleBinding> dev_author = {{Role::kAuthor, "dev"}};
  EXPECT_EQ(names(RestrictBindings(dev_author, {Role::kAuthor}, {"prod"})), "");  // not the owner's to give
  EXPECT_EQ(names(RestrictBindings(dev_author, {Role::kApprover}, {})), "");
  EXPECT_EQ(names(RestrictBindings(dev_author, {}, {"dev", "test"})), "author@dev ");
}

TEST(TimestampTest, ParseIsTheExactInverseOfFormat) {
  const auto t = std::chrono::system_clock::from_time_t(1795219200) + std::chrono::microseconds(123456);
  const std::string text = FormatTimestamp(t);
  EXPECT_EQ(text, "2026-11-21T00:00:00.123456Z");
  EXPECT_EQ(ParseTimestamp(text), t);
  for (const char* bad : {"", "2026-11-21T00:00:00Z", "2026-13-01T00:00:00.000000Z", "2026-02-30T00:00:00.000000Z",
                          "2026-11-21 00:00:00.000000Z", "2026-11-21T00:00:00.000000+00:00", "2026-11-21T00:00:0x.000000Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace cloister
