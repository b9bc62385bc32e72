#include "appliance/storage/shamir.h"

#include <gtest/gtest.h>

#include <functional>

namespace cloister {
namespace {

SecureBytes RandomSecret(Random& random, size_t n = 32) { return *SecureBytes::Generate(random, n); }

// Calls fn with every subset of {0..n-1} of size k.
void ForEachSubset(int n, int k, const std::function<void(const std::vector<int>&)>& fn) {
  std::vector<int> pick;
  std::function<void(int)> rec = [&](int start) {
    if (static_cast<int>(pick.size()) == k) return fn(pick);
    for (int i = start; i < n; ++i) {
      pick.push_back(i);
      rec(i + 1);
      pick.pop_back();
    }
  };
  rec(0);
}

TEST(ShamirTest, FieldInverseIsCorrectForEveryNonZeroElement) {
  for (int a = 1; a < 256; ++a) {
    EXPECT_EQ(GfMul(static_cast<uint8_t>(a), GfInverse(static_cast<uint8_t>(a))), 1) << a;
  }
  EXPECT_EQ(GfMul(0x57, 0x83), 0xc1);  // FIPS-197 section 4.2 example
}

class ShamirSubsetTest : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(ShamirSubsetTest, EveryThresholdSubsetRebuildsAndSmallerOnesDoNot) {
  const auto [n, t] = GetParam();
  SystemRandom random;
  const SecureBytes secret = RandomSecret(random);
  auto shares = ShamirSplit(secret, n, t, random);
  ASSERT_TRUE(shares.ok()) << shares.status().ToString();
  ASSERT_EQ(static_cast<int>(shares->size()), n);
  int subsets = 0;
  for (int k = t; k <= n; ++k) {
    ForEachSubset(n, k, [&](const std::vector<int>& pick) {
      std::vector<ShamirShare> chosen;
      for (int i : pick) chosen.push_back({(*shares)[i].x, (*shares)[i].y.Copy()});
      auto rebuilt = ShamirCombine(chosen);
      ASSERT_TRUE(rebuilt.ok());
      EXPECT_TRUE(rebuilt->Equals(secret));
      ++subsets;
    });
  }
  EXPECT_GT(subsets, 0);
  if (t > 1) {
    ForEachSubset(n, t - 1, [&](const std::vector<int>& pick) {
      std::vector<ShamirShare> chosen;
      for (int i : pick) chosen.push_back({(*shares)[i].x, (*shares)[i].y.Copy()});
      auto rebuilt = ShamirCombine(chosen);
      ASSERT_TRUE(rebuilt.ok());
      EXPECT_FALSE(rebuilt->Equals(secret)) << "t-1 shares rebuilt the secret";
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ShamirSubsetTest,
                         ::testing::Values(std::pair{1, 1}, std::pair{2, 2}, std::pair{3, 2}, std::pair{5, 3},
                                           std::pair{6, 4}, std::pair{7, 7}));

TEST(ShamirTest, AlteredShareRebuildsADifferentSecret) {
  SystemRandom random;
  const SecureBytes secret = RandomSecret(random);
  auto shares = *ShamirSplit(secret, 5, 3, random);
  std::vector<ShamirShare> chosen;
  for (int i = 0; i < 3; ++i) chosen.push_back({shares[i].x, shares[i].y.Copy()});
  chosen[1].y[7] ^= 0x01;
  EXPECT_FALSE(ShamirCombine(chosen)->Equals(secret));
}

TEST(ShamirTest, RejectsBadParametersAndDuplicateShares) {
  SystemRandom random;
  const SecureBytes secret = RandomSecret(random);
  EXPECT_FALSE(ShamirSplit(secret, 0, 0, random).ok());
  EXPECT_FALSE(ShamirSplit(secret, 3, 4, random).ok());
  EXPECT_FALSE(ShamirSplit(secret, 3, 1, random).ok());
  EXPECT_FALSE(ShamirSplit(secret, 256, 3, random).ok());
  EXPECT_FALSE(ShamirSplit(SecureBytes(), 3, 2, random).ok());
  auto shares = *ShamirSplit(secret, 3, 2, random);
  std::vector<ShamirShare> dup;
  dup.push_back({shares[0].x, shares[0].y.Copy()});
  dup.push_back({shares[0].x, shares[1].y.Copy()});
  EXPECT_FALSE(ShamirCombine(dup).ok());
  EXPECT_FALSE(ShamirCombine({}).ok());
}

}  // namespace
}  // namespace cloister
