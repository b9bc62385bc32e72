// What a restore does to API tokens: the comparison of the backup with the
// database it replaces, and the restore marker's form of it, which the
// appliance reads back at unseal (so it is read as untrusted input).
#include "appliance/identity/token_changes.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TokenInfo Token(const std::string& id, const std::string& revoked_at = "") {
  TokenInfo t;
  t.id = id;
  t.name = "name of " + id;
  t.owner_id = "usr_1";
  t.owner_name = "alice";
  t.created_at = "2026-11-01T00:00:00Z";
  t.revoked_at = revoked_at;
  return t;
}

TEST(TokenChangesTest, FindsTokensCreatedAndRevokedAfterTheBackup) {
  const std::vector<TokenInfo> backup = {Token("tok_kept"), Token("tok_revived"), Token("tok_old", "2026-10-01T00:00:00Z"),
                                         Token("tok_dropped")};
  const std::vector<TokenInfo> replaced = {Token("tok_kept"), Token("tok_revived", "2026-11-20T00:00:00Z"),
                                           Token("tok_old", "2026-10-01T00:00:00Z"), Token("tok_new"),
                                           Token("tok_new_revoked", "2026-11-20T00:00:00Z")};
  const TokenChanges changes = CompareTokens(backup, replaced);
  ASSERT_EQ(changes.revoked_after_backup.size(), 1u);
  EXPECT_EQ(changes.revoked_after_backup[0].id, "tok_revived");
  EXPECT_EQ(changes.revoked_after_backup[0].name, "name of tok_revived");
  EXPECT_EQ(changes.revoked_after_backup[0].owner_name, "alice");
  EXPECT_EQ(changes.revoked_after_backup[0].revoked_at, "2026-11-20T00:00:00Z");
  ASSERT_EQ(changes.created_after_backup.size(), 2u);
  EXPECT_EQ(changes.created_after_backup[0].id, "tok_new");
  EXPECT_EQ(changes.created_after_backup[1].id, "tok_new_revoked");
}

TEST(TokenChangesTest, NothingChangedWhenTheDatabasesAgree) {
  const std::vector<TokenInfo> same = {Token("tok_a"), Token("tok_b", "2026-10-01T00:00:00Z")};
  const TokenChanges changes = CompareTokens(same, same);
  EXPECT_TRUE(changes.created_after_backup.empty());
  EXPECT_TRUE(changes.revoked_after_backup.empty());
  EXPECT_TRUE(CompareTokens({}, {}).revoked_after_backup.empty());
}

TEST(TokenChangesTest, TheMarkerFormRoundTrips) {
  const TokenChanges changes = CompareTokens({Token("tok_a")}, {Token("tok_a", "2026-11-20T00:00:00Z"), Token("tok_b")});
  auto back = TokenChangesFromJson(ParseJsonObject(TokenChangesToJson(changes).dump()).value());
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->revoked_after_backup.size(), 1u);
  EXPECT_EQ(back->revoked_after_backup[0].id, "tok_a");
  EXPECT_EQ(back->revoked_after_backup[0].owner_id, "usr_1");
  EXPECT_EQ(back->revoked_after_backup[0].owner_name, "alice");
  ASSERT_EQ(back->created_after_backup.size(), 1u);
  EXPECT_EQ(back->created_after_backup[0].name, "name of tok_b");
}

TEST(TokenChangesTest, AMalformedMarkerIsRefusedNamingTheEntry) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "not an object"},
      {R"({"revoked_after_backup": {}})", "not a list"},
      {R"({"revoked_after_backup": [7]})", "revoked_after_backup[0] is not an object"},
      {R"({"revoked_after_backup": [{"id": 7}]})", "\"id\" is not a string"},
      {R"({"revoked_after_backup": [{"id": ""}]})", "has no \"id\""},
      {R"({"revoked_after_backup": [{"name": "x"}]})", "has no \"id\""},
      {R"({"created_after_backup": [{"id": "t", "owner": "alice"}]})", "\"owner\" is not an object"},
      {R"({"created_after_backup": [{"id": "t"}, {"id": "u", "owner": {"name": ["x"]}}]})",
       "created_after_backup[1].owner: \"name\" is not a string"},
  };
  for (const auto& [text, expected] : cases) {
    auto parsed = TokenChangesFromJson(Json::parse(text));
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find(expected), std::string::npos) << text << ": " << parsed.status().message();
  }
  // Missing lists are empty lists.
  auto empty = TokenChangesFromJson(Json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->revoked_after_backup.empty());
}

}  // namespace
}  // namespace cloister
