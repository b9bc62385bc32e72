// The appliance's lifecycle against a database that refuses writes: an
// unseal the audit ledger cannot record does not happen (fail closed), a
// seal happens anyway and the next unseal says so, and the first unseal
// after a restore ends every session and revokes again the tokens revoked
// after the backup, in the unit that records the restore, or not at all.
#include "appliance/api/appliance.h"

#include <atomic>
#include <cstdio>

#include <gtest/gtest.h>

#include "appliance/core/files.h"
#include "appliance/identity/session_store.h"
#include "appliance/identity/token_changes.h"
#include "appliance/identity/user_store.h"
#include "audit/audit_keys.h"
#include "audit/audit_ledger.h"
#include "audit/backup.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

// What the database refuses, as a full or failing disk would.
enum class Refuse { kNothing, kAuditEvents, kEverything };

// A writer over the real one that refuses units as `refuse` says: every unit,
// or each unit that appends to the audit ledger (it runs, then fails, so its
// savepoint rolls back).
class RefusingWriter final : public Writer {
 public:
  RefusingWriter(std::unique_ptr<Writer> inner, std::shared_ptr<std::atomic<Refuse>> refuse)
      : inner_(std::move(inner)), refuse_(std::move(refuse)) {}
  WriteTicket Submit(Unit unit) override {
    if (refuse_->load() == Refuse::kEverything) {
      return WriteTicket::Failed(Status::Unavailable("database or disk is full (test)"));
    }
    return inner_->Submit([unit = std::move(unit), refuse = refuse_](Transaction& tx) -> Status {
      CL_ASSIGN_OR_RETURN(const int64_t before, AuditEvents(tx));
      CL_RETURN_IF_ERROR(unit(tx));
      CL_ASSIGN_OR_RETURN(const int64_t after, AuditEvents(tx));
      if (after != before && refuse->load() == Refuse::kAuditEvents) {
        return Status::Unavailable("database or disk is full (test)");
      }
      return Status::Ok();
    });
  }

 private:
  static Result<int64_t> AuditEvents(Transaction& tx) {
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("SELECT count(*) FROM audit_events"));
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return Status::Internal("count(*) returned no row");
    const int64_t n = s->ColumnInt(0);
    s->Reset();
    return n;
  }

  std::unique_ptr<Writer> inner_;
  std::shared_ptr<std::atomic<Refuse>> refuse_;
};

// What the bootstrap created besides the appliance record.
struct Seeded {
  std::string token_id;
  std::string session_secret;
};

class ApplianceTest : public ::testing::Test {
 protected:
  // Initializes an appliance (key file, or Shamir 2 of 3 when `shares`)
  // holding a user with a live token and a live session.
  void Initialize(bool shares = false) {
    StorageOptions options = testing::ApplianceStorageOptions(dir_.File("data"), 1, clock_);
    options.make_writer = testing::WrapWriters(
        options.make_writer, [refuse = refuse_](std::unique_ptr<Writer> w) -> std::unique_ptr<Writer> {
          return std::make_unique<RefusingWriter>(std::move(w), refuse);
        });
    seal_ = std::make_unique<SealManager>(options, clock_, random_, Logger("test"));
    ASSERT_TRUE(seal_->Recover().ok());
    InitRequest request;
    if (shares) {
      request.seal_type = SealType::kShamir;
      request.shares = 3;
      request.threshold = 2;
    } else {
      request.seal_type = SealType::kKeyFile;
      request.key_file = dir_.File("unseal.key");
    }
    auto init = seal_->Initialize(request, [&](Transaction& tx, const std::string& id) -> Status {
      CL_RETURN_IF_ERROR(WriteApplianceInfo(tx, {id, "test", FormatTimestamp(clock_.Now()), "0"}));
      CL_RETURN_IF_ERROR(EnsureAuditKeys(tx, random_, clock_));
      CL_ASSIGN_OR_RETURN(User user, CreateUser(tx, random_, clock_, {"alice", "not-a-real-hash", false, "", {}}));
      CL_ASSIGN_OR_RETURN(IssuedToken token, CreateToken(tx, random_, clock_, {"ci deploy", user.id, {}, {}, ""}));
      seeded_.token_id = token.id;
      CL_ASSIGN_OR_RETURN(IssuedSession session, CreateSession(tx, random_, clock_, {}, user.id, "password", "::1"));
      seeded_.session_secret = session.secret;
      return Status::Ok();
    });
    ASSERT_TRUE(init.ok()) << init.status().message();
    shares_ = init->shares;
    appliance_ = std::make_unique<Appliance>(*seal_, random_, clock_, Logger("test"), AuditOptions{}, "digest");
  }

  Result<SealStatus> Unseal() {
    if (shares_.empty()) return appliance_->UnsealWithKeyFile(who_);
    Result<SealStatus> last = appliance_->SubmitShare(shares_[0], who_);
    if (!last.ok()) return last;
    return appliance_->SubmitShare(shares_[1], who_);
  }

  // Every event in the ledger, parsed; the appliance must be unsealed.
  std::vector<Json> Events() {
    auto session = appliance_->session();
    EXPECT_NE(session, nullptr);
    if (!session) return {};
    auto events = session->store->reads().Read<std::vector<StoredEvent>>(
        [](ReadView db) { return AuditLedger::Events(db, 0, 1 << 20, 1 << 20); });
    EXPECT_TRUE(events.ok());
    std::vector<Json> out;
    for (const auto& e : events.value()) out.push_back(ParseJsonObject(e.data).value());
    return out;
  }
  std::vector<Json> EventsOf(const std::string& action) {
    std::vector<Json> out;
    for (const Json& e : Events()) {
      if (e["action"] == action) out.push_back(e);
    }
    return out;
  }

  // Whether the seeded session and token still authenticate.
  bool SessionLive() {
    return AuthenticateSession(appliance_->session()->store->reads(), seeded_.session_secret, clock_, {}).ok();
  }
  bool TokenLive() {
    auto t = appliance_->session()->store->reads().Read<TokenInfo>(
        [&](ReadView db) { return FindToken(db, seeded_.token_id); });
    return t.ok() && t->revoked_at.empty();
  }

  void ExpectSealedAndClosed() {
    EXPECT_TRUE(appliance_->seal_status().sealed);
    EXPECT_EQ(appliance_->session(), nullptr);
    EXPECT_EQ(seal_->store(), nullptr) << "the store (and its data key) stayed open";
  }

  testing::TempDir dir_;
  testing::ManualClock clock_;
  SystemRandom random_;
  std::shared_ptr<std::atomic<Refuse>> refuse_ = std::make_shared<std::atomic<Refuse>>(Refuse::kNothing);
  std::unique_ptr<SealManager> seal_;
  std::unique_ptr<Appliance> appliance_;
  std::vector<std::string> shares_;
  Seeded seeded_;
  Requester who_{{"user", "usr_operator", "operator"}, "req-1", "192.0.2.1", ""};
};

TEST_F(ApplianceTest, UnsealFailsClosedWhenTheUnsealEventCannotBeRecorded) {
  Initialize();
  refuse_->store(Refuse::kAuditEvents);
  auto refused = Unseal();
  ASSERT_FALSE(refused.ok()) << "the appliance unsealed without recording it";
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().reason(), "audit_unavailable");
  EXPECT_NE(refused.status().message().find("stays sealed"), std::string::npos) << refused.status().message();
  ExpectSealedAndClosed();

  // Once the database takes writes again, the unseal happens and its event
  // counts the attempt that could not be recorded.
  refuse_->store(Refuse::kNothing);
  auto unsealed = Unseal();
  ASSERT_TRUE(unsealed.ok()) << unsealed.status().message();
  EXPECT_FALSE(unsealed->sealed);
  const auto unseals = EventsOf("system.unseal");
  ASSERT_EQ(unseals.size(), 1u);
  EXPECT_EQ(unseals[0]["details"]["failed_attempts_while_sealed"], 1);
  EXPECT_EQ(unseals[0]["details"]["failure_reasons"], Json::array({"audit_unavailable"}));
}

TEST_F(ApplianceTest, UnsealFailsClosedWhenTheDatabaseRefusesEveryWrite) {
  Initialize();
  refuse_->store(Refuse::kEverything);
  auto refused = Unseal();
  ASSERT_FALSE(refused.ok()) << "the appliance unsealed without recording it";
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().reason(), "audit_unavailable");
  EXPECT_NE(refused.status().message().find("stays sealed"), std::string::npos) << refused.status().message();
  ExpectSealedAndClosed();
  refuse_->store(Refuse::kNothing);
  ASSERT_TRUE(Unseal().ok());
  EXPECT_EQ(EventsOf("system.unseal").size(), 1u);
}

TEST_F(ApplianceTest, UnsealWithSharesFailsClosedWhenTheUnsealEventCannotBeRecorded) {
  Initialize(/*shares=*/true);
  refuse_->store(Refuse::kAuditEvents);
  auto first = appliance_->SubmitShare(shares_[0], who_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->progress, 1);
  auto refused = appliance_->SubmitShare(shares_[1], who_);
  ASSERT_FALSE(refused.ok()) << "the appliance unsealed without recording it";
  EXPECT_EQ(refused.status().reason(), "audit_unavailable");
  ExpectSealedAndClosed();
  EXPECT_EQ(appliance_->seal_status().progress, 0) << "shares given toward a refused unseal were kept";

  refuse_->store(Refuse::kNothing);
  ASSERT_TRUE(Unseal().ok());
  EXPECT_EQ(EventsOf("system.unseal").size(), 1u);
}

TEST_F(ApplianceTest, SealHappensEvenWhenTheSealEventCannotBeRecordedAndTheNextUnsealSaysSo) {
  Initialize();
  ASSERT_TRUE(Unseal().ok());
  refuse_->store(Refuse::kAuditEvents);
  EXPECT_TRUE(appliance_->Seal(who_).ok());
  ExpectSealedAndClosed();

  refuse_->store(Refuse::kNothing);
  ASSERT_TRUE(Unseal().ok());
  EXPECT_TRUE(EventsOf("system.seal").empty());
  const auto unseals = EventsOf("system.unseal");
  ASSERT_EQ(unseals.size(), 2u);
  const Json& gap = unseals[1]["details"]["unrecorded_seal"];
  ASSERT_TRUE(gap.is_object()) << unseals[1].dump();
  EXPECT_EQ(gap["actor"]["id"], "usr_operator");
  EXPECT_NE(gap["error"].get<std::string>().find("disk is full"), std::string::npos);
}

// A restore marker as cloisterctl leaves it: the seeded token was revoked
// after the backup was taken, another token was created after it.
void WriteRestoreMarker(const std::string& data_dir, const std::string& token_id) {
  TokenChanges changes;
  changes.revoked_after_backup.push_back(
      {token_id, "ci deploy", "usr_x", "alice", "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"});
  changes.created_after_backup.push_back(
      {"tok_gone", "nightly", "usr_x", "alice", "2026-11-19T00:00:00Z", ""});
  const Json marker = {{"backup", "b.cbk"}, {"ledger_size", 3}, {"tokens", TokenChangesToJson(changes)}};
  ASSERT_TRUE(WriteFileAtomic(data_dir + "/" + kRestoreMarker, marker.dump(), 0600).ok());
}

TEST_F(ApplianceTest, RestoreEndsSessionsAndRevokesRevivedTokensOnlyWithItsEvent) {
  Initialize();
  WriteRestoreMarker(dir_.File("data"), seeded_.token_id);

  // The unit that would record the restore is refused: nothing of it happens,
  // and the marker stays for the next unseal.
  refuse_->store(Refuse::kAuditEvents);
  ASSERT_FALSE(Unseal().ok());
  EXPECT_TRUE(PathExists(dir_.File("data") + "/" + kRestoreMarker));

  refuse_->store(Refuse::kNothing);
  ASSERT_TRUE(Unseal().ok());
  EXPECT_FALSE(SessionLive()) << "a session from before the restore still authenticates";
  EXPECT_FALSE(TokenLive()) << "a token revoked after the backup came back to life";
  EXPECT_FALSE(PathExists(dir_.File("data") + "/" + kRestoreMarker));

  const auto restores = EventsOf("system.restore");
  ASSERT_EQ(restores.size(), 1u);
  const Json& d = restores[0]["details"];
  EXPECT_EQ(d["sessions_revoked"], 1);
  EXPECT_FALSE(d.contains("tokens")) << "raw token ids went into the ledger";
  ASSERT_EQ(d["tokens_revoked_after_backup"].size(), 1u);
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["name"], "ci deploy");
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["owner"]["name"], "alice");
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["revoked_again"], true);
  EXPECT_EQ(d["tokens_revoked_after_backup"][0]["token"], appliance_->session()->audit->Hmac(seeded_.token_id));
  ASSERT_EQ(d["tokens_created_after_backup"].size(), 1u);
  EXPECT_EQ(d["tokens_created_after_backup"][0]["name"], "nightly");
  const auto revocations = EventsOf("token.revoke");
  ASSERT_EQ(revocations.size(), 1u);
  EXPECT_EQ(revocations[0]["target"]["id"], appliance_->session()->audit->Hmac(seeded_.token_id));
}

TEST_F(ApplianceTest, AMalformedRestoreMarkerIsStillRecordedAndStillEndsSessions) {
  Initialize();
  for (const std::string& marker : {std::string("{\"tokens\": {\"revoked_after_backup\": [{\"id\": 7}]}}"),
                                   std::string("not json \x1b[2J"), std::string("{\"x\": 1.5}")}) {
    SCOPED_TRACE(marker);
    testing::WriteText(dir_.File("data") + "/" + kRestoreMarker, marker);
    ASSERT_TRUE(Unseal().ok());
    EXPECT_FALSE(SessionLive());
    EXPECT_FALSE(PathExists(dir_.File("data") + "/" + kRestoreMarker));
    ASSERT_TRUE(appliance_->Seal(who_).ok());
  }
  ASSERT_TRUE(Unseal().ok());
  EXPECT_EQ(EventsOf("system.restore").size(), 3u);
  EXPECT_TRUE(TokenLive()) << "a marker that names no token revoked one";
}

}  // namespace
}  // namespace cloister
