#include "appliance/storage/seal_manager.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "appliance/core/files.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

Status CreateMarkerTable(Transaction& tx, const std::string& appliance_id) {
  CL_RETURN_IF_ERROR(tx.Exec("CREATE TABLE marker (appliance_id TEXT)"));
  CL_ASSIGN_OR_RETURN(Statement * stmt, tx.Prepare("INSERT INTO marker VALUES (?)"));
  return stmt->Bind(1, appliance_id).Run();
}

class SealManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<SealManager> Make(const std::string& data_dir) {
    auto m = std::make_unique<SealManager>(testing::ApplianceStorageOptions(data_dir, 2, clock_), clock_, random_,
                                           Logger("test"));
    EXPECT_TRUE(m->Recover().ok());
    return m;
  }
  InitResult InitShamir(SealManager& m, int n = 5, int t = 3) {
    InitRequest req;
    req.shares = n;
    req.threshold = t;
    auto r = m.Initialize(req, CreateMarkerTable);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }
  std::string MarkerValue(SealManager& m) {
    auto store = m.store();
    if (!store) return "";
    return *store->reads().Read<std::string>([](ReadView db) -> Result<std::string> {
      CL_ASSIGN_OR_RETURN(auto id, db.Select("marker", "SELECT appliance_id FROM marker").ReadOne([](const Row& r) {
        return r.Text(0);
      }));
      return id.value_or("");
    });
  }

  testing::TempDir dir_;
  testing::ManualClock clock_;
  SystemRandom random_;
};

TEST_F(SealManagerTest, StartsUninitializedThenSealedAfterInit) {
  auto m = Make(dir_.File("a"));
  EXPECT_FALSE(m->CurrentStatus().initialized);
  const InitResult init = InitShamir(*m);
  EXPECT_EQ(init.shares.size(), 5u);
  const SealStatus s = m->CurrentStatus();
  EXPECT_TRUE(s.initialized);
  EXPECT_TRUE(s.sealed);
  EXPECT_EQ(s.threshold, 3);
  EXPECT_EQ(m->store(), nullptr);
  EXPECT_EQ(*FileMode(m->keyring_path()), 0600u);
  EXPECT_EQ(*FileMode(dir_.File("a")), 0700u);
  EXPECT_EQ(m->Initialize({}, CreateMarkerTable).status().reason(), "already_initialized");
}

TEST_F(SealManagerTest, UnsealsWithThresholdSharesReportingProgress) {
  auto m = Make(dir_.File("a"));
  const InitResult init = InitShamir(*m);
  EXPECT_EQ(m->SubmitShare(init.shares[4])->progress, 1);
  EXPECT_EQ(m->SubmitShare(init.shares[0])->progress, 2);
  auto done = m->SubmitShare(init.shares[2]);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_FALSE(done->sealed);
  EXPECT_EQ(done->progress, 0);
  EXPECT_EQ(MarkerValue(*m), init.appliance_id);
}

TEST_F(SealManagerTest, BadSharesAreRefusedWithoutChangingProgress) {
  auto m = Make(dir_.File("a"));
  const InitResult init = InitShamir(*m);
  auto other = Make(dir_.File("b"));
  const InitResult other_init = InitShamir(*other);
  ASSERT_EQ(m->SubmitShare(init.shares[0])->progress, 1);

  // Mistyped.
  std::string typo = init.shares[1];
  typo[20] = typo[20] == '0' ? '1' : '0';
  EXPECT_EQ(m->SubmitShare(typo).status().reason(), "invalid_share");
  // From another appliance.
  auto foreign = m->SubmitShare(other_init.shares[1]);
  EXPECT_EQ(foreign.status().reason(), "wrong_appliance");
  EXPECT_NE(foreign.status().message().find("another appliance"), std::string::npos);
  // Well-formed, right appliance tag and checksum, but never issued.
  ShamirShare forged{2, *SecureBytes::Generate(random_, 32)};
  EXPECT_EQ(m->SubmitShare(EncodeShare(init.appliance_id, 3, forged)).status().reason(), "invalid_share");
  // The same share twice.
  EXPECT_EQ(m->SubmitShare(init.shares[0]).status().reason(), "duplicate_share");

  EXPECT_EQ(m->CurrentStatus().progress, 1);
  EXPECT_TRUE(m->CurrentStatus().sealed);
  ASSERT_EQ(m->SubmitShare(init.shares[1])->progress, 2);
  EXPECT_FALSE(m->SubmitShare(init.shares[3])->sealed);
}

TEST_F(SealManagerTest, ResetForgetsProgress) {
  auto m = Make(dir_.File("a"));
  const InitResult init = InitShamir(*m);
  ASSERT_TRUE(m->SubmitShare(init.shares[0]).ok());
  EXPECT_EQ(m->ResetProgress().progress, 0);
  ASSERT_TRUE(m->SubmitShare(init.shares[0]).ok());  // no longer a duplicate
}

TEST_F(SealManagerTest, SealClosesTheStoreAndUnsealReopensTheSameData) {
  auto m = Make(dir_.File("a"));
  const InitResult init = InitShamir(*m, 3, 2);
  ASSERT_TRUE(m->SubmitShare(init.shares[0]).ok());
  ASSERT_TRUE(m->SubmitShare(init.shares[1]).ok());
  ASSERT_TRUE(m->Seal().ok());
  EXPECT_TRUE(m->CurrentStatus().sealed);
  EXPECT_EQ(m->store(), nullptr);

  auto restarted = Make(dir_.File("a"));  // as after a process restart
  EXPECT_TRUE(restarted->CurrentStatus().sealed);
  ASSERT_TRUE(restarted->SubmitShare(init.shares[2]).ok());
  ASSERT_FALSE(restarted->SubmitShare(init.shares[1])->sealed);
  EXPECT_EQ(MarkerValue(*restarted), init.appliance_id);
}

TEST_F(SealManagerTest, KeyFileSealUnsealsAndRefusesAWrongOrExposedFile) {
  auto m = Make(dir_.File("a"));
  InitRequest req;
  req.seal_type = SealType::kKeyFile;
  req.key_file = dir_.File("unseal.key");
  ASSERT_TRUE(m->Initialize(req, CreateMarkerTable).ok());
  EXPECT_EQ(*FileMode(req.key_file), 0600u);
  EXPECT_EQ(m->SubmitShare("00").status().reason(), "wrong_seal_type");

  const std::string good = testing::Slurp(req.key_file);
  ASSERT_EQ(std::remove(req.key_file.c_str()), 0);
  ASSERT_TRUE(CreateFileExclusive(req.key_file, EncodeKeyFile(*SecureBytes::Generate(random_, 32)), 0600).ok());
  auto wrong = m->UnsealWithKeyFile();
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().reason(), "key_mismatch");
  EXPECT_NE(wrong.status().message().find("wrong key file"), std::string::npos);
  EXPECT_TRUE(m->CurrentStatus().sealed);

  ASSERT_TRUE(WriteFileAtomic(req.key_file, good, 0644).ok());
  EXPECT_EQ(m->UnsealWithKeyFile().status().reason(), "key_file_exposed");
  chmod(req.key_file.c_str(), 0600);
  auto ok = m->UnsealWithKeyFile();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_FALSE(ok->sealed);
}

TEST_F(SealManagerTest, KeyFileInitRefusesToOverwriteAnExistingFile) {
  auto m = Make(dir_.File("a"));
  testing::WriteText(dir_.File("existing.key"), "keep me");
  InitRequest req;
  req.seal_type = SealType::kKeyFile;
  req.key_file = dir_.File("existing.key");
  EXPECT_EQ(m->Initialize(req, CreateMarkerTable).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(testing::Slurp(req.key_file), "keep me");
  EXPECT_FALSE(m->CurrentStatus().initialized);
}

TEST_F(SealManagerTest, DatabaseThatDoesNotDecryptIsReportedAndStaysSealed) {
  auto a = Make(dir_.File("a"));
  const InitResult init = InitShamir(*a, 3, 2);
  auto b = Make(dir_.File("b"));
  InitShamir(*b, 3, 2);
  // Another appliance's database put in place of this one's.
  std::filesystem::copy_file(dir_.File("b/cloister.db"), dir_.File("a/cloister.db"),
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(a->SubmitShare(init.shares[0]).ok());
  auto r = a->SubmitShare(init.shares[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "database_undecryptable");
  EXPECT_TRUE(a->CurrentStatus().sealed);
  EXPECT_EQ(a->store(), nullptr);
}

TEST_F(SealManagerTest, FailedBootstrapLeavesTheApplianceUninitialized) {
  auto m = Make(dir_.File("a"));
  InitRequest req;
  auto r = m->Initialize(req, [](Transaction&, const std::string&) { return Status::InvalidArgument("no"); });
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(m->CurrentStatus().initialized);
  EXPECT_FALSE(PathExists(m->database_path()));
  EXPECT_FALSE(PathExists(m->database_path() + ".init"));
  EXPECT_FALSE(PathExists(m->keyring_path()));
  InitShamir(*m);  // and can be initialized afterwards
}

TEST_F(SealManagerTest, RecoverDiscardsAnInitThatNeverWroteItsKeyring) {
  ASSERT_TRUE(MakeDirectories(dir_.File("a"), 0700).ok());
  testing::WriteText(dir_.File("a/cloister.db.init"), "half-made");
  auto m = Make(dir_.File("a"));
  EXPECT_FALSE(PathExists(dir_.File("a/cloister.db.init")));
  EXPECT_FALSE(m->CurrentStatus().initialized);
}

TEST_F(SealManagerTest, RecoverCompletesAnInitWhoseKeyringIsDurable) {
  auto m = Make(dir_.File("a"));
  const InitResult init = InitShamir(*m, 3, 2);
  m.reset();
  std::filesystem::rename(dir_.File("a/cloister.db"), dir_.File("a/cloister.db.init"));
  auto again = Make(dir_.File("a"));
  EXPECT_TRUE(PathExists(dir_.File("a/cloister.db")));
  ASSERT_TRUE(again->SubmitShare(init.shares[0]).ok());
  EXPECT_FALSE(again->SubmitShare(init.shares[1])->sealed);
}

TEST_F(SealManagerTest, DatabaseWithoutKeyringIsRefusedNotOverwritten) {
  auto m = Make(dir_.File("a"));
  InitShamir(*m);
  m.reset();
  std::remove(dir_.File("a/keyring.json").c_str());
  StorageOptions options;
  options.data_dir = dir_.File("a");
  SealManager again(options, clock_, random_, Logger("test"));
  EXPECT_EQ(again.Recover().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.Initialize({}, CreateMarkerTable).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cloister
