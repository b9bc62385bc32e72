// An appliance whose audit ledger cannot be written does not unseal: neither
// with its key file at start nor on request. Someone holding the key file
// makes the database refuse new audit events (a trigger), as a failing disk
// or a damaged file would.
#include <gtest/gtest.h>

#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

class UnsealFailClosedTest : public IdentityFixture {
 protected:
  void SetLedgerWritable(bool writable) {
    auto db = OpenDatabaseWithKeyFile(server_.data_dir(), dir_.File("unseal.key"));
    ASSERT_NE(db, nullptr);
    const Status st = writable ? db->Exec("DROP TRIGGER refuse_audit_events")
                               : db->Exec(
                                     "CREATE TRIGGER refuse_audit_events BEFORE INSERT ON audit_events "
                                     "BEGIN SELECT RAISE(ABORT, 'the audit ledger refuses writes'); END");
    ASSERT_TRUE(st.ok()) << st.message();
  }
  bool Sealed() { return Call("GET", "/v1/sys/seal-status").json().value("sealed", false); }
};

TEST_F(UnsealFailClosedTest, UnsealFailsClosedWhenTheUnsealEventCannotBeRecorded) {
  Boot();
  ASSERT_EQ(server_.Stop(), 0);
  SetLedgerWritable(false);

  // At start: the automatic unseal with the key file is refused and logged.
  ASSERT_TRUE(server_.Start());
  EXPECT_TRUE(Sealed()) << "cloisterd unsealed although the unseal could not be recorded";
  const std::string console = server_.console_log();
  EXPECT_NE(console.find("cloisterd stays sealed"), std::string::npos) << console;
  EXPECT_NE(console.find("audit_unavailable"), std::string::npos) << console;
  EXPECT_EQ(Call("GET", "/v1/auth/tokens", nullptr, admin_token_).status, 503);

  // On request: 503 with a code a script can test, still sealed.
  const ApiResponse refused = Call("POST", "/v1/sys/unseal");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.json()["error"]["code"], "audit_unavailable") << refused.body;
  EXPECT_NE(refused.json()["error"]["message"].get<std::string>().find("stays sealed"), std::string::npos);
  EXPECT_TRUE(Sealed());
  EXPECT_EQ(Call("GET", "/v1/auth/tokens", nullptr, admin_token_).status, 503);

  // Once the ledger takes writes again (sealed, cloisterd holds the database
  // closed), the appliance unseals and its unseal event counts both refused
  // attempts.
  SetLedgerWritable(true);
  ASSERT_EQ(Call("POST", "/v1/sys/unseal").status, 200);
  ASSERT_FALSE(Sealed());
  const Json unseals = Events("action=system.unseal");
  ASSERT_EQ(unseals.size(), 2u) << unseals.dump();  // init's unseal and this one
  EXPECT_EQ(unseals[1]["details"]["failure_reasons"], Json::array({"audit_unavailable", "audit_unavailable"}))
      << unseals.dump();
}

}  // namespace
}  // namespace cloister::testing
