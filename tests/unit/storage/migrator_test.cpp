#include "appliance/storage/migrator.h"

#include <gtest/gtest.h>

#include <map>

#include "appliance/core/encoding.h"
#include "appliance/server/schema.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

// The appliance's migrations, as cloisterd assembles them.
std::vector<Migration> ApplianceSchema() {
  auto migrations = ApplianceMigrations();
  EXPECT_TRUE(migrations.ok()) << migrations.status().ToString();
  return migrations.ok() ? std::move(migrations).value() : std::vector<Migration>{};
}

class MigratorTest : public ::testing::Test {
 protected:
  std::unique_ptr<Connection> OpenDb() {
    ConnectionOptions options;
    options.create = true;
    auto conn = Connection::Open(dir_.File("m.db"), key_, options);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }
  bool TableExists(Connection& conn, const std::string& name) {
    auto stmt =
        *conn.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    stmt->Bind(1, name);
    EXPECT_TRUE(*stmt->Step());
    return stmt->ColumnInt(0) == 1;
  }

  testing::TempDir dir_;
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  testing::ManualClock clock_;
  std::vector<Migration> two_ = {{1, "first", "CREATE TABLE a (x);"},
                                 {2, "second", "CREATE TABLE b (y);"}};
};

TEST_F(MigratorTest, FreshDatabaseGetsEveryMigrationRecorded) {
  auto conn = OpenDb();
  auto applied = Migrate(*conn, two_, clock_);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_EQ((*applied)[1].name, "second");
  EXPECT_TRUE(TableExists(*conn, "a"));
  EXPECT_TRUE(TableExists(*conn, "b"));
  EXPECT_EQ(*SchemaVersion(*conn), 2);
  auto rows = *conn->Prepare(
      "SELECT name, length(checksum), applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(*rows->Step());
  EXPECT_EQ(rows->ColumnText(0), "first");
  EXPECT_EQ(rows->ColumnInt(1), 64);
  EXPECT_EQ(rows->ColumnText(2), "2026-11-21T00:00:00.000000Z");
}

TEST_F(MigratorTest, ExistingDatabaseOnlyGetsNewMigrations) {
  {
    auto conn = OpenDb();
    ASSERT_TRUE(Migrate(*conn, {two_[0]}, clock_).ok());
    ASSERT_TRUE(conn->Exec("INSERT INTO a VALUES (42)").ok());
  }
  auto conn = OpenDb();  // reopen
  auto applied = Migrate(*conn, two_, clock_);
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_EQ((*applied)[0].version, 2);
  auto again = Migrate(*conn, two_, clock_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  auto stmt = *conn->Prepare("SELECT x FROM a");
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnInt(0), 42);
}

TEST_F(MigratorTest, FailingMigrationLeavesNothingBehind) {
  auto conn = OpenDb();
  std::vector<Migration> broken = {
      two_[0], {2, "broken", "CREATE TABLE c (z); INSERT INTO nowhere VALUES (1);"}};
  auto r = Migrate(*conn, broken, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("migration 2 (broken)"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(TableExists(*conn, "a"));   // migration 1 committed on its own
  EXPECT_FALSE(TableExists(*conn, "c"));  // migration 2 rolled back whole
  EXPECT_EQ(*SchemaVersion(*conn), 1);
}

TEST_F(MigratorTest, RefusesANewerSchema) {
  {
    auto conn = OpenDb();
    ASSERT_TRUE(Migrate(*conn, two_, clock_).ok());
  }
  auto conn = OpenDb();
  auto r = Migrate(*conn, {two_[0]}, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "schema_too_new");
}

TEST_F(MigratorTest, RefusesAnEditedMigration) {
  {
    auto conn = OpenDb();
    ASSERT_TRUE(Migrate(*conn, two_, clock_).ok());
  }
  auto conn = OpenDb();
  std::vector<Migration> edited = two_;
  edited[1].sql = "CREATE TABLE b (y, extra);";
  auto r = Migrate(*conn, edited, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST_F(MigratorTest, ApplianceSchemaAppliesToAFreshDatabase) {
  auto conn = OpenDb();
  auto applied = Migrate(*conn, ApplianceSchema(), clock_);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->size(), ApplianceSchema().size());
  EXPECT_TRUE(TableExists(*conn, "api_tokens"));
}

}  // namespace
}  // namespace cloister

namespace cloister {
namespace {

// Migration 6: names stored before user ids become ids, except a name some
// token not owned by that user also carries, which could have been forged.
TEST_F(MigratorTest, PeopleByUserIdKeepsForgeableNamesUnverified) {
  auto conn = OpenDb();
  const auto& all = ApplianceSchema();
  ASSERT_GE(all.size(), 6u);
  ASSERT_EQ(all[5].version, 6);
  ASSERT_TRUE(Migrate(*conn, {all.begin(), all.begin() + 5}, clock_).ok());
  const char* setup[] = {
      "INSERT INTO users (id, name, name_key, password_hash, must_change_password, created_at, "
      "password_changed_at) "
      "VALUES ('usr_a', 'alice', 'alice', 'h', 0, 't', 't'), ('usr_m', 'mallory', 'mallory', 'h', "
      "0, 't', 't'), "
      "('usr_b', 'bob', 'bob', 'h', 0, 't', 't')",
      // mallory's token named "alice"; bob's token named after himself.
      "INSERT INTO api_tokens (id, name, token_hash, role, environment, created_at, owner_id) "
      "VALUES "
      "('tok_1', 'alice', 'x1', '', '', 't', 'usr_m'), ('tok_2', 'bob', 'x2', '', '', 't', "
      "'usr_b')",
      "INSERT INTO environment_variables (environment, name, value, updated_at, updated_by) VALUES "
      "('dev', 'a', '1', 't', 'alice'), ('dev', 'b', '2', 't', 'bob'), ('dev', 'c', '3', 't', "
      "'ci-bot')",
      "INSERT INTO login_failures (kind, key, failures, last_failure_at) VALUES ('account', "
      "'hunter2', 1, 't'), "
      "('address', '10.0.0.1', 1, 't')"};
  for (const char* sql : setup) ASSERT_TRUE(conn->Exec(sql).ok()) << sql;
  ASSERT_TRUE(Migrate(*conn, all, clock_).ok());
  auto rows = *conn->Prepare("SELECT name, updated_by FROM environment_variables ORDER BY name");
  std::map<std::string, std::string> by;
  while (*rows->Step()) by[rows->ColumnText(0)] = rows->ColumnText(1);
  EXPECT_EQ(by["a"], "unverified:alice");  // could be mallory's token
  EXPECT_EQ(by["b"], "usr_b");             // bob's own token carries his name: not ambiguous
  EXPECT_EQ(by["c"], "ci-bot");            // names no user: kept as it was
  auto failures = *conn->Prepare("SELECT kind FROM login_failures");
  std::vector<std::string> kinds;
  while (*failures->Step()) kinds.push_back(failures->ColumnText(0));
  EXPECT_EQ(kinds, std::vector<std::string>{"address"});  // no name kept in clear
}

}  // namespace
}  // namespace cloister

namespace cloister {
namespace {

// Databases recorded these checksums when each migration shipped, over the
// SQL then written whole in storage; a database whose checksum differs is
// refused. Moving a module's tables into its own part must not change a
// byte: an edited part, a part moved to another version, or modules joined
// in another order fail here rather than on a customer's database.
TEST_F(MigratorTest, ApplianceSchemaKeepsTheChecksumsItShipped) {
  struct Shipped {
    int version;
    std::string name, checksum;
  };
  const std::vector<Shipped> shipped = {
      {1, "appliance_environments_tokens",
       "87b3e50c5fe61bb48339f15ceca8a3d66205ae0cc71d73baa6c4118339a7fc83"},
      {2, "audit_ledger", "8cc097487ca38934b66e577c2c0d07f2948570ba85156d1de05bb5eb47f00ab5"},
      {3, "users_sessions_lockouts",
       "1d19a96ace21ca3b25100bfe69e04d26620248b382037efc36ff37317bce0ea7"},
      {4, "policy_documents", "7d7b0073c38e4a31a35c3098bfafb6e8b42011f3ed0cd46b4455f444f66f14e3"},
      {5, "automations_environments_promotions",
       "504cc45200a0b644f35dd9b70a0a2e0787a99742a52da572e1af82fd0d2f1b56"},
      {6, "people_by_user_id", "afe91722a7dfa9948f1bb744e80ac184a7e8f605d9c6f0f486d336f7eddc7acb"},
      {7, "promotion_state_check",
       "0b82325bcce78bb6a51d2a60e8ac32e19655a768cbb813d00de96e6b1ba4daa2"},
      {8, "runs", "70da929c40cb9099ff8bfa5dcaf8a4f0c73ec0418e9df49147438736a8e49cb9"},
  };
  const auto all = ApplianceSchema();
  ASSERT_GE(all.size(), shipped.size());
  for (size_t i = 0; i < shipped.size(); ++i) {
    EXPECT_EQ(all[i].version, shipped[i].version);
    EXPECT_EQ(all[i].name, shipped[i].name);
    EXPECT_EQ(Sha256Hex(all[i].sql), shipped[i].checksum)
        << "migration " << shipped[i].version << " changed";
  }
}

}  // namespace
}  // namespace cloister
