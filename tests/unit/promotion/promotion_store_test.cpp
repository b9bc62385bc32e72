// The governance stores on a real migrated database: what they write reads
// back the same, and a damaged row is corruption naming table and key,
// never a default.
#include "governance/promotion/promotion_store.h"

#include <gtest/gtest.h>

#include "governance/automation/automation_version_store.h"
#include "appliance/server/schema.h"
#include "appliance/storage/migrator.h"
#include "governance/promotion/deployment_store.h"
#include "governance/promotion/promotion_schema.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister::promotion {
namespace {

class PromotionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenTestStore(dir_.File("cloister.db"), key_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::move(store->writer);
    reads_ = std::move(store->reads);
    // The versions the rows below refer to.
    ASSERT_TRUE(Write([](Transaction& tx) -> Status {
                  int64_t seq = 0;
                  for (const std::string id : {std::string(64, 'a'), std::string("v1"), std::string("v2")}) {
                    CL_RETURN_IF_ERROR(
                        automation::AutomationVersionStore::Insert(tx, {id, "a", "{}", "", "usr_x", "t0", ++seq}));
                  }
                  return automation::AutomationVersionStore::Insert(tx, {"w1", "b", "{}", "", "usr_x", "t0", 1});
                }).ok());
  }

  static PromotionRecord Sample(const std::string& id) {
    PromotionRecord p;
    p.id = id;
    p.automation = "invoice-triage";
    p.version = std::string(64, 'a');
    p.from = "dev";
    p.to = "test";
    p.kind = "promotion";
    p.state = PromotionState::kAwaitingApproval;
    p.requester = "usr_bob";
    p.author = "usr_carol";
    p.reason = "ship it";
    p.pipeline = "default@0:abc";
    p.checks = Json::array({{{"name", "source"}, {"status", "pass"}, {"message", "ok"}}});
    p.created_at = p.updated_at = "2026-11-21T00:00:00.000000Z";
    return p;
  }

  Status Write(const std::function<Status(Transaction&)>& unit) {
    const Status written = writer_->Write(unit);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return written;
  }
  Status Damage(const std::string& sql) {
    return Write([&](Transaction& tx) { return tx.Exec(sql); });
  }
  template <typename T>
  Result<T> Read(const std::function<Result<T>(ReadView)>& fn) {
    return reads_->Read<T>(fn);
  }

  testing::TempDir dir_;
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  testing::ManualClock clock_;
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<ReadPool> reads_;
};

TEST_F(PromotionStoreTest, PromotionReadsBackAsWritten) {
  ASSERT_TRUE(Write([](Transaction& tx) { return PromotionStore::Insert(tx, Sample("prm-1")); }).ok());
  auto p = Read<PromotionRecord>([](ReadView db) { return PromotionStore::Load(db, "prm-1"); });
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->state, PromotionState::kAwaitingApproval);
  EXPECT_EQ(p->checks, Sample("prm-1").checks);
  EXPECT_TRUE(p->decision.is_null());
  EXPECT_TRUE(p->scheduled_for.empty());
  auto open = Read<std::optional<PromotionRecord>>(
      [](ReadView db) { return PromotionStore::OpenInto(db, "invoice-triage", "test"); });
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE(open->has_value());
  EXPECT_EQ((*open)->id, "prm-1");
}

TEST_F(PromotionStoreTest, MissingPromotionIsNotFound) {
  auto p = Read<PromotionRecord>([](ReadView db) { return PromotionStore::Load(db, "prm-none"); });
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
}

TEST_F(PromotionStoreTest, UnknownStateIsCorruptionNamingThePromotion) {
  ASSERT_TRUE(Write([](Transaction& tx) { return PromotionStore::Insert(tx, Sample("prm-2")); }).ok());
  // A database from before the state CHECK, or edited by hand.
  auto damaged = Damage("PRAGMA ignore_check_constraints = 1; UPDATE promotions SET state = 'limbo'; "
                        "PRAGMA ignore_check_constraints = 0");
  ASSERT_TRUE(damaged.ok()) << damaged.ToString();
  auto p = Read<PromotionRecord>([](ReadView db) { return PromotionStore::Load(db, "prm-2"); });
  ASSERT_EQ(p.status().code(), StatusCode::kCorruption) << p.status().ToString();
  EXPECT_NE(p.status().message().find("promotions row prm-2: state \"limbo\""), std::string::npos)
      << p.status().message();
}

TEST_F(PromotionStoreTest, DamagedChecksAreCorruptionNotAnEmptyList) {
  ASSERT_TRUE(Write([](Transaction& tx) { return PromotionStore::Insert(tx, Sample("prm-3")); }).ok());
  ASSERT_TRUE(Damage("UPDATE promotions SET checks = '[{\"name\": ' WHERE id = 'prm-3'").ok());
  auto p = Read<PromotionRecord>([](ReadView db) { return PromotionStore::Load(db, "prm-3"); });
  ASSERT_EQ(p.status().code(), StatusCode::kCorruption) << p.status().ToString();
  EXPECT_NE(p.status().message().find("promotions row prm-3: checks is not JSON"), std::string::npos)
      << p.status().message();
}

TEST_F(PromotionStoreTest, DamagedApprovalRolesAreCorruptionNamingTheApproval) {
  ASSERT_TRUE(Write([](Transaction& tx) -> Status {
                CL_RETURN_IF_ERROR(PromotionStore::Insert(tx, Sample("prm-4")));
                return PromotionStore::AddApproval(
                    tx, "prm-4", {"usr_alice", "approve", std::string(64, 'a'), "ok", "2026-11-21T00:00:01Z", {"approver"}},
                    false);
              }).ok());
  auto approvals = Read<std::vector<ApprovalRecord>>([](ReadView db) { return PromotionStore::Approvals(db, "prm-4"); });
  ASSERT_TRUE(approvals.ok()) << approvals.status().ToString();
  ASSERT_EQ(approvals->size(), 1u);
  EXPECT_EQ((*approvals)[0].roles, std::vector<std::string>{"approver"});
  ASSERT_TRUE(Damage("UPDATE promotion_approvals SET roles = '{\"admin\": true}'").ok());
  approvals = Read<std::vector<ApprovalRecord>>([](ReadView db) { return PromotionStore::Approvals(db, "prm-4"); });
  ASSERT_EQ(approvals.status().code(), StatusCode::kCorruption);
  EXPECT_NE(approvals.status().message().find("promotion_approvals row prm-4/usr_alice"), std::string::npos)
      << approvals.status().message();
}

TEST_F(PromotionStoreTest, HistoryIsNumberedInOrder) {
  ASSERT_TRUE(Write([](Transaction& tx) -> Status {
                CL_RETURN_IF_ERROR(PromotionStore::Insert(tx, Sample("prm-5")));
                CL_RETURN_IF_ERROR(PromotionStore::AppendHistory(tx, "prm-5", "", "pending_checks", "usr_bob", "t1", "a"));
                return PromotionStore::AppendHistory(tx, "prm-5", "pending_checks", "awaiting_approval", "usr_bob",
                                                     "t2", "b");
              }).ok());
  auto history = Read<std::vector<HistoryEntry>>([](ReadView db) { return PromotionStore::History(db, "prm-5"); });
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].seq, 1);
  EXPECT_EQ((*history)[0].from_state, "");
  EXPECT_EQ((*history)[1].seq, 2);
  EXPECT_EQ((*history)[1].to_state, "awaiting_approval");
}

TEST_F(PromotionStoreTest, LiveIsTheLatestDeploymentPerAutomation) {
  ASSERT_TRUE(Write([](Transaction& tx) -> Status {
                CL_RETURN_IF_ERROR(DeploymentStore::Add(tx, {0, "dev", "a", "v1", "", "", "save", "t1", "usr_x"}));
                CL_RETURN_IF_ERROR(DeploymentStore::Add(tx, {0, "dev", "a", "v2", "v1", "", "save", "t2", "usr_x"}));
                return DeploymentStore::Add(tx, {0, "dev", "b", "w1", "", "", "save", "t3", "usr_x"});
              }).ok());
  auto live = Read<std::vector<Deployment>>([](ReadView db) { return DeploymentStore::LiveIn(db, "dev"); });
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].version, "v2");
  EXPECT_EQ((*live)[0].previous_version, "v1");
  EXPECT_EQ((*live)[1].automation, "b");
  auto history = Read<std::vector<Deployment>>([](ReadView db) { return DeploymentStore::History(db, "dev", "a", 1); });
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].version, "v2");
}

TEST_F(PromotionStoreTest, AlteredVersionContentIsCorruption) {
  const std::string canonical = R"({"a":1})";
  automation::StoredVersion v{Sha256Hex(canonical), "c", canonical, "a: 1\n", "usr_x", "t1", 1};
  ASSERT_TRUE(Write([&](Transaction& tx) { return automation::AutomationVersionStore::Insert(tx, v); }).ok());
  ASSERT_TRUE(Damage("UPDATE automation_versions SET canonical = '{\"a\":2}'").ok());
  auto def = Read<automation::Definition>(
      [&](ReadView db) { return automation::AutomationVersionStore::DefinitionOf(db, v.id); });
  EXPECT_EQ(def.status().code(), StatusCode::kCorruption) << def.status().ToString();
}

// The schema refuses a state promotion_state.h does not list; the list in
// migration 7 is the enum's.
TEST_F(PromotionStoreTest, SchemaRefusesAStateThatIsNotAPromotionState) {
  EXPECT_NE(std::string(StateCheckMigrationSql()).find("CHECK (" + StateCheckSql("state") + ")"), std::string::npos);
  ASSERT_TRUE(Write([](Transaction& tx) { return PromotionStore::Insert(tx, Sample("prm-6")); }).ok());
  const Status refused = writer_->Write([](Transaction& tx) { return tx.Exec("UPDATE promotions SET state = 'limbo'"); });
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("CHECK constraint failed"), std::string::npos) << refused.ToString();
}

// Migration 7 rebuilds promotions with the CHECK: a database at version 6
// keeps its promotions, approvals and history, and the children still
// refer to promotions (a promotion with approvals cannot be deleted).
TEST(PromotionStateMigrationTest, KeepsPromotionsApprovalsAndHistory) {
  testing::TempDir dir;
  SystemRandom random;
  testing::ManualClock clock;
  ConnectionOptions create;
  create.create = true;
  auto conn = Connection::Open(dir.File("v6.db"), *SecureBytes::Generate(random, 32), create);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto all = ApplianceMigrations();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_GE(all->size(), 7u);
  const std::vector<Migration> to6(all->begin(), all->begin() + 6);
  ASSERT_TRUE(Migrate(**conn, to6, clock).ok());
  ASSERT_TRUE((*conn)->Exec(R"sql(
INSERT INTO automation_versions (id, automation, seq, canonical, source, author, created_at)
  VALUES ('v1', 'a', 1, '{}', '', 'usr_x', 't0');
INSERT INTO promotions (id, automation, version, from_env, to_env, kind, state, requester, author, emergency, reason,
  pipeline, checks, created_at, updated_at)
  VALUES ('prm-1', 'a', 'v1', 'dev', 'test', 'promotion', 'awaiting_approval', 'usr_b', 'usr_x', 0, '', 'p', '[]',
  't1', 't1');
INSERT INTO promotion_approvals VALUES ('prm-1', 'usr_c', 'approve', 'v1', '["approver"]', 'ok', 't2');
INSERT INTO promotion_history VALUES ('prm-1', 1, NULL, 'pending_checks', 'usr_b', 't1', 'n');
)sql").ok());
  auto applied = Migrate(**conn, *all, clock);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ReadView db(**conn);
  EXPECT_EQ(*db.Select("promotions", "SELECT COUNT(*) FROM promotions WHERE state = 'awaiting_approval'").ReadInt(), 1);
  EXPECT_EQ(*db.Select("promotion_approvals", "SELECT COUNT(*) FROM promotion_approvals").ReadInt(), 1);
  EXPECT_EQ(*db.Select("promotion_history", "SELECT COUNT(*) FROM promotion_history").ReadInt(), 1);
  EXPECT_EQ(*db.Select("sqlite_master", "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_checked'").ReadInt(), 0);
  EXPECT_FALSE((*conn)->Exec("DELETE FROM promotions WHERE id = 'prm-1'").ok());  // its children refer to it
  EXPECT_FALSE((*conn)->Exec("UPDATE promotions SET state = 'limbo'").ok());
}

}  // namespace
}  // namespace cloister::promotion
