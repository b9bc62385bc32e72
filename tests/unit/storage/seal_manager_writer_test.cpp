// SealManager serves the writer its storage options' factory builds and
// applies the migrations the options give; it builds neither itself.
#include <gtest/gtest.h>

#include "appliance/server/storage_wiring.h"
#include "appliance/storage/seal_manager.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

Status NoBootstrap(Transaction&, const std::string&) { return Status::Ok(); }

class SealManagerWriterTest : public ::testing::Test {
 protected:
  StorageOptions Options(std::vector<Migration> migrations) {
    StorageOptions options;
    options.data_dir = dir_.File("data");
    options.read_connections = 1;
    options.migrations = std::move(migrations);
    return options;
  }
  // Initializes with a key file; the appliance stays sealed.
  void Initialize(SealManager& m) {
    ASSERT_TRUE(m.Recover().ok());
    InitRequest request;
    request.seal_type = SealType::kKeyFile;
    request.key_file = dir_.File("unseal.key");
    auto init = m.Initialize(request, NoBootstrap);
    ASSERT_TRUE(init.ok()) << init.status().ToString();
  }
  bool TableExists(SealManager& m, const std::string& table) {
    auto count = m.store()->reads().Read<int64_t>([&](ReadView db) -> Result<int64_t> {
      return db.Select("sqlite_master", "SELECT count(*) FROM sqlite_master WHERE name = ?").Bind(1, table).ReadInt();
    });
    EXPECT_TRUE(count.ok()) << count.status().ToString();
    return count.ok() && *count == 1;
  }

  testing::TempDir dir_;
  testing::ManualClock clock_;
  SystemRandom random_;
  const std::vector<Migration> one_ = {{1, "given", "CREATE TABLE given (x);"}};
};

TEST_F(SealManagerWriterTest, UnsealWithoutAWriterFactoryIsAnInternalErrorAndStaysSealed) {
  SealManager m(Options(one_), clock_, random_, Logger("test"));
  Initialize(m);
  auto unsealed = m.UnsealWithKeyFile();
  ASSERT_FALSE(unsealed.ok());
  EXPECT_EQ(unsealed.status().code(), StatusCode::kInternal);
  EXPECT_NE(unsealed.status().message().find("make_writer"), std::string::npos)
      << unsealed.status().message();
  EXPECT_TRUE(m.CurrentStatus().sealed);
  EXPECT_EQ(m.store(), nullptr);
}

TEST_F(SealManagerWriterTest, ServesTheWriterTheFactoryBuildsWithTheWriterOptions) {
  StorageOptions options = Options(one_);
  options.writer.max_batch = 7;
  size_t built = 0, max_batch_given = 0;
  const Writer* served = nullptr;
  const WriterFactory inner = GroupCommitWriters(clock_, nullptr);
  options.make_writer =
      [&](std::unique_ptr<Connection> conn,
          const WriterOptions& writer_options) -> Result<std::unique_ptr<Writer>> {
    ++built;
    max_batch_given = writer_options.max_batch;
    CL_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, inner(std::move(conn), writer_options));
    served = writer.get();
    return writer;
  };
  SealManager m(options, clock_, random_, Logger("test"));
  Initialize(m);
  EXPECT_EQ(built, 0u);  // initialization writes through its own connection
  ASSERT_TRUE(m.UnsealWithKeyFile().ok());
  EXPECT_EQ(built, 1u);
  EXPECT_EQ(max_batch_given, 7u);
  ASSERT_NE(m.store(), nullptr);
  EXPECT_EQ(&m.store()->writer(), served);
}

TEST_F(SealManagerWriterTest, FactoryErrorFailsTheUnseal) {
  StorageOptions options = Options(one_);
  options.make_writer = [](std::unique_ptr<Connection>,
                           const WriterOptions&) -> Result<std::unique_ptr<Writer>> {
    return Status::Unavailable("no writer today");
  };
  SealManager m(options, clock_, random_, Logger("test"));
  Initialize(m);
  auto unsealed = m.UnsealWithKeyFile();
  ASSERT_FALSE(unsealed.ok());
  EXPECT_EQ(unsealed.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(m.CurrentStatus().sealed);
}

TEST_F(SealManagerWriterTest, AppliesTheMigrationsItIsGivenAtInitAndUnseal) {
  {
    StorageOptions options = Options(one_);
    options.make_writer = GroupCommitWriters(clock_, nullptr);
    SealManager m(options, clock_, random_, Logger("test"));
    EXPECT_EQ(m.schema_version(), 1);
    Initialize(m);
    ASSERT_TRUE(m.UnsealWithKeyFile().ok());
    EXPECT_TRUE(TableExists(m, "given"));
    EXPECT_TRUE(m.store()->migrations().empty());  // applied at initialization
  }
  std::vector<Migration> two = one_;
  two.push_back({2, "later", "CREATE TABLE later (y);"});
  StorageOptions options = Options(two);
  options.make_writer = GroupCommitWriters(clock_, nullptr);
  SealManager m(options, clock_, random_, Logger("test"));
  EXPECT_EQ(m.schema_version(), 2);
  ASSERT_TRUE(m.Recover().ok());
  ASSERT_TRUE(m.UnsealWithKeyFile().ok());
  ASSERT_EQ(m.store()->migrations().size(), 1u);
  EXPECT_EQ(m.store()->migrations()[0].name, "later");
  EXPECT_TRUE(TableExists(m, "later"));
}

}  // namespace
}  // namespace cloister
