#include "appliance/storage/connection.h"
#include "appliance/storage/read_pool.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "appliance/core/files.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

class ConnectionTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Connection>> Open(const SecureBytes& key, bool create = true) {
    ConnectionOptions options;
    options.create = create;
    return Connection::Open(path_, key, options);
  }
  std::string QueryText(Connection& conn, const char* sql) {
    auto stmt = conn.Prepare(sql);
    EXPECT_TRUE(stmt.ok());
    EXPECT_TRUE(*(*stmt)->Step());
    return (*stmt)->ColumnText(0);
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("test.db");
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
};

TEST_F(ConnectionTest, FileIsEncryptedAtRest) {
  {
    auto conn = Open(key_);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE((*conn)->Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('plaintext-marker-4242');").ok());
  }
  const std::string bytes = testing::Slurp(path_);
  EXPECT_GE(bytes.size(), 4096u);
  EXPECT_EQ(bytes.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(bytes.find("plaintext-marker-4242"), std::string::npos);
  EXPECT_EQ(bytes.find("CREATE TABLE"), std::string::npos);
}

// SQLite would create the database 0644 less the umask, and its -wal and
// -shm with the database's mode: all three world-readable under umask 0.
TEST_F(ConnectionTest, DatabaseWalAndShmArePrivateUnderAWideUmask) {
  const mode_t saved = ::umask(0);
  auto conn = Open(key_);
  ::umask(saved);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x');").ok());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    auto mode = FileMode(path_ + suffix);
    ASSERT_TRUE(mode.ok()) << suffix;
    EXPECT_EQ(*mode, 0600u) << suffix;
  }
}

TEST_F(ConnectionTest, AWidenedDatabaseIsNarrowedBeforeItsWalIsCreated) {
  { ASSERT_TRUE(Open(key_).ok()); }
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto conn = Open(key_, false);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Exec("CREATE TABLE t (v TEXT);").ok());
  for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_EQ(FileMode(path_ + suffix).value(), 0600u) << suffix;
}

TEST_F(ConnectionTest, AppliesTheAppliancePragmas) {
  auto conn = Open(key_);
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(QueryText(**conn, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryText(**conn, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(QueryText(**conn, "PRAGMA cipher_page_size"), "4096");
  EXPECT_EQ(QueryText(**conn, "PRAGMA secure_delete"), "1");
  EXPECT_EQ(QueryText(**conn, "PRAGMA foreign_keys"), "1");
}

TEST_F(ConnectionTest, WrongKeySaysTheDatabaseDoesNotDecrypt) {
  {
    auto conn = Open(key_);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Exec("CREATE TABLE t (v)").ok());
  }
  const SecureBytes other = *SecureBytes::Generate(random_, 32);
  auto r = Open(other, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().reason(), "database_undecryptable");
  EXPECT_NE(r.status().message().find(path_), std::string::npos);
}

TEST_F(ConnectionTest, GarbageFileSaysSoInsteadOfCrashing) {
  testing::WriteText(path_, std::string(8192, 'x'));
  auto r = Open(key_, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "database_undecryptable");
}

TEST_F(ConnectionTest, MissingFileIsNotFoundWithoutCreate) {
  EXPECT_EQ(Open(key_, false).status().code(), StatusCode::kNotFound);
}

TEST_F(ConnectionTest, ReadOnlyConnectionsCannotWrite) {
  {
    auto conn = Open(key_);
    ASSERT_TRUE((*conn)->Exec("CREATE TABLE t (v)").ok());
  }
  ConnectionOptions ro;
  ro.read_only = true;
  auto conn = Connection::Open(path_, key_, ro);
  ASSERT_TRUE(conn.ok());
  EXPECT_FALSE((*conn)->Exec("INSERT INTO t VALUES (1)").ok());
}

TEST_F(ConnectionTest, SqlErrorsNameTheStatement) {
  auto conn = Open(key_);
  Status st = (*conn)->Exec("SELEC nonsense");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("SELEC nonsense"), std::string::npos);
  ASSERT_TRUE((*conn)->Exec("CREATE TABLE u (id INTEGER PRIMARY KEY)").ok());
  ASSERT_TRUE((*conn)->Exec("INSERT INTO u VALUES (1)").ok());
  EXPECT_EQ((*conn)->Exec("INSERT INTO u VALUES (1)").code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace cloister

namespace cloister {
namespace {

TEST(ReadPoolTest, AReadLeftMidStepDoesNotFreezeTheNextReadsSnapshot) {
  testing::TempDir dir;
  SystemRandom random;
  const SecureBytes key = *SecureBytes::Generate(random, 32);
  ConnectionOptions create;
  create.create = true;
  auto writer = *Connection::Open(dir.File("r.db"), key, create);
  ASSERT_TRUE(writer->Exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2);").ok());
  auto pool = *ReadPool::Open(dir.File("r.db"), key, 1);
  auto count = [&] {
    return *pool->Read<int64_t>([](ReadView db) -> Result<int64_t> {
      return db.Select("t", "SELECT count(*) FROM t").ReadInt(-1);  // one row of a query not stepped to its end
    });
  };
  EXPECT_EQ(count(), 2);
  ASSERT_TRUE(writer->Exec("INSERT INTO t VALUES (3)").ok());
  EXPECT_EQ(count(), 3);
}

}  // namespace
}  // namespace cloister
