// The one list of promotion states: names, the open ones, and the SQL built
// from them (checked against a real SQLCipher database).
#include "governance/promotion/promotion_state.h"

#include <gtest/gtest.h>

#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister::promotion {
namespace {

TEST(PromotionStateTest, NamesRoundTrip) {
  std::vector<std::string> names;
  for (PromotionState s : kAllStates) {
    names.emplace_back(StateName(s));
    EXPECT_EQ(ParseState(StateName(s)), s) << StateName(s);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"pending_checks", "awaiting_approval", "approved", "scheduled", "deployed",
                                             "rejected", "blocked", "cancelled", "failed"}));
}

TEST(PromotionStateTest, ParsesOnlyExactNames) {
  for (const char* bad : {"", "Approved", "approved ", "blocked_by_policy", "open", "unknown"}) {
    EXPECT_FALSE(ParseState(bad).has_value()) << bad;
  }
}

TEST(PromotionStateTest, OpenStatesAreThoseBeforeAnOutcome) {
  std::vector<std::string> open;
  for (PromotionState s : kAllStates) {
    if (IsOpen(s)) open.emplace_back(StateName(s));
  }
  EXPECT_EQ(open, (std::vector<std::string>{"pending_checks", "awaiting_approval", "approved", "scheduled"}));
  ASSERT_EQ(kOpenStates.size(), open.size());
  for (size_t i = 0; i < open.size(); ++i) EXPECT_EQ(StateName(kOpenStates[i]), open[i]);
}

TEST(PromotionStateTest, SqlListsTheStates) {
  EXPECT_EQ(StateCheckSql("state"),
            "state IN ('pending_checks', 'awaiting_approval', 'approved', 'scheduled', 'deployed', 'rejected', "
            "'blocked', 'cancelled', 'failed')");
  // The list the schema's one-open-promotion index and its queries use.
  EXPECT_EQ(OpenStatesSql(), "('pending_checks', 'awaiting_approval', 'approved', 'scheduled')");
}

TEST(PromotionStateTest, CheckConstraintAdmitsExactlyTheStates) {
  testing::TempDir dir;
  SystemRandom random;
  const SecureBytes key = *SecureBytes::Generate(random, 32);
  testing::ManualClock clock;
  auto store = testing::OpenTestStore(dir.File("cloister.db"), key, clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const auto insert = [&](const std::string& state) {
    return store->writer->Write([&](Transaction& tx) -> Status {
      CL_RETURN_IF_ERROR(tx.Exec("CREATE TABLE IF NOT EXISTS states (state TEXT NOT NULL CHECK (" +
                                 StateCheckSql("state") + "))"));
      CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT INTO states (state) VALUES (?)"));
      return s->Bind(1, state).Run();
    });
  };
  for (PromotionState s : kAllStates) EXPECT_TRUE(insert(std::string(StateName(s))).ok()) << StateName(s);
  for (const char* bad : {"blocked_by_policy", "", "Approved"}) EXPECT_FALSE(insert(bad).ok()) << bad;
}

}  // namespace
}  // namespace cloister::promotion
