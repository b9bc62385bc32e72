// cloisterctl operator init|unseal|seal|status against the real cloisterd.
#include <gtest/gtest.h>

#include "tests/integration/appliance_server.h"

namespace cloister {
namespace {

using testing::ApplianceServer;
using testing::RunCloisterctl;

class CloisterctlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }
  testing::TempDir dir_;
  ApplianceServer server_{dir_.File("data")};
};

TEST_F(CloisterctlTest, StatusExitCodesFollowTheSealState) {
  auto r = RunCloisterctl(server_, {"operator", "status"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.out.find("Initialized:  false"), std::string::npos) << r.out;
}

TEST_F(CloisterctlTest, ShamirInitThenUnsealShareByShare) {
  auto init = RunCloisterctl(server_, {"--json", "operator", "init", "--shares", "3", "--threshold", "2"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const Json j = Json::parse(init.out);
  const std::string token = j["initial_admin_token"];

  // A share typed at the prompt (standard input), then one as an argument.
  auto first = RunCloisterctl(server_, {"operator", "unseal"}, "", j["shares"][0].get<std::string>() + "\n");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Progress:     1/2"), std::string::npos) << first.out;

  std::string typo = j["shares"][1];
  typo[30] = typo[30] == '1' ? '2' : '1';
  auto bad = RunCloisterctl(server_, {"operator", "unseal", typo});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("invalid_share: unseal share fails its checksum"), std::string::npos) << bad.err;

  auto second = RunCloisterctl(server_, {"operator", "unseal", j["shares"][1]});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("Sealed:       false"), std::string::npos) << second.out;
  EXPECT_EQ(RunCloisterctl(server_, {"operator", "status"}).exit_code, 0);

  EXPECT_EQ(RunCloisterctl(server_, {"operator", "seal"}).exit_code, 1);  // no token
  auto sealed = RunCloisterctl(server_, {"operator", "seal"}, token);
  EXPECT_EQ(sealed.exit_code, 0) << sealed.err;
  EXPECT_EQ(RunCloisterctl(server_, {"operator", "status"}).exit_code, 2);
}

TEST_F(CloisterctlTest, KeyFileInitPrintsGuidanceAndUnsealsWithoutAShare) {
  auto init = RunCloisterctl(server_, {"operator", "init", "--key-file", dir_.File("k.key"), "--name", "lab-1"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("Initial admin token: cloister_"), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("Appliance:           lab-1"), std::string::npos);
  auto unseal = RunCloisterctl(server_, {"operator", "unseal"});
  EXPECT_EQ(unseal.exit_code, 0) << unseal.err;
  EXPECT_EQ(RunCloisterctl(server_, {"operator", "status"}).exit_code, 0);
}

TEST_F(CloisterctlTest, AuditCommandsListExportVerifyAndPrintTheKey) {
  auto init = RunCloisterctl(server_, {"--json", "operator", "init", "--key-file", dir_.File("k.key")});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string token = Json::parse(init.out)["initial_admin_token"];
  ASSERT_EQ(RunCloisterctl(server_, {"operator", "unseal"}).exit_code, 0);

  auto events = RunCloisterctl(server_, {"audit", "events", "--action", "system.init"}, token);
  ASSERT_EQ(events.exit_code, 0) << events.err;
  EXPECT_NE(events.out.find("0  "), std::string::npos);
  EXPECT_NE(events.out.find("system.init"), std::string::npos) << events.out;

  auto key = RunCloisterctl(server_, {"audit", "public-key"}, token);
  ASSERT_EQ(key.exit_code, 0);
  EXPECT_NE(key.out.find("/audit+"), std::string::npos) << key.out;

  auto exported = RunCloisterctl(server_, {"audit", "export", "-o", dir_.File("e.tar.gz")}, token);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  testing::WriteText(dir_.File("vkey"), key.out);
  const std::string verify = std::string(CLOISTER_VERIFY_PATH) + " bundle " + dir_.File("e.tar.gz") + " --key " +
                             dir_.File("vkey") + " > /dev/null";
  EXPECT_EQ(std::system(verify.c_str()), 0);

  auto check = RunCloisterctl(server_, {"audit", "verify"}, token);
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("Ledger verified"), std::string::npos) << check.out;
  EXPECT_NE(RunCloisterctl(server_, {"audit", "events"}).exit_code, 0);  // no token
}

// A value stored through the API that a terminal would act on: clear the
// screen, return the cursor over the line, start a forged line, and the
// 8-bit CSI as a C1 control.
constexpr char kHostile[] = "\x1b[2J\rREVOKED\nforged line\xC2\x9B" "31m";

// True when `text` holds a raw ESC, CR, C1 CSI, or a line that `forged line` starts.
::testing::AssertionResult ActsOnTheTerminal(const std::string& text) {
  if (text.find('\x1b') != std::string::npos) return ::testing::AssertionSuccess() << "raw ESC in:\n" << text;
  if (text.find('\r') != std::string::npos) return ::testing::AssertionSuccess() << "raw CR in:\n" << text;
  if (text.find("\xC2\x9B") != std::string::npos) return ::testing::AssertionSuccess() << "raw CSI in:\n" << text;
  if (text.rfind("forged line", 0) == 0 || text.find("\nforged line") != std::string::npos) {
    return ::testing::AssertionSuccess() << "forged line in:\n" << text;
  }
  return ::testing::AssertionFailure() << "inert:\n" << text;
}

TEST_F(CloisterctlTest, StoredValuesCannotMoveTheCursorOrForgeLines) {
  auto init = RunCloisterctl(server_, {"--json", "operator", "init", "--key-file", dir_.File("k.key")});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string token = Json::parse(init.out)["initial_admin_token"];
  ASSERT_EQ(RunCloisterctl(server_, {"operator", "unseal"}).exit_code, 0);

  // Stored through the API: a variable's value.
  auto set = RunCloisterctl(server_, {"env", "var", "set", "dev", "GREETING", kHostile}, token);
  ASSERT_EQ(set.exit_code, 0) << set.err;

  auto vars = RunCloisterctl(server_, {"env", "var", "list", "dev"}, token);
  ASSERT_EQ(vars.exit_code, 0) << vars.err;
  EXPECT_FALSE(ActsOnTheTerminal(vars.out));
  EXPECT_NE(vars.out.find("GREETING = \\x1b[2J\\x0dREVOKED\\x0aforged line\\u{9b}31m"), std::string::npos)
      << vars.out;

  // The audit trail records the change; the server's error messages quote what they were given.
  auto events = RunCloisterctl(server_, {"audit", "events"}, token);
  ASSERT_EQ(events.exit_code, 0) << events.err;
  EXPECT_FALSE(ActsOnTheTerminal(events.out));
  auto refused = RunCloisterctl(server_, {"token", "create", "--name", "probe", "--env", kHostile}, token);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_FALSE(ActsOnTheTerminal(refused.err));
  EXPECT_NE(refused.err.find("\\x1b[2J"), std::string::npos) << refused.err;

  // --json stays valid JSON, ASCII only, and keeps the value exactly.
  auto json = RunCloisterctl(server_, {"--json", "env", "var", "list", "dev"}, token);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_FALSE(ActsOnTheTerminal(json.out));
  for (const char c : json.out) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << json.out;
  const Json listed = Json::parse(json.out);
  bool found = false;
  for (const auto& v : listed["items"]) found = found || v["value"] == kHostile;
  EXPECT_TRUE(found) << json.out;
}

TEST_F(CloisterctlTest, ConflictingInitFlagsAreRefusedLocally) {
  auto r = RunCloisterctl(server_, {"operator", "init", "--shares", "3", "--key-file", "/tmp/x.key"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(RunCloisterctl(server_, {"operator", "status"}).exit_code, 2);
}

TEST_F(CloisterctlTest, UntrustedCertificateIsRefused) {
  testing::TempDir other;
  ApplianceServer impostor(other.File("data"));
  ASSERT_TRUE(impostor.Start());
  // Our CA file does not vouch for the impostor's certificate.
  ApiClient client([&] {
    ClientOptions o = server_.Client();
    o.address = impostor.address();
    return o;
  }());
  auto r = client.Get("/v1/sys/health");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace cloister
