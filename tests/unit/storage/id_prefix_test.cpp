// Ids by unique prefix: exact ids, prefixes of 8 or more, ambiguity, and
// text that is no id at all, against a real table.
#include <gtest/gtest.h>

#include "appliance/storage/id_prefix.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

const std::vector<std::string> kIds = {"prm-0a1b2c3d4e5f", "prm-0a1b2c3dffff", "prm-77aa00bb11cc", "prm-77"};

TEST(IdPrefixTest, ExactIdsWinAndPrefixesNeedEightCharacters) {
  EXPECT_EQ(*ResolveIdAmong("prm-77", kIds, "promotion"), "prm-77");  // exact, though short and a prefix of another
  EXPECT_EQ(*ResolveIdAmong("prm-77aa", kIds, "promotion"), "prm-77aa00bb11cc");
  EXPECT_EQ(*ResolveIdAmong("prm-0a1b2c3d4", kIds, "promotion"), "prm-0a1b2c3d4e5f");
  const auto short_prefix = ResolveIdAmong("prm-0a1", kIds, "promotion");
  EXPECT_EQ(short_prefix.status().code(), StatusCode::kNotFound);
  EXPECT_NE(short_prefix.status().message().find("at least 8"), std::string::npos);
}

TEST(IdPrefixTest, AmbiguousPrefixIsAnErrorListingTheCandidates) {
  const auto r = ResolveIdAmong("prm-0a1b2c3d", kIds, "promotion");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().reason(), "ambiguous_id");
  EXPECT_NE(r.status().message().find("prm-0a1b2c3d4e5f"), std::string::npos);
  EXPECT_NE(r.status().message().find("prm-0a1b2c3dffff"), std::string::npos);
  EXPECT_EQ(r.status().details()["candidates"].size(), 2u);
}

TEST(IdPrefixTest, NothingMatchesIsNotFound) {
  EXPECT_EQ(ResolveIdAmong("prm-99999999", kIds, "promotion").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ResolveIdAmong("", kIds, "promotion").status().code(), StatusCode::kNotFound);
}

class ResolveIdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = Connection::Open(dir_.File("ids.db"), SecureBytes(32), ConnectionOptions{/*create=*/true});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    ASSERT_TRUE(conn_->Exec("CREATE TABLE things (id TEXT PRIMARY KEY)").ok());
    for (const auto& id : kIds) {
      auto s = conn_->Cached("INSERT INTO things (id) VALUES (?)");
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE((*s)->Bind(1, id).Run().ok());
    }
    for (int i = 0; i < 15; ++i) {
      auto s = conn_->Cached("INSERT INTO things (id) VALUES (?)");
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE((*s)->Bind(1, "tok_deadbeef" + std::to_string(10 + i)).Run().ok());
    }
  }
  testing::TempDir dir_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(ResolveIdTest, ResolvesByRangeOfTheIndex) {
  EXPECT_EQ(*ResolveId(ReadView(*conn_), "things", "id", "prm-77aa00", "promotion"), "prm-77aa00bb11cc");
  EXPECT_EQ(*ResolveId(ReadView(*conn_), "things", "id", "prm-77", "promotion"), "prm-77");
  EXPECT_EQ(*ResolveId(ReadView(*conn_), "things", "id", "prm-0a1b2c3dff", "promotion"), "prm-0a1b2c3dffff");
  EXPECT_EQ(ResolveId(ReadView(*conn_), "things", "id", "prm-0a1b2c3d", "promotion").status().reason(), "ambiguous_id");
  EXPECT_EQ(ResolveId(ReadView(*conn_), "things", "id", "prm-99999999", "promotion").status().code(), StatusCode::kNotFound);
}

TEST_F(ResolveIdTest, ManyCandidatesAreListedUpToTen) {
  const auto r = ResolveId(ReadView(*conn_), "things", "id", "tok_deadbeef", "API token");
  ASSERT_EQ(r.status().reason(), "ambiguous_id");
  EXPECT_EQ(r.status().details()["candidates"].size(), 10u);
  EXPECT_NE(r.status().message().find(", ..."), std::string::npos);
}

TEST_F(ResolveIdTest, LikeAndRangeMetacharactersAreNotPatterns) {
  // Wildcards and quotes are not id characters: only an exact match could name them.
  for (const char* hostile : {"prm-%%%%%%%%", "prm-____0a1b", "prm-0a1b2c3d' OR '1'='1", "prm-0a1b2c3d\x7f", "prm-*",
                              "prm-0a1b2c3d\xff"}) {
    EXPECT_EQ(ResolveId(ReadView(*conn_), "things", "id", hostile, "promotion").status().code(), StatusCode::kNotFound)
        << hostile;
  }
}

}  // namespace
}  // namespace cloister
