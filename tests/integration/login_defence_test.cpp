// Brute-force backoff per account and per address, what admins see of it,
// and failed logins that are equal in answer and in time.
#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/identity_test_support.h"

namespace cloister {
namespace {

class LoginDefenceTest : public testing::IdentityFixture {};

TEST_F(LoginDefenceTest, FailuresPastTheThresholdLockTheAccountWithGrowingDelays) {
  Boot();  // account threshold 3, base delay 1 s
  MakeUser("gina", {"author@dev"}, "gina's long password");
  EXPECT_EQ(Login("gina", "wrong password 1").response.status, 401);
  EXPECT_EQ(Login("gina", "wrong password 2").response.status, 401);
  EXPECT_EQ(Login("gina", "wrong password 3").response.status, 401);  // the third locks for 1 s

  // Locked: even the right password is refused, without being checked.
  const ApiResponse locked = Login("GINA", "gina's long password").response;
  ASSERT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(locked.json()["error"]["code"], "too_many_attempts");
  EXPECT_EQ(locked.headers.at("retry-after"), "1");

  // Visible to admins: the locked account, and the address's count (below its threshold).
  const Json lockouts = Call("GET", "/v1/auth/lockouts", nullptr, admin_token_).json();
  ASSERT_EQ(lockouts["lockouts"].size(), 2u) << lockouts.dump();
  const Json account = lockouts["lockouts"][0]["kind"] == "account" ? lockouts["lockouts"][0] : lockouts["lockouts"][1];
  const Json address = lockouts["lockouts"][0]["kind"] == "account" ? lockouts["lockouts"][1] : lockouts["lockouts"][0];
  EXPECT_EQ(account["key"], Hmac("gina"));  // accounts only by HMAC, named when they are users
  EXPECT_EQ(account["user"], "gina");
  EXPECT_EQ(account["failures"], 3);
  EXPECT_TRUE(account["locked_until"].is_string());
  EXPECT_EQ(address["key"], "127.0.0.1");
  EXPECT_TRUE(address["locked_until"].is_null());
  EXPECT_EQ(lockouts["policy"]["account_threshold"], 3);

  // After the delay one more failure locks for twice as long.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Login("gina", "wrong password 4").response.status, 401);
  const ApiResponse longer = Login("gina", "gina's long password").response;
  ASSERT_EQ(longer.status, 429);
  EXPECT_EQ(longer.headers.at("retry-after"), "2");

  // An admin clears it; the right password works at once and the count restarts.
  ASSERT_EQ(Call("DELETE", "/v1/auth/lockouts/account/Gina", nullptr, admin_token_).status, 200);
  EXPECT_EQ(Login("gina", "gina's long password").response.status, 200);
  EXPECT_EQ(Call("DELETE", "/v1/auth/lockouts/account/gina", nullptr, admin_token_).status, 404);
  EXPECT_EQ(Call("DELETE", "/v1/auth/lockouts/planet/gina", nullptr, admin_token_).status, 400);

  const Json lock_events = Events("action=auth.lockout");
  ASSERT_EQ(lock_events.size(), 2u);
  EXPECT_EQ(lock_events[0]["details"]["failures"], 3);
  EXPECT_EQ(lock_events[1]["details"]["failures"], 4);
  EXPECT_EQ(Events("action=auth.lockout.clear")[0]["target"]["id"], Hmac("gina"));
  EXPECT_EQ(Events("action=auth.login&outcome=denied").size(), 6u);  // 4 wrong, 2 refused while locked
}

TEST_F(LoginDefenceTest, UnknownAccountsLockExactlyLikeKnownOnes) {
  Boot();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Login("ghost", "any password at all").response.status, 401);
  const ApiResponse locked = Login("ghost", "any password at all").response;
  EXPECT_EQ(locked.status, 429) << "an unlocked unknown name would tell it does not exist";
  const Json events = Events("action=auth.lockout");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["target"]["id"], Hmac("ghost"));
}

TEST_F(LoginDefenceTest, ManyAccountsFromOneAddressLockTheAddress) {
  Boot("  lockout:\n    account_threshold: 100\n    address_threshold: 4\n    base_delay_seconds: 60\n");
  for (const char* name : {"u1", "u2", "u3", "u4"}) EXPECT_EQ(Login(name, "some password").response.status, 401);
  const ApiResponse locked = Login("admin", admin_password_).response;
  EXPECT_EQ(locked.status, 429);
  const Json lockouts = Call("GET", "/v1/auth/lockouts", nullptr, admin_token_).json()["lockouts"];
  bool address_locked = false;
  for (const auto& l : lockouts) address_locked |= l["kind"] == "address" && l["key"] == "127.0.0.1" && l["locked_until"].is_string();
  EXPECT_TRUE(address_locked) << lockouts.dump();
  ASSERT_EQ(Call("DELETE", "/v1/auth/lockouts/address/127.0.0.1", nullptr, admin_token_).status, 200);
  EXPECT_EQ(Login("admin", admin_password_).response.status, 200);
}

// An unknown user and a wrong password must be indistinguishable: the same
TEST_F(LoginDefenceTest, ConcurrentWrongPasswordsGetNoMoreChecksThanSequentialOnes) {
  Boot();  // account threshold 3
  MakeUser("ines", {"author@dev"}, "ines's long password");
  constexpr int kAttempts = 40;
  std::vector<int> statuses(kAttempts);
  std::vector<std::thread> threads;
  for (int i = 0; i < kAttempts; ++i) {
    threads.emplace_back([&, i] { statuses[i] = Login("ines", "wrong password " + std::to_string(i)).response.status; });
  }
  for (auto& t : threads) t.join();
  // 401: the password was checked; 429: refused before any check.
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 401), 3);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 429), kAttempts - 3);
  int64_t checked = 0;
  for (const Json& e : Events("action=auth.login&outcome=denied")) checked += e["reason"] == "wrong_password";
  EXPECT_EQ(checked, 3);
}

TEST_F(LoginDefenceTest, APasswordTypedAsTheUserNameIsNeverListedInClear) {
  Boot();
  const std::string typed = "Tr0ub4dor&3-secret";
  EXPECT_EQ(Login(typed, "whatever").response.status, 401);
  const ApiResponse listed = Call("GET", "/v1/auth/lockouts", nullptr, admin_token_);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find("Tr0ub4dor"), std::string::npos) << listed.body;
  EXPECT_EQ(listed.body.find("tr0ub4dor"), std::string::npos) << listed.body;
  bool found = false;
  const Json lockouts = listed.json()["lockouts"];
  for (const Json& l : lockouts) {
    if (l["kind"] == "account") {
      found = true;
      EXPECT_EQ(l["key"], Hmac("tr0ub4dor&3-secret"));
      EXPECT_TRUE(l["user"].is_null());
    }
  }
  EXPECT_TRUE(found) << listed.body;
  // An admin clears it by the HMAC the listing shows.
  EXPECT_EQ(Call("DELETE", "/v1/auth/lockouts/account/" + Hmac("tr0ub4dor&3-secret"), nullptr, admin_token_).status,
            200);
}

TEST_F(LoginDefenceTest, BogusTokensAreRateLimitedPerAddressAndTheRefusalRecordedOncePerWindow) {
  Boot("  failed_auth:\n    max_failures: 5\n    window_seconds: 60\n");
  const std::string bogus = "cloister_" + std::string(43, 'A');
  int unauthenticated = 0, limited = 0;
  for (int i = 0; i < 200; ++i) {
    const ApiResponse r = Call("GET", "/v1/auth/whoami", nullptr, bogus);
    if (r.status == 401) ++unauthenticated;
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.json()["error"]["code"], "too_many_failures");
      const int retry = std::stoi(r.headers.at("retry-after"));
      EXPECT_GE(retry, 1);
      EXPECT_LE(retry, 60);
    }
  }
  EXPECT_EQ(unauthenticated, 5);
  EXPECT_EQ(limited, 195);
  // Five refusals in full, then one record of the limit: not 200 events.
  EXPECT_EQ(Events("action=auth.token&outcome=denied").size(), 5u);
  const Json recorded = Events("action=auth.rate_limited");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["details"]["failures"], 6);
  // A good credential from the same address still works.
  EXPECT_EQ(Call("GET", "/v1/auth/whoami", nullptr, admin_token_).status, 200);
}

TEST_F(LoginDefenceTest, LoginsRefusedWhileLockedAreRecordedOncePerWindowPastTheLimit) {
  Boot("  lockout:\n    account_threshold: 3\n    address_threshold: 1000\n    base_delay_seconds: 600\n"
       "  failed_auth:\n    max_failures: 5\n    window_seconds: 60\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Login("jan", "wrong password").response.status, 401);  // locks
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Login("jan", "wrong password").response.status, 429);
  int64_t locked = 0;
  for (const Json& e : Events("action=auth.login&outcome=denied")) locked += e["reason"] == "locked";
  EXPECT_EQ(locked, 5);
  const Json limited = Events("action=auth.rate_limited");
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0]["details"]["refusals"], 6);
}

TEST_F(LoginDefenceTest, UnknownMethodsShareOneMetricLabel) {
  Boot();
  for (int i = 0; i < 20; ++i) Call("FROB" + std::to_string(i), "/v1/sys/health");
  const ApiResponse metrics = Call("GET", "/metrics", nullptr, admin_token_);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("FROB"), std::string::npos);
  EXPECT_NE(metrics.body.find("method=\"other\""), std::string::npos);
}

// status and body, and the same time (an unknown user's attempt runs scrypt
// against a dummy hash). Samples interleave the two cases so drift in the
// machine's load hits both alike; medians are compared, so a few slow
// samples cannot fail it, while skipping scrypt for unknown users (a ~50x
// difference) cannot pass.
TEST_F(LoginDefenceTest, UnknownUserAndWrongPasswordTakeTheSameTime) {
  Boot("  lockout:\n    account_threshold: 100000\n    address_threshold: 100000\n");
  MakeUser("hana", {"author@dev"}, "hana's long password");
  ApiClient client(server_.Client());
  auto attempt = [&](const std::string& user, std::string* body) {
    const auto start = std::chrono::steady_clock::now();
    auto r = client.Send("POST", "/v1/auth/login", Json{{"username", user}, {"password", "not the password"}}.dump());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      EXPECT_EQ(r->status, 401);
      *body = r->body;
    }
    return ms;
  };
  std::string body_unknown, body_wrong;
  attempt("warm-up", &body_unknown);
  std::vector<double> unknown, wrong;
  for (int i = 0; i < 25; ++i) {
    unknown.push_back(attempt("nobody-" + std::to_string(i), &body_unknown));
    wrong.push_back(attempt("hana", &body_wrong));
  }
  EXPECT_EQ(body_unknown, body_wrong);
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  const double a = median(unknown), b = median(wrong);
  RecordProperty("median_unknown_ms", std::to_string(a));
  RecordProperty("median_wrong_ms", std::to_string(b));
  EXPECT_LT(std::max(a, b) / std::min(a, b), 1.3) << "unknown user " << a << " ms, wrong password " << b << " ms";
}

}  // namespace
}  // namespace cloister
