// The per-address limit on failed authentications, and the attempt slots
// that keep concurrent logins from outrunning the lockout count.
#include "appliance/identity/auth_failure_limiter.h"

#include <gtest/gtest.h>

#include "appliance/identity/login_throttle.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

using std::chrono::seconds;

TEST(AuthFailureLimiterTest, RefusesPastTheLimitAndRecordsTheFirstRefusalOfEachWindow) {
  testing::ManualClock clock;
  AuthFailureLimiter limiter(clock, {3, seconds(60), 100});
  for (int i = 1; i <= 3; ++i) {
    const auto v = limiter.Fail("10.0.0.1");
    EXPECT_FALSE(v.refuse) << i;
    EXPECT_EQ(v.failures, i);
  }
  const auto first = limiter.Fail("10.0.0.1");
  EXPECT_TRUE(first.refuse);
  EXPECT_TRUE(first.record_refusal);
  EXPECT_EQ(first.retry_after_seconds, 60);
  clock.Advance(seconds(10));
  for (int i = 0; i < 5; ++i) {
    const auto v = limiter.Fail("10.0.0.1");
    EXPECT_TRUE(v.refuse);
    EXPECT_FALSE(v.record_refusal);
    EXPECT_EQ(v.retry_after_seconds, 50);
  }
  // Another address has its own count.
  EXPECT_FALSE(limiter.Fail("10.0.0.2").refuse);

  // The next window starts afresh; its first recorded refusal carries the
  // five left unrecorded before.
  clock.Advance(seconds(50));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Fail("10.0.0.1").refuse);
  const auto next = limiter.Fail("10.0.0.1");
  EXPECT_TRUE(next.record_refusal);
  EXPECT_EQ(next.refused_in_previous_window, 5);
}

TEST(AuthFailureLimiterTest, TracksABoundedNumberOfAddresses) {
  testing::ManualClock clock;
  AuthFailureLimiter limiter(clock, {1, seconds(60), 4});
  for (int i = 0; i < 1000; ++i) limiter.Fail("10.1.0." + std::to_string(i));
  // The newest address is still tracked: its second failure is refused.
  EXPECT_TRUE(limiter.Fail("10.1.0.999").refuse);
}

// The reads a login would make: `failures` recorded so far per key.
struct FakeFailures {
  std::map<std::string, int64_t> failures;
  std::map<std::string, std::string> locked_until;
  Result<LoginFailures> operator()(const AttemptSlots::Key& k) const {
    LoginFailures f{k.kind, k.key, 0, "", ""};
    if (auto it = failures.find(k.key); it != failures.end()) f.failures = it->second;
    if (auto it = locked_until.find(k.key); it != locked_until.end()) f.locked_until = it->second;
    return f;
  }
};

TEST(AttemptSlotsTest, ConcurrentChecksNeverExceedTheAttemptsLeft) {
  testing::ManualClock clock;
  AttemptSlots slots;
  FakeFailures db;
  const std::vector<AttemptSlots::Key> keys = {{"account", "gina", 3}, {"address", "10.0.0.1", 100}};
  // Three attempts left: three checks may run at once, not a fourth.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(slots.Take(keys, db, clock)->taken) << i;
  EXPECT_FALSE(slots.Take(keys, db, clock)->taken);
  // A failure is recorded and its slot given back: still none left.
  db.failures["gina"] = 1;
  slots.Release(keys);
  EXPECT_FALSE(slots.Take(keys, db, clock)->taken);
  // At the threshold only one check runs at a time.
  db.failures["gina"] = 3;
  slots.Release(keys);
  slots.Release(keys);
  EXPECT_TRUE(slots.Take(keys, db, clock)->taken);
  EXPECT_FALSE(slots.Take(keys, db, clock)->taken);
}

TEST(AttemptSlotsTest, ALockedKeyGetsNoSlotAndSaysHowLong) {
  testing::ManualClock clock;
  AttemptSlots slots;
  FakeFailures db;
  db.failures["gina"] = 3;
  db.locked_until["gina"] = FormatTimestamp(clock.Now() + seconds(8));
  const auto out = slots.Take({{"account", "gina", 3}}, db, clock);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->taken);
  EXPECT_EQ(out->locked_seconds, 8);
}

}  // namespace
}  // namespace cloister
