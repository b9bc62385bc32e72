// A database writer that cannot commit shows in /v1/sys/health until it
// commits again. Someone holding the key file takes the database's write
// lock and keeps it past cloisterd's busy timeout, as a stuck maintenance
// shell would: cloisterd's next batch cannot begin, so every change in it is
// refused with 503.
#include <gtest/gtest.h>

#include "appliance/core/clock.h"
#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

class WriterFaultsTest : public IdentityFixture {
 protected:
  Json Health(int* status) {
    const ApiResponse r = Call("GET", "/v1/sys/health");
    *status = r.status;
    return r.json();
  }
};

TEST_F(WriterFaultsTest, HealthReportsAFailingWriterUntilACommitSucceeds) {
  Boot();
  int status = 0;
  Json health = Health(&status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(health["writer"], Json({{"state", "ok"}})) << health.dump();
  for (const char* field : {"initialized", "sealed", "version", "uptime_seconds", "server_time", "seal_type"}) {
    EXPECT_TRUE(health.contains(field)) << field << " missing from " << health.dump();
  }

  auto db = OpenDatabaseWithKeyFile(server_.data_dir(), dir_.File("unseal.key"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").ok());
  const ApiResponse refused = Call("POST", "/v1/auth/tokens", {{"name", "while locked"}}, admin_token_);
  EXPECT_EQ(refused.status, 503) << refused.body;

  health = Health(&status);
  EXPECT_EQ(status, 200) << "a failing writer is reported, not a reason to leave service";
  const Json& writer = health["writer"];
  EXPECT_EQ(writer["state"], "failing") << health.dump();
  EXPECT_GE(writer.value("failed_commits", 0), 1) << health.dump();
  EXPECT_NE(writer.value("error", "").find("locked"), std::string::npos) << health.dump();
  EXPECT_TRUE(ParseTimestamp(writer.value("since", "")).has_value()) << health.dump();
  EXPECT_TRUE(ParseTimestamp(writer.value("last_failure", "")).has_value()) << health.dump();

  ASSERT_TRUE(db->Exec("ROLLBACK").ok());
  db.reset();
  const ApiResponse created = Call("POST", "/v1/auth/tokens", {{"name", "after"}}, admin_token_);
  EXPECT_EQ(created.status, 201) << created.body;
  health = Health(&status);
  EXPECT_EQ(health["writer"], Json({{"state", "ok"}})) << health.dump();
}

}  // namespace
}  // namespace cloister::testing
