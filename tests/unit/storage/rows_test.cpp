#include "appliance/storage/rows.h"

#include <gtest/gtest.h>

#include "appliance/core/random.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

struct Item {
  std::string id;
  Json data;
};

Result<Item> DecodeItem(const Row& row) {
  CL_ASSIGN_OR_RETURN(Json data, row.JsonAt(1, "data"));
  return Item{row.Text(0), std::move(data)};
}

class RowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConnectionOptions options;
    options.create = true;
    auto conn = Connection::Open(dir_.File("rows.db"), key_, options);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    ASSERT_TRUE(conn_->Exec("CREATE TABLE items (id TEXT PRIMARY KEY, data TEXT, hash BLOB);"
                            "INSERT INTO items VALUES ('a', '{\"n\": 1}', zeroblob(32));"
                            "INSERT INTO items VALUES ('b', '{\"n\": 2}', zeroblob(31));")
                    .ok());
  }
  ReadView view() { return ReadView(*conn_); }

  testing::TempDir dir_;
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  std::unique_ptr<Connection> conn_;
};

TEST_F(RowsTest, ReadAllDecodesEveryRowInOrder) {
  auto items = view().Select("items", "SELECT id, data FROM items ORDER BY id").ReadAll(DecodeItem);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1].id, "b");
  EXPECT_EQ((*items)[1].data["n"], 2);
}

TEST_F(RowsTest, ReadOneIsEmptyWhenNoRowMatches) {
  auto item = view().Select("items", "SELECT id, data FROM items WHERE id = ?").Bind(1, "zz").ReadOne(DecodeItem);
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->has_value());
}

TEST_F(RowsTest, DamagedJsonIsCorruptionNamingTableKeyAndColumn) {
  ASSERT_TRUE(conn_->Exec("UPDATE items SET data = '{\"n\": ' WHERE id = 'b'").ok());
  auto items = view().Select("items", "SELECT id, data FROM items ORDER BY id").ReadAll(DecodeItem);
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), StatusCode::kCorruption);
  EXPECT_NE(items.status().message().find("items row b: data is not JSON"), std::string::npos)
      << items.status().message();
}

TEST_F(RowsTest, ShortHashIsCorruptionNotZeros) {
  auto hashes = view().Select("items", "SELECT id, hash FROM items ORDER BY id").ReadAll([](const Row& row) {
    return row.FixedBlob(1, 32, "hash");
  });
  ASSERT_FALSE(hashes.ok());
  EXPECT_EQ(hashes.status().code(), StatusCode::kCorruption);
  EXPECT_NE(hashes.status().message().find("items row b: hash is 31 bytes, not 32"), std::string::npos)
      << hashes.status().message();
}

TEST_F(RowsTest, KeyColumnNamesTheRow) {
  auto r = view().Select("items", "SELECT data, id FROM items WHERE id = 'b'").KeyColumn(1).ReadOne([](const Row& row) {
    return row.Corrupt("bad");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "items row b: bad");
}

TEST_F(RowsTest, ViewRefusesSqlThatWrites) {
  auto r = view().Select("items", "DELETE FROM items").ReadInt();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(*view().Select("items", "SELECT COUNT(*) FROM items").ReadInt(), 2);
}

// sqlite3_stmt_readonly passes COMMIT, SAVEPOINT and setting PRAGMAs, which
// would end or change the writer's transaction under a unit.
TEST_F(RowsTest, ViewRefusesStatementsThatAreNotQueries) {
  for (const char* sql : {"COMMIT", "SAVEPOINT s", "PRAGMA foreign_keys = OFF", "  begin"}) {
    auto r = view().Select("items", sql).ReadInt();
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.status().code(), StatusCode::kInternal) << sql;
  }
  EXPECT_TRUE(view().Select("items", "  with n AS (SELECT 1) SELECT * FROM n").ReadInt().ok());
}

// The same query started while it is still being read would reset the
// outer read and restart it with no bindings: refused instead.
TEST_F(RowsTest, NestedUseOfTheSameQueryIsRefused) {
  const char* sql = "SELECT id, data FROM items ORDER BY id";
  auto outer = view().Select("items", sql).ReadAll([&](const Row& row) -> Result<std::string> {
    CL_ASSIGN_OR_RETURN(auto inner, view().Select("items", sql).ReadOne(DecodeItem));
    return row.Text(0);
  });
  ASSERT_FALSE(outer.ok());
  EXPECT_EQ(outer.status().code(), StatusCode::kInternal);
  EXPECT_NE(outer.status().message().find("still being read"), std::string::npos) << outer.status().message();
}

TEST_F(RowsTest, PrepareAndStepErrorsAreReturned) {
  auto r = view().Select("nothing", "SELECT x FROM no_such_table").ReadAll(DecodeItem);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no_such_table"), std::string::npos);
}

// A read stopped after its first row must not keep its snapshot: in WAL
// mode a statement left mid-step holds the connection's read transaction,
// and this connection would not see a later commit of another.
TEST_F(RowsTest, QueryResetsItsStatementOnScopeExit) {
  auto first = view().Select("items", "SELECT id, data FROM items ORDER BY id").ReadOne(DecodeItem);
  ASSERT_TRUE(first.ok());
  ConnectionOptions options;
  auto other = Connection::Open(dir_.File("rows.db"), key_, options);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE((*other)->Exec("INSERT INTO items VALUES ('c', '{}', zeroblob(32))").ok());
  EXPECT_EQ(*view().Select("items", "SELECT COUNT(*) FROM items").ReadInt(), 3);
}

TEST_F(RowsTest, ReadIntGivesTheFallbackForNull) {
  EXPECT_EQ(*view().Select("items", "SELECT MAX(rowid) FROM items WHERE id = 'none'").ReadInt(-1), -1);
}

}  // namespace
}  // namespace cloister
