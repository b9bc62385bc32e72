// The ledger on a real SQLCipher database through the real writer: appends,
// stored subtrees, proofs, checkpoints, and the self-check against tampering.
#include "audit/audit_ledger.h"

#include <thread>

#include <gtest/gtest.h>

#include "appliance/storage/group_commit_writer.h"
#include "appliance/storage/migrator.h"
#include "appliance/storage/read_pool.h"
#include "audit/audit_keys.h"
#include "audit/checkpointer.h"
#include "audit/ledger_verifier.h"
#include "audit/verify/jcs.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

class AuditLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenTestStore(path_, key_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::move(store->writer);
    reads_ = std::move(store->reads);
    std::string error;
    ASSERT_TRUE(signer_.Init("lab/audit", std::array<uint8_t, 32>{42}, &error));
    ASSERT_TRUE(verify::ParseVerifierKey(signer_.verifier_key(), &vkey_, &error));
  }

  static AuditRecord Record(int i) {
    AuditRecord r;
    r.action = "test.event";
    r.actor = {"user", "u" + std::to_string(i % 3), "User"};
    r.outcome = i % 5 == 0 ? "denied" : "success";
    r.env = i % 2 ? "prod" : "dev";
    r.details = {{"i", i}};
    return r;
  }
  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      clock_.Advance(std::chrono::microseconds(10));
      ASSERT_TRUE(writer_->Write([&](Transaction& tx) { return ledger_.Append(tx, Record(i)).status(); }).ok());
    }
  }
  StoredCheckpoint Checkpoint() {
    Checkpointer cp(*writer_, *reads_, ledger_, signer_, clock_, Logger("test"), {std::chrono::hours(1), std::chrono::hours(1)});
    auto c = cp.SignNow();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }
  LedgerReport Verify(bool from_latest = false) {
    auto r = reads_->Read<LedgerReport>([&](ReadView db) { return VerifyLedger(db, vkey_, from_latest); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  // Direct SQL on the database, as someone holding the key could do.
  void Tamper(const std::string& sql) {
    writer_->Stop();
    auto conn = *Connection::Open(path_, key_, ConnectionOptions{});
    ASSERT_TRUE(conn->Exec(sql).ok()) << sql;
  }
  std::vector<Hash> Leaves(uint64_t n) {
    std::vector<Hash> out;
    for (uint64_t i = 0; i < n; ++i) {
      out.push_back(*reads_->Read<Hash>([&](ReadView db) { return AuditLedger::LeafHash(db, i); }));
    }
    return out;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("ledger.db");
  SystemRandom random_;
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
  testing::ManualClock clock_;
  AuditLedger ledger_{clock_};
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<ReadPool> reads_;
  verify::NoteSigner signer_;
  verify::VerifierKey vkey_;
};

TEST_F(AuditLedgerTest, DirectSerializationEqualsTheGeneralCanonicalForm) {
  std::vector<AuditRecord> records = {Record(1), Record(2)};
  AuditRecord full = Record(3);
  full.target_kind = "automation";
  full.target_id = "sha256:ab\u00e9";
  full.reason = "quote \" backslash \\ tab \t \x01 \xe2\x82\xac \xf0\x9f\x98\x80";
  full.request_id = "r-1";
  full.request_ip = "::1";
  full.details = {{"\xee\x80\x80", 1}, {"\xf0\x9f\x98\x80", {true, nullptr, -5}}, {"a", {{"b", "c"}}}};
  records.push_back(full);
  AuditRecord bare;
  bare.action = "audit.heartbeat";
  records.push_back(bare);
  for (const auto& r : records) {
    ASSERT_TRUE(r.Validate().ok());
    EXPECT_EQ(r.Canonical(42, "2026-11-21T00:00:00.000000Z"),
              verify::Canonicalize(r.ToEvent(42, "2026-11-21T00:00:00.000000Z")));
  }
}

TEST_F(AuditLedgerTest, AppendsCanonicalEventsWithChainAndLeafHashes) {
  Append(3);
  auto events = *reads_->Read<std::vector<StoredEvent>>([](ReadView db) { return AuditLedger::Events(db, 0, 10, 10); });
  ASSERT_EQ(events.size(), 3u);
  Hash chain{};
  for (const auto& e : events) {
    std::string canonical, error;
    ASSERT_TRUE(verify::CanonicalizeText(e.data, &canonical, &error));
    EXPECT_EQ(canonical, e.data);
    const Json j = Json::parse(e.data);
    EXPECT_EQ(j["v"], 1);
    EXPECT_EQ(j["seq"], e.seq);
    EXPECT_EQ(j["time"], e.time);
    EXPECT_EQ(e.leaf, verify::LeafHash(e.data));
    chain = verify::ChainHash(chain, e.leaf);
    EXPECT_EQ(e.chain, chain);
  }
}

TEST_F(AuditLedgerTest, TimesNeverGoBackwardsEvenWhenTheClockDoes) {
  Append(2);
  clock_.Advance(-std::chrono::hours(5));
  Append(1);
  auto events = *reads_->Read<std::vector<StoredEvent>>([](ReadView db) { return AuditLedger::Events(db, 0, 10, 10); });
  EXPECT_EQ(events[2].time, events[1].time);
  EXPECT_EQ(events[2].time.size(), 27u);  // 2026-11-21T00:00:00.000020Z
}

TEST_F(AuditLedgerTest, InvalidRecordsAreRefusedAndWriteNothing) {
  AuditRecord r = Record(1);
  r.details = {{"ratio", 0.5}};
  EXPECT_EQ(writer_->Write([&](Transaction& tx) { return ledger_.Append(tx, r).status(); }).code(),
            StatusCode::kInvalidArgument);
  r.details = {{"big", int64_t{1} << 53}};
  EXPECT_FALSE(writer_->Write([&](Transaction& tx) { return ledger_.Append(tx, r).status(); }).ok());
  r = Record(1);
  r.action = "Not.Lowercase";
  EXPECT_FALSE(r.Validate().ok());
  r = Record(1);
  r.reason = "\xc3\x28";
  EXPECT_FALSE(r.Validate().ok());
  r = Record(1);
  r.outcome = "maybe";
  EXPECT_FALSE(r.Validate().ok());
  EXPECT_EQ(reads_->Read<LedgerHead>([](ReadView db) { return AuditLedger::Head(db); })->size, 0u);
}

TEST_F(AuditLedgerTest, StoredSubtreesGiveTheSameRootsAndProofsAsTheLeaves) {
  Append(70);
  const auto leaves = Leaves(70);
  for (uint64_t n = 1; n <= 70; ++n) {
    const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + n);
    const Hash root = *reads_->Read<Hash>([&](ReadView db) { return AuditLedger::Root(db, n); });
    ASSERT_EQ(root, verify::RootFromLeaves(prefix)) << n;
    reads_->Read([&](ReadView db) -> Status {
      auto mth = [&](uint64_t b, uint64_t e) { return *AuditLedger::SubtreeHash(db, b, e); };
      for (uint64_t i = 0; i < n; i += 7) {
        EXPECT_TRUE(verify::VerifyInclusion(i, n, leaves[i], verify::InclusionProof(i, n, mth), root)) << i << "/" << n;
      }
      const Hash full = verify::RootFromLeaves(leaves);
      EXPECT_TRUE(verify::VerifyConsistency(n, 70, root, full, verify::ConsistencyProof(n, 70, mth))) << n;
      return Status::Ok();
    });
  }
}

TEST_F(AuditLedgerTest, FailedUnitLeavesNoEventAndTheNextAppendContinuesTheChain) {
  Append(5);
  // An append whose unit then fails is rolled back with it (fail closed).
  EXPECT_FALSE(writer_->Write([&](Transaction& tx) -> Status {
    CL_RETURN_IF_ERROR(ledger_.Append(tx, Record(99)).status());
    return Status::Conflict("the change failed");
  }).ok());
  Append(5);
  EXPECT_EQ(reads_->Read<LedgerHead>([](ReadView db) { return AuditLedger::Head(db); })->size, 10u);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLedgerTest, CheckpointsAreSignedAndStored) {
  Append(9);
  const StoredCheckpoint c = Checkpoint();
  EXPECT_EQ(c.size, 9u);
  std::string text, error;
  ASSERT_TRUE(verify::VerifyNote(c.note, vkey_, &text, &error)) << error;
  EXPECT_EQ(text, "lab/audit\n9\n" + verify::Base64(std::string_view(reinterpret_cast<const char*>(c.root.data()), 32)) + "\n");
  EXPECT_EQ(Checkpoint().size, 9u);  // no new events: the same checkpoint
  Append(3);
  EXPECT_EQ(Checkpoint().size, 12u);
  const LedgerReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.checkpoints_checked, 2u);
}

class LedgerTamperTest : public AuditLedgerTest {
 protected:
  void SetUp() override {
    AuditLedgerTest::SetUp();
    Append(20);
    Checkpoint();
    Append(12);
    Checkpoint();
  }
  void ExpectBadAt(uint64_t seq, const std::string& fragment, bool from_latest = false) {
    const LedgerReport r = Verify(from_latest);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_seq, seq) << r.problem;
    EXPECT_NE(r.problem.find(fragment), std::string::npos) << r.problem;
  }
};

TEST_F(LedgerTamperTest, IntactLedgerVerifies) {
  EXPECT_TRUE(Verify().ok);
  EXPECT_TRUE(Verify(true).ok);
}

TEST_F(LedgerTamperTest, DetectsOneByteChangedInAnEvent) {
  Tamper("UPDATE audit_events SET data = replace(data, '\"i\":7', '\"i\":8') WHERE seq = 7");
  ExpectBadAt(7, "chain hash does not match the event bytes");
}

TEST_F(LedgerTamperTest, DetectsAnEventRewrittenWithMatchingHashes) {
  // Rewrite event 3 and recompute its leaf and every chain hash after it:
  // the tree no longer hashes to the signed checkpoint.
  writer_->Stop();
  auto conn = *Connection::Open(path_, key_, ConnectionOptions{});
  auto events = *AuditLedger::Events(ReadView(*conn), 0, 100, 100);
  Hash chain{};
  for (auto& e : events) {
    if (e.seq == 3) e.data.replace(e.data.find("\"i\":3"), 5, "\"i\":4");
    const Hash leaf = verify::LeafHash(e.data);
    chain = verify::ChainHash(chain, leaf);
    auto s = *conn->Prepare("UPDATE audit_events SET data = ?, chain_hash = ? WHERE seq = ?");
    s->BindBlob(1, e.data).BindBlob(2, std::string_view(reinterpret_cast<const char*>(chain.data()), 32))
        .Bind(3, static_cast<int64_t>(e.seq));
    ASSERT_TRUE(s->Run().ok());
  }
  ExpectBadAt(0, "do not hash to");
}

TEST_F(LedgerTamperTest, DetectsAnInsertedEvent) {
  // A forged event is inserted at seq 10; everything after is renumbered and
  // its bytes, leaf and chain hashes rewritten consistently. Only the tree
  // and the signed checkpoints can tell.
  writer_->Stop();
  auto conn = *Connection::Open(path_, key_, ConnectionOptions{});
  auto events = *AuditLedger::Events(ReadView(*conn), 0, 100, 100);
  ASSERT_TRUE(conn->Exec("DELETE FROM audit_events WHERE seq >= 10").ok());
  AuditRecord forged = Record(1000);
  forged.reason = "inserted";
  std::vector<std::string> tail = {forged.Canonical(10, events[9].time)};
  for (size_t i = 10; i < events.size(); ++i) {
    Json e = Json::parse(events[i].data);
    e["seq"] = i + 1;
    tail.push_back(verify::Canonicalize(e));
  }
  Hash chain = events[9].chain;
  for (size_t k = 0; k < tail.size(); ++k) {
    const Hash leaf = verify::LeafHash(tail[k]);
    chain = verify::ChainHash(chain, leaf);
    auto s = *conn->Prepare("INSERT INTO audit_events (seq, data, chain_hash) VALUES (?, ?, ?)");
    s->Bind(1, static_cast<int64_t>(10 + k)).BindBlob(2, tail[k])
        .BindBlob(3, std::string_view(reinterpret_cast<const char*>(chain.data()), 32));
    ASSERT_TRUE(s->Run().ok());
  }
  ExpectBadAt(0, "do not hash to");
}

TEST_F(LedgerTamperTest, DetectsACheckpointFromAnotherOrigin) {
  verify::NoteSigner other;
  std::string error;
  ASSERT_TRUE(other.Init("elsewhere/audit", std::array<uint8_t, 32>{42}, &error));
  const Hash root = *reads_->Read<Hash>([](ReadView db) { return AuditLedger::Root(db, 32); });
  Tamper("UPDATE audit_checkpoints SET note = '" + other.Sign(verify::FormatCheckpoint({"elsewhere/audit", 32, root})) +
         "' WHERE size = 32");
  ExpectBadAt(31, "no signature by key lab/audit");
}

TEST_F(LedgerTamperTest, DetectsAChangedHash) {
  Tamper("UPDATE audit_events SET chain_hash = zeroblob(32) WHERE seq = 11");
  ExpectBadAt(11, "chain hash");
}

TEST_F(LedgerTamperTest, DetectsAChangedSignature) {
  Tamper("UPDATE audit_checkpoints SET note = replace(note, substr(note, -10, 4), 'AAAA') WHERE size = 20");
  ExpectBadAt(19, "checkpoint 20");
}

TEST_F(LedgerTamperTest, DetectsADeletedEvent) {
  Tamper("DELETE FROM audit_events WHERE seq = 5");
  ExpectBadAt(5, "missing");
}

TEST_F(LedgerTamperTest, DetectsReorderedEvents) {
  Tamper("UPDATE audit_events SET seq = -1 WHERE seq = 8; UPDATE audit_events SET seq = 8 WHERE seq = 9; "
         "UPDATE audit_events SET seq = 9 WHERE seq = -1;");
  ExpectBadAt(8, "seq");
}

TEST_F(LedgerTamperTest, DetectsADuplicatedEvent) {
  Tamper("UPDATE audit_events SET data = (SELECT data FROM audit_events WHERE seq = 4) WHERE seq = 5");
  ExpectBadAt(5, "seq 4");
}

TEST_F(LedgerTamperTest, DetectsTruncationAfterACheckpoint) {
  Tamper("DELETE FROM audit_events WHERE seq >= 25");
  ExpectBadAt(25, "events were removed", /*from_latest=*/true);
  ExpectBadAt(25, "events were removed", /*from_latest=*/false);
}

TEST_F(LedgerTamperTest, DetectsTimesThatGoBackwards) {
  Tamper("UPDATE audit_events SET data = replace(data, substr(data, instr(data, '\"time\":\"') + 8, 27), "
         "'2000-01-01T00:00:00.000000Z') WHERE seq = 10");
  ExpectBadAt(10, "time goes backwards");
}

TEST_F(LedgerTamperTest, DetectsACheckpointFromAnotherKeyOrOrigin) {
  verify::NoteSigner other;
  std::string error;
  ASSERT_TRUE(other.Init("lab/audit", std::array<uint8_t, 32>{9}, &error));
  const Hash root = *reads_->Read<Hash>([](ReadView db) { return AuditLedger::Root(db, 32); });
  const std::string forged = other.Sign(verify::FormatCheckpoint({"lab/audit", 32, root}));
  Tamper("UPDATE audit_checkpoints SET note = '" + forged + "' WHERE size = 32");
  ExpectBadAt(31, "no signature by key lab/audit");
}

TEST_F(LedgerTamperTest, SelfCheckFromTheLatestCheckpointCatchesChangesAfterIt) {
  // Five events after the latest checkpoint (size 32): seq 32-36, whose
  // details carry i = 0-4. Changing seq 34 must be found by the quick check,
  // which starts at the checkpoint's verified root.
  Append(5);
  const LedgerReport intact = Verify(true);
  ASSERT_TRUE(intact.ok) << intact.problem;
  EXPECT_EQ(intact.from_seq, 32u);
  EXPECT_EQ(intact.events_checked, 5u);
  Tamper("UPDATE audit_events SET data = replace(data, '\"i\":2', '\"i\":3') WHERE seq = 34");
  const LedgerReport quick = Verify(true);
  EXPECT_FALSE(quick.ok);
  EXPECT_EQ(quick.from_seq, 32u);
  EXPECT_EQ(quick.first_bad_seq, 34u) << quick.problem;
  EXPECT_NE(quick.problem.find("chain hash"), std::string::npos) << quick.problem;
  ExpectBadAt(34, "chain hash");
}

TEST_F(LedgerTamperTest, SelfCheckFromTheLatestCheckpointLeavesChangesBeforeItToTheFullCheck) {
  // seq 2 is before the latest checkpoint: the quick check starts after it
  // (it trusts the stored subtree under the signed root), the full one finds it.
  Tamper("UPDATE audit_events SET data = replace(data, '\"i\":2', '\"i\":3') WHERE seq = 2");
  const LedgerReport quick = Verify(true);
  EXPECT_TRUE(quick.ok) << quick.problem;
  EXPECT_EQ(quick.from_seq, 32u);
  ExpectBadAt(2, "chain hash");
}

TEST_F(AuditLedgerTest, CheckpointerSignsWhileEventsArriveAndBeatsWhenIdle) {
  Append(3);
  {
    Checkpointer cp(*writer_, *reads_, ledger_, signer_, clock_, Logger("test"),
                    {std::chrono::milliseconds(20), std::chrono::seconds(3600)});
    auto wait_for = [&](const std::function<bool()>& done) {
      for (int i = 0; i < 250 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return done();
    };
    auto latest = [&] {
      return *reads_->Read<std::optional<StoredCheckpoint>>([](ReadView db) { return AuditLedger::LatestCheckpoint(db); });
    };
    ASSERT_TRUE(wait_for([&] { return latest() && latest()->size == 3; }));
    // An hour without events (by the injected clock): a heartbeat, then its checkpoint.
    clock_.Advance(std::chrono::hours(1));
    ASSERT_TRUE(wait_for([&] { return latest() && latest()->size == 4; }));
  }
  auto events = *reads_->Read<std::vector<StoredEvent>>([](ReadView db) { return AuditLedger::Events(db, 3, 3, 1); });
  EXPECT_EQ(Json::parse(events[0].data)["action"], "audit.heartbeat");
  EXPECT_EQ(Json::parse(events[0].data)["actor"]["kind"], "system");
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLedgerTest, CompromisedLedgerRefusesAppends) {
  Append(2);
  ledger_.MarkCompromised(1, "test");
  const Status st = writer_->Write([&](Transaction& tx) { return ledger_.Append(tx, Record(3)).status(); });
  EXPECT_EQ(st.reason(), "ledger_integrity");
}

TEST_F(AuditLedgerTest, QueriesFilterAndResolveTimeRanges) {
  Append(30);
  auto q = [&](EventFilter f, uint64_t cursor = 0, size_t limit = 100) {
    return *reads_->Read<std::vector<StoredEvent>>([&](ReadView db) { return AuditLedger::Query(db, f, cursor, limit); });
  };
  EventFilter by_outcome;
  by_outcome.outcome = "denied";
  EXPECT_EQ(q(by_outcome).size(), 6u);
  EventFilter by_env_actor;
  by_env_actor.env = "prod";
  by_env_actor.actor = "u1";
  for (const auto& e : q(by_env_actor)) EXPECT_EQ(Json::parse(e.data)["actor"]["id"], "u1");
  const auto all = q({});
  EventFilter window;
  window.since = all[10].time;
  window.until = all[19].time;
  const auto in_window = q(window);
  ASSERT_EQ(in_window.size(), 10u);
  EXPECT_EQ(in_window.front().seq, 10u);
  EXPECT_EQ(q({}, 25, 3).front().seq, 25u);
}

// Damage is reported, never replaced: a stored hash of the wrong size is
// corruption naming its table and row, not zeros.
TEST_F(AuditLedgerTest, AShortChainHashIsCorruptionNamingTheEvent) {
  Append(5);
  Tamper("UPDATE audit_events SET chain_hash = zeroblob(31) WHERE seq = 3");
  auto events = reads_->Read<std::vector<StoredEvent>>([](ReadView db) { return AuditLedger::Events(db, 0, 10, 10); });
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kCorruption);
  EXPECT_NE(events.status().message().find("audit_events row 3: chain_hash is 31 bytes, not 32"), std::string::npos)
      << events.status().message();
}

TEST_F(AuditLedgerTest, ACheckpointRootOfTheWrongSizeIsCorruptionNamingTheCheckpoint) {
  Append(9);
  Checkpoint();
  Tamper("UPDATE audit_checkpoints SET root = zeroblob(33) WHERE size = 9");
  auto latest = reads_->Read<std::optional<StoredCheckpoint>>(
      [](ReadView db) { return AuditLedger::LatestCheckpoint(db); });
  ASSERT_FALSE(latest.ok());
  EXPECT_EQ(latest.status().code(), StatusCode::kCorruption);
  EXPECT_NE(latest.status().message().find("audit_checkpoints row 9: root is 33 bytes, not 32"), std::string::npos)
      << latest.status().message();
}

TEST_F(AuditLedgerTest, AStoredSubtreeOfTheWrongSizeIsCorruptionNamingItsLevelAndIndex) {
  Append(32);  // completes the first stored subtree, level 5 index 0
  Tamper("UPDATE audit_nodes SET hash = zeroblob(31) WHERE level = 5 AND idx = 0");
  auto root = reads_->Read<Hash>([](ReadView db) { return AuditLedger::Root(db, 32); });
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), StatusCode::kCorruption);
  EXPECT_NE(root.status().message().find("audit_nodes row 5/0: hash is 31 bytes, not 32"), std::string::npos)
      << root.status().message();
}

TEST_F(AuditLedgerTest, AnAuditKeyOfTheWrongSizeIsCorruptionNamingTheKey) {
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) { return EnsureAuditKeys(tx, random_, clock_); }).ok());
  Tamper("UPDATE appliance_keys SET material = zeroblob(31) WHERE name = 'audit.hmac_key'");
  auto keys = reads_->Read<AuditKeys>([](ReadView db) { return LoadAuditKeys(db); });
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kCorruption);
  EXPECT_NE(keys.status().message().find("appliance_keys row audit.hmac_key: material is 31 bytes, not 32"),
            std::string::npos)
      << keys.status().message();
}

// The verifier reads damaged rows as a ledger that does not verify, not as
// a failed read: the report names the first bad seq.
TEST_F(LedgerTamperTest, VerifierReportsAShortChainHashOfTheLastEvent) {
  Tamper("UPDATE audit_events SET chain_hash = zeroblob(31) WHERE seq = 31");
  ExpectBadAt(31, "chain hash does not match the event bytes");
  // The quick check starts from the chain hash of the checkpoint's last event.
  ExpectBadAt(31, "audit_events row 31: chain_hash is 31 bytes, not 32", /*from_latest=*/true);
}

TEST_F(LedgerTamperTest, VerifierReportsACheckpointRootOfTheWrongSize) {
  Tamper("UPDATE audit_checkpoints SET root = zeroblob(31) WHERE size = 20");
  ExpectBadAt(19, "checkpoint 20: the signed note does not match its stored size and root");
}

TEST_F(LedgerTamperTest, VerifierReportsAStoredSubtreeOfTheWrongSize) {
  Tamper("UPDATE audit_nodes SET hash = zeroblob(31) WHERE level = 5 AND idx = 0");
  ExpectBadAt(0, "events 0..31 do not hash to their stored subtree");
  ExpectBadAt(0, "audit_nodes row 5/0: hash is 31 bytes, not 32", /*from_latest=*/true);
}

}  // namespace
}  // namespace cloister
