// The promotion service on a real database through the real writer, with
// each operation's unit forced to run twice in one batch (as the writer
// replays a batch when another of its units fails): the answer is the one
// of the run that committed, and the ledger holds each event once.
#include "governance/promotion/promotion_service.h"

#include <gtest/gtest.h>

#include "appliance/api/governance_json.h"
#include "appliance/storage/group_commit_writer.h"
#include "governance/promotion/automation_service.h"
#include "governance/promotion/pipeline_service.h"
#include "tests/support/replaying_writer.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister::promotion {
namespace {

// The services answering as the API shapes them (appliance/api/
// governance_json.h), so the assertions read the documented JSON.
class Service {
 public:
  Service(Writer& writer, ReadPool& reads, AuditLedger& ledger, const Clock& clock, Random& random,
          ServiceDeps::PolicySource policies, policy::EvalLimits limits, ServiceDeps::NameOf names)
      : deps_{writer, reads, ledger, clock, random, std::move(policies), limits, std::move(names)},
        automations_(deps_),
        pipelines_(deps_),
        promotions_(deps_) {}

  Result<Json> SaveAutomation(const Caller& caller, const std::string& name, const std::string& source,
                              const std::string& if_match) {
    CL_ASSIGN_OR_RETURN(SavedAutomation saved, automations_.Save(caller, name, source, if_match));
    return api_json::SavedAutomationJson(saved);
  }
  Result<Json> PutPipeline(const Caller& caller, const std::string& name, const std::string& source) {
    CL_ASSIGN_OR_RETURN(PutPipelineResult put, pipelines_.Put(caller, name, source));
    return api_json::PutPipelineJson(put);
  }
  Result<Json> Request(const Caller& caller, const PromotionRequest& request) {
    return Page(promotions_.Request(caller, request));
  }
  Result<Json> Approve(const Caller& caller, const std::string& id, const std::string& version,
                       const std::string& comment) {
    return Page(promotions_.Approve(caller, id, version, comment));
  }
  Result<Json> Deploy(const Caller& caller, const std::string& id) {
    CL_ASSIGN_OR_RETURN(PromotionPage page, promotions_.Deploy(caller, id));
    CL_RETURN_IF_ERROR(NotDeployed(page));
    return api_json::PromotionPageJson(page, deps_.names);
  }
  Result<Json> Get(const std::string& id) { return Page(promotions_.Get(id)); }

 private:
  Result<Json> Page(const Result<PromotionPage>& page) {
    CL_RETURN_IF_ERROR(page.status());
    return api_json::PromotionPageJson(*page, deps_.names);
  }

  ServiceDeps deps_;
  AutomationService automations_;
  PipelineService pipelines_;
  PromotionService promotions_;
};

constexpr const char* kDefinition = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: invoice-triage
  description: Sorts incoming invoices.
  owner: finance-ops
  data_classification: internal
trigger: {type: manual}
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api/invoices
)";

// Refuses every save (automation.save, hard-mandatory in dev).
constexpr const char* kRefuseSaves = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: no-saves
hook: automation.save
rules:
  - id: frozen
    description: Nothing is saved.
    deny: version != ""
    message: "saves are frozen"
)";
constexpr const char* kRefuseSavesBinding = R"(apiVersion: cloister/v1
kind: PolicyBinding
metadata: {name: no-saves-dev}
hook: automation.save
policies: [no-saves]
environments: [dev]
level: hard_mandatory
)";

// The default pipeline's staging stage, with a deny window on 2026-11-22
// (the test clock starts on 2026-11-21).
constexpr const char* kPipeline = R"(apiVersion: cloister/v1
kind: Pipeline
metadata:
  name: default
automations: ["*"]
stages:
  staging:
    approvals: {required: 1, roles: [approver]}
    deny_windows:
      - name: sunday-freeze
        dates: {from: "2026-11-22", to: "2026-11-23"}
  prod:
    approvals: {required: 2, roles: [approver]}
)";

class PromotionReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenTestStore(dir_.File("cloister.db"), key_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::move(store->writer);
    reads_ = std::move(store->reads);
    ASSERT_TRUE(writer_->Write([](Transaction& tx) {
      return tx.Exec("INSERT INTO environments (name, position, created_at) VALUES "
                     "('dev', 0, '2026-11-21T00:00:00Z'), ('staging', 1, '2026-11-21T00:00:00Z'), "
                     "('prod', 2, '2026-11-21T00:00:00Z')");
    }).ok());
    auto none = policy::PolicySet::Build({});
    ASSERT_TRUE(none.ok()) << none.status().ToString();
    permissive_ = *none;
    policies_ = permissive_;
    replaying_ = std::make_unique<testing::ReplayingWriter>(*writer_);
    service_ = std::make_unique<Service>(
        *replaying_, *reads_, ledger_, clock_, random_, [this] { return policies_; }, policy::EvalLimits{},
        [](const std::string& id) { return id; });
  }

  static Caller Person(const std::string& name, std::vector<std::string> roles) {
    Caller c;
    c.audit.actor = {"user", "usr_" + name, name};
    c.roles = std::move(roles);
    return c;
  }

  // The ledger's events with `action` (and target id, when given).
  std::vector<Json> Events(const std::string& action, const std::string& target = "") {
    auto stored = reads_->Read<std::vector<StoredEvent>>(
        [](ReadView db) { return AuditLedger::Events(db, 0, 1 << 20, 100000); });
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    std::vector<Json> out;
    for (const auto& e : *stored) {
      Json j = Json::parse(e.data);
      if (j["action"] != action) continue;
      if (!target.empty() && j["target"]["id"] != target) continue;
      out.push_back(j);
    }
    return out;
  }
  int64_t Count(const std::string& sql) {
    auto n = reads_->Read<int64_t>([&](ReadView db) -> Result<int64_t> { return db.Select("count", sql).ReadInt(); });
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  // Saved in dev, promoted to staging, approved: ready to deploy. Returns
  // the promotion id.
  std::string Approved() {
    EXPECT_TRUE(service_->PutPipeline(admin_, "default", kPipeline).ok());
    auto saved = service_->SaveAutomation(author_, "invoice-triage", kDefinition, "");
    EXPECT_TRUE(saved.ok()) << saved.status().ToString();
    auto p = service_->Request(requester_, {"invoice-triage", "", "staging", "", false, "ship it"});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return "";
    const std::string id = (*p)["id"];
    auto a = service_->Approve(approver_, id, (*saved)["version"], "looks right");
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a.ok() ? (*a)["state"] : Json(), "approved");
    return id;
  }
  // The promotion's state straight from the database, as a replayed unit
  // would change it behind the operation's back.
  static testing::ReplayingWriter::BeforeReplay SetState(const std::string& id, const std::string& state) {
    return [id, state](Transaction& tx) -> Status {
      CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE promotions SET state = ? WHERE id = ?"));
      return s->Bind(1, state).Bind(2, id).Run();
    };
  }

  testing::TempDir dir_;
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  testing::ManualClock clock_;
  AuditLedger ledger_{clock_};
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<ReadPool> reads_;
  std::unique_ptr<testing::ReplayingWriter> replaying_;
  std::shared_ptr<const policy::PolicySet> permissive_;
  std::shared_ptr<const policy::PolicySet> policies_;
  std::unique_ptr<Service> service_;
  Caller admin_ = Person("root", {"admin"});
  Caller author_ = Person("carol", {"operator"});
  Caller requester_ = Person("bob", {"operator"});
  Caller approver_ = Person("alice", {"approver"});
};

TEST_F(PromotionReplayTest, ReplayedSaveAnswersOnceAndRecordsOneSave) {
  replaying_->ReplayNext();
  auto saved = service_->SaveAutomation(author_, "invoice-triage", kDefinition, "");
  EXPECT_EQ(replaying_->runs(), 2);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ((*saved)["created"], true);
  EXPECT_EQ((*saved)["seq"], 1);
  EXPECT_EQ(Events("automation.save").size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM automation_versions"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM deployments"), 1);
}

// The first run is refused by policy (and keeps its decision event); before
// the replay the policy set changes and the replay saves. A refusal kept in a
// captured variable answered "refused" for a version that was saved.
TEST_F(PromotionReplayTest, SaveRefusedInItsFirstRunButSavedByItsReplayAnswersSaved) {
  auto refusing = policy::PolicySet::Build({{"p.yaml", kRefuseSaves}, {"b.yaml", kRefuseSavesBinding}});
  ASSERT_TRUE(refusing.ok()) << refusing.status().ToString();
  policies_ = *refusing;
  replaying_->ReplayNext([this](Transaction&) {
    policies_ = permissive_;
    return Status::Ok();
  });
  auto saved = service_->SaveAutomation(author_, "invoice-triage", kDefinition, "");
  EXPECT_EQ(replaying_->runs(), 2);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ((*saved)["created"], true);
  EXPECT_EQ(Events("automation.save").size(), 1u);
  EXPECT_TRUE(Events("policy.decision").empty());  // rolled back with the first run
  EXPECT_EQ(Count("SELECT COUNT(*) FROM automation_versions"), 1);
}

TEST_F(PromotionReplayTest, SaveRefusedInItsReplayAnswersRefusedAndKeepsOneDecision) {
  auto refusing = policy::PolicySet::Build({{"p.yaml", kRefuseSaves}, {"b.yaml", kRefuseSavesBinding}});
  ASSERT_TRUE(refusing.ok()) << refusing.status().ToString();
  replaying_->ReplayNext([&](Transaction&) {
    policies_ = *refusing;
    return Status::Ok();
  });
  auto saved = service_->SaveAutomation(author_, "invoice-triage", kDefinition, "");
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(saved.status().reason(), "policy_denied") << (saved.ok() ? saved->dump() : "");
  EXPECT_TRUE(Events("automation.save").empty());
  EXPECT_EQ(Events("policy.decision").size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM automation_versions"), 0);
}

// Each run of a request makes a new promotion id: the answer names the one
// that was stored, and the ledger records that one only, once.
TEST_F(PromotionReplayTest, ReplayedRequestAnswersWithTheStoredPromotion) {
  ASSERT_TRUE(service_->SaveAutomation(author_, "invoice-triage", kDefinition, "").ok());
  replaying_->ReplayNext();
  auto p = service_->Request(requester_, {"invoice-triage", "", "staging", "", false, "ship it"});
  EXPECT_EQ(replaying_->runs(), 2);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::string id = (*p)["id"];
  EXPECT_EQ((*p)["state"], "awaiting_approval");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM promotions"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM promotions WHERE id = '" + id + "'"), 1);
  const auto requested = Events("promotion.requested");
  ASSERT_EQ(requested.size(), 1u);
  EXPECT_EQ(requested[0]["target"]["id"], id);
  EXPECT_EQ(Events("promotion.awaiting_approval", id).size(), 1u);
  auto stored = service_->Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)["history"].size(), (*p)["history"].size());
}

TEST_F(PromotionReplayTest, ReplayedApprovalIsCountedAndRecordedOnce) {
  ASSERT_TRUE(service_->PutPipeline(admin_, "default", kPipeline).ok());
  auto saved = service_->SaveAutomation(author_, "invoice-triage", kDefinition, "");
  ASSERT_TRUE(saved.ok());
  auto p = service_->Request(requester_, {"invoice-triage", "", "staging", "", false, "ship it"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::string id = (*p)["id"];
  replaying_->ReplayNext();
  auto a = service_->Approve(approver_, id, (*saved)["version"], "looks right");
  EXPECT_EQ(replaying_->runs(), 2);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)["state"], "approved");
  EXPECT_EQ((*a)["approvals"].size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM promotion_approvals"), 1);
  EXPECT_EQ(Events("promotion.approval", id).size(), 1u);
  EXPECT_EQ(Events("promotion.approved", id).size(), 1u);
}

// The first run refuses a self-approval; before the replay the promotion is
// cancelled, so the replay fails on its state. The answer is the replay's,
// and so is the refusal recorded: a refusal kept in a captured variable was
// answered and recorded as a self-approval.
TEST_F(PromotionReplayTest, ApprovalRefusedInItsFirstRunAnswersWhatItsReplayFound) {
  auto saved = service_->SaveAutomation(author_, "invoice-triage", kDefinition, "");
  ASSERT_TRUE(saved.ok());
  auto p = service_->Request(requester_, {"invoice-triage", "", "staging", "", false, "ship it"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::string id = (*p)["id"];
  Caller self = requester_;
  self.roles = {"approver"};
  replaying_->ReplayNext(SetState(id, "cancelled"));
  auto a = service_->Approve(self, id, (*saved)["version"], "mine");
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(a.status().reason(), "promotion_state") << a.status().ToString();
  const auto recorded = Events("promotion.approval", id);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["outcome"], "denied");
  EXPECT_EQ(recorded[0]["details"]["rule"], "promotion_state") << recorded[0].dump();

  // Without the change before the replay, the refusal is answered and recorded once.
  auto other = service_->Request(requester_, {"invoice-triage", "", "staging", "", false, "again"});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  const std::string other_id = (*other)["id"];
  replaying_->ReplayNext();
  auto refused = service_->Approve(self, other_id, (*saved)["version"], "mine");
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(refused.status().reason(), "self_approval") << refused.status().ToString();
  const auto denied = Events("promotion.approval", other_id);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0]["outcome"], "denied");
}

TEST_F(PromotionReplayTest, ReplayedDeployDeploysAndRecordsOnce) {
  const std::string id = Approved();
  ASSERT_FALSE(id.empty());
  replaying_->ReplayNext();
  auto d = service_->Deploy(requester_, id);
  EXPECT_EQ(replaying_->runs(), 2);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)["state"], "deployed");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM deployments WHERE environment = 'staging'"), 1);
  EXPECT_EQ(Events("promotion.deployed", id).size(), 1u);
}

// The first run is refused by the deny window; before the replay the
// promotion is cancelled. The answer is the replay's (its state), and so is
// the one denied deploy recorded.
TEST_F(PromotionReplayTest, DeployRefusedInItsFirstRunAnswersWhatItsReplayFound) {
  const std::string id = Approved();
  ASSERT_FALSE(id.empty());
  clock_.Advance(std::chrono::hours(25));  // into the deny window
  replaying_->ReplayNext(SetState(id, "cancelled"));
  auto d = service_->Deploy(requester_, id);
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(d.status().reason(), "promotion_state") << d.status().ToString();
  const auto recorded = Events("promotion.deploy", id);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["details"]["rule"], "promotion_state") << recorded[0].dump();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM deployments WHERE environment = 'staging'"), 0);
}

TEST_F(PromotionReplayTest, ReplayedDeployRefusedByTheWindowIsRecordedOnce) {
  const std::string id = Approved();
  ASSERT_FALSE(id.empty());
  clock_.Advance(std::chrono::hours(25));
  replaying_->ReplayNext();
  auto d = service_->Deploy(requester_, id);
  EXPECT_EQ(replaying_->runs(), 2);
  EXPECT_EQ(d.status().reason(), "deny_window") << d.status().ToString();
  const auto denied = Events("promotion.deploy", id);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0]["outcome"], "denied");
  auto p = service_->Get(id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["state"], "approved");
}

}  // namespace
}  // namespace cloister::promotion
