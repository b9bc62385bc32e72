// RFC 6962 vectors computed by Go's golang.org/x/mod/sumdb/tlog, read from
// shared/testdata: roots for every size, inclusion and consistency proofs,
// plus range proofs for every range of small trees and forged proofs.
#include "audit/verify/merkle.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/verify/signed_note.h"
#include "tests/support/test_support.h"

namespace cloister::verify {
namespace {

class MerkleVectorTest : public ::testing::Test {
 protected:
  // Read once; every test fails (not skips) when the vectors are missing.
  void SetUp() override {
    static const nlohmann::json loaded = nlohmann::json::parse(
        testing::Slurp(std::string(CLOISTER_SOURCE_DIR) + "/../shared/testdata/tlog/rfc6962-vectors.json"), nullptr,
        /*allow_exceptions=*/false);
    ASSERT_TRUE(loaded.is_object()) << "shared/testdata/tlog/rfc6962-vectors.json is missing or malformed";
    vectors_ = &loaded;
  }

  static Hash H(const nlohmann::json& b64) {
    std::string raw;
    EXPECT_TRUE(FromBase64(b64.get<std::string>(), &raw));
    Hash h{};
    std::copy(raw.begin(), raw.end(), h.begin());
    return h;
  }
  static std::vector<Hash> Hashes(const nlohmann::json& list) {
    std::vector<Hash> out;
    for (const auto& h : list) out.push_back(H(h));
    return out;
  }
  std::vector<Hash> leaves() const {
    std::vector<Hash> out;
    for (const auto& b64 : (*vectors_)["leaves_base64"]) {
      std::string raw;
      FromBase64(b64.get<std::string>(), &raw);
      out.push_back(LeafHash(raw));
    }
    return out;
  }
  SubtreeHashFn Mth() const {
    auto all = std::make_shared<std::vector<Hash>>(leaves());
    return [all](uint64_t begin, uint64_t end) {
      return RootFromLeaves(std::vector<Hash>(all->begin() + begin, all->begin() + end));
    };
  }

  const nlohmann::json* vectors_ = nullptr;
};

TEST_F(MerkleVectorTest, LeafHashesMatch) {
  const auto expected = Hashes((*vectors_)["leaf_hashes"]);
  EXPECT_EQ(leaves(), expected);
}

TEST_F(MerkleVectorTest, RootForEverySizeFrom0To300) {
  const auto all = leaves();
  const auto& roots = (*vectors_)["roots_by_size"];
  ASSERT_EQ(roots.size(), 301u);
  for (size_t n = 0; n <= 300; ++n) {
    EXPECT_EQ(RootFromLeaves(std::vector<Hash>(all.begin(), all.begin() + n)), H(roots[n])) << n;
  }
}

TEST_F(MerkleVectorTest, InclusionProofsAreGeneratedAndVerified) {
  const auto all = leaves();
  const auto mth = Mth();
  for (const auto& v : (*vectors_)["inclusion_proofs"]) {
    const uint64_t index = v["index"], size = v["size"];
    const auto proof = Hashes(v["proof"]);
    const Hash root = H((*vectors_)["roots_by_size"][size]);
    EXPECT_EQ(InclusionProof(index, size, mth), proof) << index << "/" << size;
    EXPECT_TRUE(VerifyInclusion(index, size, all[index], proof, root)) << index << "/" << size;
    if (!proof.empty()) {
      auto missing = proof;
      missing.pop_back();
      EXPECT_FALSE(VerifyInclusion(index, size, all[index], missing, root));
      auto extra = proof;
      extra.push_back(proof[0]);
      EXPECT_FALSE(VerifyInclusion(index, size, all[index], extra, root));
      auto flipped = proof;
      flipped[0][5] ^= 1;
      EXPECT_FALSE(VerifyInclusion(index, size, all[index], flipped, root));
    }
    if (size > 1) {
      EXPECT_FALSE(VerifyInclusion((index + 1) % size, size, all[index], proof, root));
    }
  }
}

TEST_F(MerkleVectorTest, ConsistencyProofsAreGeneratedAndVerified) {
  const auto mth = Mth();
  const auto& roots = (*vectors_)["roots_by_size"];
  for (const auto& v : (*vectors_)["consistency_proofs"]) {
    const uint64_t m = v["old_size"], n = v["new_size"];
    const auto proof = Hashes(v["proof"]);
    EXPECT_EQ(ConsistencyProof(m, n, mth), proof) << m << "->" << n;
    EXPECT_TRUE(VerifyConsistency(m, n, H(roots[m]), H(roots[n]), proof)) << m << "->" << n;
    Hash wrong_old = H(roots[m]);
    wrong_old[31] ^= 1;
    EXPECT_FALSE(VerifyConsistency(m, n, wrong_old, H(roots[n]), proof)) << m << "->" << n;
    if (m != n) {
      auto swapped = proof;
      if (swapped.size() > 1) {
        std::swap(swapped[0], swapped[1]);
        EXPECT_FALSE(VerifyConsistency(m, n, H(roots[m]), H(roots[n]), swapped)) << m << "->" << n;
      }
      auto missing = proof;
      missing.pop_back();
      EXPECT_FALSE(VerifyConsistency(m, n, H(roots[m]), H(roots[n]), missing)) << m << "->" << n;
    }
  }
}

TEST_F(MerkleVectorTest, ConsistencyHoldsForEveryPairOfSmallSizes) {
  const auto mth = Mth();
  const auto& roots = (*vectors_)["roots_by_size"];
  for (uint64_t n = 1; n <= 40; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      EXPECT_TRUE(VerifyConsistency(m, n, H(roots[m]), H(roots[n]), ConsistencyProof(m, n, mth))) << m << "->" << n;
    }
  }
}

TEST_F(MerkleVectorTest, RangeProofsForEveryRangeOfSmallTreesAndThe300Tree) {
  const auto all = leaves();
  const auto mth = Mth();
  const auto& roots = (*vectors_)["roots_by_size"];
  auto check = [&](uint64_t a, uint64_t b, uint64_t n) {
    const auto proof = RangeProof(a, b, n, mth);
    const std::vector<Hash> range(all.begin() + a, all.begin() + b + 1);
    const Hash root = H(roots[n]);
    ASSERT_TRUE(VerifyRange(a, b, n, range, proof, root)) << a << ".." << b << " in " << n;
    auto extra = proof;
    extra.push_back(root);
    EXPECT_FALSE(VerifyRange(a, b, n, range, extra, root));
    if (!proof.empty()) {
      auto missing = proof;
      missing.pop_back();
      EXPECT_FALSE(VerifyRange(a, b, n, range, missing, root));
    }
    auto altered = range;
    altered[0][0] ^= 1;
    EXPECT_FALSE(VerifyRange(a, b, n, altered, proof, root));
  };
  for (uint64_t n = 1; n <= 20; ++n) {
    for (uint64_t a = 0; a < n; ++a) {
      for (uint64_t b = a; b < n; ++b) check(a, b, n);
    }
  }
  check(0, 299, 300);
  check(17, 255, 300);
  check(256, 299, 300);
  check(299, 299, 300);
}

TEST(MerkleTest, ChainHashUsesItsOwnPrefix) {
  const Hash zero{};
  const Hash leaf = LeafHash("x");
  EXPECT_NE(ChainHash(zero, leaf), NodeHash(zero, leaf));
  EXPECT_NE(ChainHash(zero, leaf), ChainHash(leaf, zero));
}

}  // namespace
}  // namespace cloister::verify
