// Per-environment settings and secrets on a real SQLCipher database through
// the real writer: a stored value that does not decode is corruption naming
// its table and row, never empty settings or a guessed key.
#include "governance/environments/environment_config.h"

#include <gtest/gtest.h>

#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

class EnvironmentConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::OpenTestStore(path_, key_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::move(store->writer);
    reads_ = std::move(store->reads);
  }
  // Direct SQL on the database, as someone holding the key could do.
  void Damage(const std::string& sql) {
    auto conn = Connection::Open(path_, key_, ConnectionOptions{});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE((*conn)->Exec(sql).ok()) << sql;
  }
  Result<EnvironmentSettings> Settings(const std::string& env) {
    return reads_->Read<EnvironmentSettings>([&](ReadView db) { return GetSettings(db, env); });
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("environments.db");
  SecureBytes key_{32};  // all zero: the key is not what is under test
  testing::ManualClock clock_;
  SystemRandom random_;
  std::unique_ptr<GroupCommitWriter> writer_;
  std::unique_ptr<ReadPool> reads_;
};

TEST_F(EnvironmentConfigTest, SettingsReadBackAsWrittenAndAreEmptyWhenNoneAreStored) {
  EXPECT_TRUE(Settings("prod")->egress_allow.empty());
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) {
    return SetSettings(tx, "prod", {{"*.internal"}, {"models.internal"}}, "usr_1", clock_);
  }).ok());
  auto settings = Settings("prod");
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  EXPECT_EQ(settings->egress_allow, std::vector<std::string>{"*.internal"});
  EXPECT_EQ(settings->model_endpoints, std::vector<std::string>{"models.internal"});
}

TEST_F(EnvironmentConfigTest, DamagedSettingsAreCorruptionNamingTheEnvironmentNotAnEmptyAllowList) {
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) {
    return SetSettings(tx, "prod", {{"*.internal"}, {}}, "usr_1", clock_);
  }).ok());
  for (const char* damaged : {"'[\"*.internal\"'", "'{\"hosts\": []}'", "'[\"*.internal\", 7]'"}) {
    Damage(std::string("UPDATE environment_settings SET egress_allow = ") + damaged + " WHERE environment = 'prod'");
    auto settings = Settings("prod");
    ASSERT_FALSE(settings.ok()) << damaged;
    EXPECT_EQ(settings.status().code(), StatusCode::kCorruption) << damaged;
    EXPECT_NE(settings.status().message().find("environment_settings row prod: egress_allow is not"), std::string::npos)
        << settings.status().message();
  }
}

TEST_F(EnvironmentConfigTest, ASecretsKeyOfTheWrongSizeIsCorruptionNamingTheKey) {
  ASSERT_TRUE(writer_->Write([&](Transaction& tx) {
    return SetSecret(tx, "prod", "API_KEY", "s3cret", "usr_1", clock_, random_);
  }).ok());
  auto revealed = reads_->Read<std::string>([](ReadView db) { return RevealSecret(db, "prod", "API_KEY"); });
  ASSERT_TRUE(revealed.ok()) << revealed.status().ToString();
  EXPECT_EQ(*revealed, "s3cret");
  Damage("UPDATE appliance_keys SET material = zeroblob(16) WHERE name = 'environment_secrets_key'");
  revealed = reads_->Read<std::string>([](ReadView db) { return RevealSecret(db, "prod", "API_KEY"); });
  ASSERT_FALSE(revealed.ok());
  EXPECT_EQ(revealed.status().code(), StatusCode::kCorruption);
  EXPECT_NE(revealed.status().message().find("appliance_keys row environment_secrets_key: material is 16 bytes, not 32"),
            std::string::npos)
      << revealed.status().message();
}

}  // namespace
}  // namespace cloister
