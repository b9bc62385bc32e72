// Who may call what, over HTTPS: every route of the permission table walked
// without credentials and without roles, roles per environment, client
// certificates, and the cloisterctl user, role and session commands.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "appliance/api/permissions.h"
#include "tests/integration/identity_test_support.h"

namespace cloister {
namespace {

using testing::RunCloisterctl;

class AccessTest : public testing::IdentityFixture {};

// A path for a route pattern: every {parameter} filled in.
std::string Fill(std::string pattern) {
  for (size_t open; (open = pattern.find('{')) != std::string::npos;) {
    pattern.replace(open, pattern.find('}', open) - open + 1, "x");
  }
  return pattern;
}

TEST_F(AccessTest, EveryRouteRefusesNoCredentialsAndMissingRoles) {
  // Every route once with a bogus token: more than the default per-address
  // limit on failed authentications.
  Boot(std::string(kDefaultAuth) + "  failed_auth:\n    max_failures: 100000\n");
  MakeUser("nemo", {}, "nemo's long password");  // a user with no role at all
  const std::string nemo = Call("POST", "/v1/auth/login",
                                {{"username", "nemo"}, {"password", "nemo's long password"}, {"return_token", true}})
                               .json()["token"];
  ASSERT_FALSE(nemo.empty());
  size_t walked = 0;
  for (const PermissionEntry& e : PermissionTable()) {
    if (e.needs == "public") continue;
    const std::string route = e.method + " " + e.pattern;
    const ApiResponse anonymous = Call(e.method, Fill(e.pattern));
    EXPECT_EQ(anonymous.status, 401) << route;
    EXPECT_EQ(Call(e.method, Fill(e.pattern), nullptr, "cloister_" + std::string(43, 'x')).status, 401) << route;
    if (e.needs == "authenticated") continue;  // any user may: the handler decides (own tokens, own session)
    const ApiResponse forbidden = Call(e.method, Fill(e.pattern), nullptr, nemo);
    EXPECT_EQ(forbidden.status, 403) << route;
    EXPECT_EQ(forbidden.json()["error"]["code"], "forbidden") << route;
    EXPECT_FALSE(forbidden.json()["error"]["details"]["required_roles"].empty()) << route;
    ++walked;
  }
  EXPECT_GE(walked, 20u);
  EXPECT_EQ(Events("action=auth.authorize&outcome=denied").size(), walked);
}

TEST_F(AccessTest, RolesAreBoundPerEnvironment) {
  Boot();
  MakeUser("jo", {"author@dev"}, "jo's long password");
  const std::string jo = Call("POST", "/v1/auth/login",
                              {{"username", "jo"}, {"password", "jo's long password"}, {"return_token", true}})
                             .json()["token"];
  EXPECT_EQ(Call("GET", "/v1/environments", nullptr, jo).status, 200);  // a role in any environment lists them
  EXPECT_EQ(Call("GET", "/metrics", nullptr, jo).status, 403);

  // An admin of one environment is not an admin of the appliance.
  ASSERT_EQ(Call("POST", "/v1/users/jo/roles", {{"role", "admin"}, {"environment", "dev"}}, admin_token_).status, 201);
  const ApiResponse not_everywhere = Call("GET", "/v1/users", nullptr, jo);
  EXPECT_EQ(not_everywhere.status, 403);
  EXPECT_NE(not_everywhere.json()["error"]["message"].get<std::string>().find("every environment"), std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/users/jo/roles", {{"role", "admin"}, {"environment", "*"}}, jo).status, 403);

  EXPECT_EQ(Call("POST", "/v1/users/jo/roles", {{"role", "admin"}, {"environment", "dev"}}, admin_token_).status, 409);
  EXPECT_EQ(Call("POST", "/v1/users/jo/roles", {{"role", "owner"}, {"environment", "dev"}}, admin_token_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/users/jo/roles", {{"role", "author"}, {"environment", "qa"}}, admin_token_).status, 400);
  EXPECT_EQ(Call("DELETE", "/v1/users/jo/roles/auditor/prod", nullptr, admin_token_).status, 404);
  EXPECT_EQ(Call("POST", "/v1/users/nobody/roles", {{"role", "author"}}, admin_token_).status, 404);
  const Json roles = Call("GET", "/v1/users/jo/roles", nullptr, admin_token_).json()["roles"];
  EXPECT_EQ(roles, Json::parse(R"([{"role":"admin","environment":"dev"},{"role":"author","environment":"dev"}])"));

  // The last admin on * keeps that binding.
  const ApiResponse last = Call("DELETE", "/v1/users/admin/roles/admin/*", nullptr, admin_token_);
  EXPECT_EQ(last.status, 412);
  EXPECT_EQ(last.json()["error"]["code"], "last_admin");
}

// Writes a CA and a client certificate signed by it with the openssl tool.
void MakeCertificates(const std::string& dir, const std::string& ca, const std::string& client_subject,
                      const std::string& name) {
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
  const std::string quiet = " 2>/dev/null";
  if (!std::filesystem::exists(dir + "/" + ca + ".pem")) {
    ASSERT_EQ(std::system(("openssl req -x509" + key + "-keyout " + dir + "/" + ca + ".key -out " + dir + "/" + ca +
                           ".pem -days 2 -subj '/CN=" + ca + "'" + quiet).c_str()), 0);
  }
  ASSERT_EQ(std::system(("openssl req" + key + "-keyout " + dir + "/" + name + ".key -out " + dir + "/" + name +
                         ".csr -subj '" + client_subject + "'" + quiet).c_str()), 0);
  ASSERT_EQ(std::system(("openssl x509 -req -in " + dir + "/" + name + ".csr -CA " + dir + "/" + ca + ".pem -CAkey " +
                         dir + "/" + ca + ".key -CAcreateserial -out " + dir + "/" + name + ".pem -days 2" + quiet)
                            .c_str()), 0);
}

TEST_F(AccessTest, AClientCertificateMappedToAUserLogsThemIn) {
  const std::string d = dir_.path();
  MakeCertificates(d, "site-ca", "/O=Example/CN=kim", "kim");
  MakeCertificates(d, "site-ca", "/O=Example/CN=stranger", "stranger");
  MakeCertificates(d, "other-ca", "/O=Example/CN=kim", "forged-kim");
  Boot("  client_ca_file: " + d + "/site-ca.pem\n");
  MakeUser("kim", {"operator@*"}, "kim's long password");
  ASSERT_EQ(Call("PUT", "/v1/users/kim/certificate", {{"subject", "CN=kim,O=Example"}}, admin_token_).status, 200);

  auto login_with = [&](const std::string& name) {
    ClientOptions options = server_.Client();
    options.client_cert = d + "/" + name + ".pem";
    options.client_key = d + "/" + name + ".key";
    ApiClient client(options);
    return client.Send("POST", "/v1/auth/login", "{\"return_token\": true}");
  };
  auto kim = login_with("kim");
  ASSERT_TRUE(kim.ok()) << kim.status().ToString();
  ASSERT_EQ(kim->status, 200) << kim->body;
  EXPECT_EQ(kim->json()["user"]["name"], "kim");
  EXPECT_EQ(Call("GET", "/metrics", nullptr, kim->json()["token"]).status, 200);

  auto stranger = login_with("stranger");  // a valid certificate, but no user has its subject
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(stranger->status, 401);
  auto forged = login_with("forged-kim");  // kim's subject from a CA the appliance does not trust
  EXPECT_TRUE(!forged.ok() || forged->status != 200) << "a certificate from an untrusted CA logged in";
  EXPECT_EQ(Call("POST", "/v1/auth/login", {{"return_token", true}}).status, 400);  // no certificate, no password
  EXPECT_EQ(Login("kim", "kim's long password").response.status, 200);              // passwords still work

  const Json logins = Events("action=auth.login");
  bool by_certificate = false;
  for (const auto& e : logins) by_certificate |= e["outcome"] == "success" && e["details"]["method"] == "certificate";
  EXPECT_TRUE(by_certificate);
  EXPECT_EQ(Events("action=auth.login&outcome=denied").back()["details"]["certificate_subject"], "CN=stranger,O=Example");
}

TEST_F(AccessTest, CloisterctlManagesUsersRolesAndItsOwnSession) {
  Boot();
  const std::string home = dir_.File("home");
  const std::vector<std::string> env = {"HOME=" + home};
  auto run = [&](const std::vector<std::string>& args, const std::string& token = "", const std::string& in = "") {
    return RunCloisterctl(server_, args, token, in, env);
  };
  auto create = run({"user", "create", "lena", "--role", "author@dev", "--role", "auditor"}, admin_token_);
  ASSERT_EQ(create.exit_code, 0) << create.err;
  const size_t at = create.out.find("Temporary password: ");
  ASSERT_NE(at, std::string::npos) << create.out;
  const std::string temporary = create.out.substr(at + 20, create.out.find('\n', at) - at - 20);

  auto login = run({"login", "lena"}, "", temporary + "\n");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(login.out.find("cloisterctl passwd"), std::string::npos) << login.out;
  const std::string stored = home + "/.config/cloister/token";
  struct stat st {};
  ASSERT_EQ(stat(stored.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((home + "/.config/cloister").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  EXPECT_EQ(run({"user", "list"}).exit_code, 1);  // the session rides along, but must change its password first
  auto passwd = run({"passwd"}, "", temporary + "\nlena's new long password\nlena's new long password\n");
  ASSERT_EQ(passwd.exit_code, 0) << passwd.err;
  auto whoami = run({"whoami"});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.err;
  EXPECT_NE(whoami.out.find("User:    lena"), std::string::npos) << whoami.out;
  EXPECT_NE(whoami.out.find("author@dev"), std::string::npos) << whoami.out;

  EXPECT_EQ(run({"role", "grant", "lena", "approver", "--env", "prod"}, admin_token_).exit_code, 0);
  auto roles = run({"role", "list", "lena"}, admin_token_);
  EXPECT_NE(roles.out.find("approver@prod"), std::string::npos) << roles.out;
  EXPECT_EQ(run({"role", "revoke", "lena", "approver", "--env", "prod"}, admin_token_).exit_code, 0);
  EXPECT_EQ(run({"role", "list"}, admin_token_).out.find("approver@prod"), std::string::npos);

  auto reset = run({"user", "reset-password", "lena"}, admin_token_);
  EXPECT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_EQ(run({"whoami"}).exit_code, 1);  // the reset ended lena's session
  EXPECT_EQ(run({"user", "disable", "lena"}, admin_token_).exit_code, 0);
  auto list = run({"user", "list"}, admin_token_);
  EXPECT_NE(list.out.find("lena  disabled"), std::string::npos) << list.out;
  EXPECT_EQ(run({"user", "enable", "lena"}, admin_token_).exit_code, 0);

  // The admin logs in, checks lockouts, and logs out: the saved session goes.
  ASSERT_EQ(run({"login", "admin"}, "", admin_password_ + "\n").exit_code, 0);
  EXPECT_EQ(run({"lockout", "list"}).exit_code, 0);
  auto logout = run({"logout"});
  EXPECT_EQ(logout.exit_code, 0) << logout.err;
  EXPECT_FALSE(std::filesystem::exists(stored));
  EXPECT_EQ(run({"whoami"}).exit_code, 1);
}

}  // namespace
}  // namespace cloister
