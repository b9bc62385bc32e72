// What a script relies on from cloisterctl and the API: empty listings say
// so on stderr with exit 0; a promotion that ends blocked exits 3; a denying
// what-if exits 1; unknown names are not_found; ids by unique prefix, and an
// ambiguous prefix refused with its candidates; user create of a taken name;
// the 405 status line; env settings and pipeline list.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

constexpr const char* kPassword = "correct horse battery staple";

const char* kDefinition = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: nightly-report
  description: Builds the nightly report.
  owner: finance-ops
  data_classification: internal
trigger:
  type: manual
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api/report
    headers:
      Authorization: "Bearer ${secrets.erp_token}"
)";

// The response head of one raw HTTPS request (what ApiClient hides).
std::string RawStatusLine(uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) return "";
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::string out;
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (int n; out.find("\r\n") == std::string::npos && (n = SSL_read(ssl, buf, sizeof buf)) > 0;) {
      out.append(buf, static_cast<size_t>(n));
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return out.substr(0, out.find("\r\n"));
}

class CliBehaviourTest : public IdentityFixture {
 protected:
  void SetUp() override { Boot(); }
  CommandResult Ctl(const std::vector<std::string>& args, const std::string& token = "") {
    return RunCloisterctl(server_, args, token.empty() ? admin_token_ : token);
  }
  std::string TokenFor(const std::string& user) {
    const ApiResponse r = Call("POST", "/v1/auth/login", {{"username", user}, {"password", kPassword}, {"return_token", true}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().value("token", "");
  }
  // nightly-report saved in dev by an author, and its version id.
  std::string SaveAutomation() {
    MakeUser("alice", {"author@dev"}, kPassword);
    const ApiResponse r =
        Call("PUT", "/v1/automations/nightly-report", {{"source", kDefinition}}, TokenFor("alice"));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("version", "");
  }
};

TEST_F(CliBehaviourTest, EmptyListingsSaySoOnStderrAndExitZero) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"status"}, "no promotions match"},
      {{"status", "--state", "deployed"}, "no promotions match"},
      {{"env", "var", "list", "test"}, "no variables match"},
      {{"env", "secret", "list", "test"}, "no secrets match"},
      {{"env", "live", "prod"}, "no live versions match"},
      {{"env", "history", "prod"}, "no deployments match"},
      {{"automation", "list"}, "no automations match"},
      {{"lockout", "list"}, "no lockouts match"},
      {{"backup", "list"}, "no backups match"},
      {{"audit", "events", "--action", "no.such.action"}, "no events match"},
      {{"policy", "binding", "list"}, "no policy bindings match"},
  };
  for (const Case& c : cases) {
    const CommandResult r = Ctl(c.args);
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    EXPECT_EQ(r.exit_code, 0) << line << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << line << "stderr: " << r.err;
    EXPECT_EQ(r.out.find(c.says), std::string::npos) << line << "stdout: " << r.out;
  }
  // A listing with rows says nothing of the kind.
  const CommandResult users = Ctl({"user", "list"});
  EXPECT_EQ(users.exit_code, 0);
  EXPECT_EQ(users.err, "");
}

TEST_F(CliBehaviourTest, PromoteThatEndsBlockedExitsThree) {
  SaveAutomation();
  MakeUser("olga", {"operator@*"}, kPassword);
  // Nothing is configured in test: the promotion is created, and blocked.
  CommandResult r = Ctl({"promote", "nightly-report", "--to", "test"}, TokenFor("olga"));
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("state      blocked"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("is blocked"), std::string::npos) << r.err;
  r = Ctl({"--json", "promote", "nightly-report", "--to", "test"}, TokenFor("olga"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(Json::parse(r.out)["state"], "blocked");
  // Refused outright (no such automation) is an error: 1.
  r = Ctl({"promote", "no-such-automation", "--to", "test"}, TokenFor("olga"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

TEST_F(CliBehaviourTest, PolicyEvalExitsOneOnDenyAndUnknownNamesAreNotFound) {
  const std::string policy = dir_.File("p.yaml"), binding = dir_.File("b.yaml"), input = dir_.File("in.json");
  WriteText(policy, R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: no-token-posts
  description: No tokens through the API.
hook: api.request
rules:
  - id: no-api-tokens
    description: API tokens are not created through the API.
    deny: request.method == "POST" && request.route == "/v1/auth/tokens"
    message: "no tokens"
)");
  WriteText(binding, "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata:\n  name: tokens\nhook: api.request\n"
                     "policies: [no-token-posts]\nenvironments: [\"*\"]\nlevel: hard_mandatory\n");
  WriteText(input, R"({"request": {"method": "POST", "route": "/v1/auth/tokens", "path": "/v1/auth/tokens"},
                      "principal": {"user": "erin"}})");
  CommandResult r = Ctl({"policy", "eval", "--hook", "api.request", "--env", "dev", "--input", input, "--with", policy,
                         "--with", binding});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("Outcome: deny"), std::string::npos) << r.out;
  r = Ctl({"--json", "policy", "eval", "--hook", "api.request", "--env", "dev", "--input", input, "--with", policy,
           "--with", binding});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  WriteText(input, R"({"request": {"method": "GET", "route": "/v1/auth/tokens", "path": "/v1/auth/tokens"},
                      "principal": {"user": "erin"}})");
  r = Ctl({"policy", "eval", "--hook", "api.request", "--env", "dev", "--input", input, "--with", policy, "--with",
           binding});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"policy", "history", "nosuchthing"}, {"policy", "binding", "history", "nosuchthing"},
        {"policy", "show", "nosuchthing"}, {"status", "prm-0123456789abcdef"}, {"user", "disable", "nosuchuser"}}) {
    r = Ctl(args);
    EXPECT_NE(r.exit_code, 0) << args[1];
    EXPECT_NE(r.err.find("not_found"), std::string::npos) << args[1] << ": " << r.err;
  }
  // A stored policy has a history.
  ASSERT_EQ(Ctl({"policy", "put", policy}).exit_code, 0);
  r = Ctl({"policy", "history", "no-token-posts"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("v1"), std::string::npos) << r.out;
}

TEST_F(CliBehaviourTest, IdsAreAcceptedByAUniquePrefixAndAnAmbiguousOneIsRefused) {
  const std::string version = SaveAutomation();
  MakeUser("olga", {"operator@*"}, kPassword);
  const std::string olga = TokenFor("olga");
  const ApiResponse p = Call("POST", "/v1/promotions", {{"automation", "nightly-report"}, {"to", "test"}}, olga);
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string id = p.json()["id"];
  ASSERT_GT(id.size(), 12u);

  // Promotion, version and token ids by 8+ characters, through API and CLI.
  ApiResponse got = Call("GET", "/v1/promotions/" + id.substr(0, 12), nullptr, admin_token_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json()["id"], id);
  CommandResult r = Ctl({"status", id.substr(0, 10)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Promotion " + id), std::string::npos) << r.out;
  r = Ctl({"automation", "show", "nightly-report", "--version", version.substr(0, 8)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Ctl({"automation", "diff", "nightly-report", version.substr(0, 8), version.substr(0, 10)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const ApiResponse promoted = Call("POST", "/v1/promotions",
                                    {{"automation", "nightly-report"}, {"to", "test"}, {"version", version.substr(0, 9)}}, olga);
  EXPECT_EQ(promoted.status, 201) << promoted.body;
  EXPECT_EQ(promoted.json()["version"], version);
  // Seven characters are too few to be a prefix.
  r = Ctl({"status", id.substr(0, 7)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;

  const ApiResponse made = Call("POST", "/v1/auth/tokens", {{"name", "ci"}}, olga);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string token_id = made.json()["id"];
  // Another user cannot reach olga's token by prefix either.
  MakeUser("mallory", {"auditor@*"}, kPassword);
  r = Ctl({"token", "revoke", token_id.substr(0, 10)}, TokenFor("mallory"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  r = Ctl({"token", "revoke", token_id.substr(0, 10)}, olga);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Revoked"), std::string::npos) << r.out;

  // A second promotion whose id shares the first 12 characters: the prefix
  // is ambiguous and the error lists both.
  std::string twin = id;
  twin.back() = twin.back() == '0' ? '1' : '0';
  ASSERT_EQ(server_.Stop(), 0);
  {
    auto conn = OpenDatabaseWithKeyFile(dir_.File("data"), dir_.File("unseal.key"));
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->Exec("CREATE TEMP TABLE twin AS SELECT * FROM promotions WHERE id = '" + id +
                           "'; UPDATE twin SET id = '" + twin + "'; INSERT INTO promotions SELECT * FROM twin;")
                    .ok());
  }
  ASSERT_TRUE(server_.Start());  // unseals itself with the key file
  got = Call("GET", "/v1/promotions/" + id.substr(0, 12), nullptr, admin_token_);
  EXPECT_EQ(got.status, 409) << got.body;
  EXPECT_EQ(got.json()["error"]["code"], "ambiguous_id") << got.body;
  EXPECT_EQ(got.json()["error"]["details"]["candidates"].size(), 2u) << got.body;
  r = Ctl({"status", id.substr(0, 12)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ambiguous_id"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(id), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(twin), std::string::npos) << r.err;
  // The whole id still names exactly one.
  EXPECT_EQ(Call("GET", "/v1/promotions/" + id, nullptr, admin_token_).status, 200);
  // Pattern characters are not prefixes.
  EXPECT_EQ(Call("GET", "/v1/promotions/prm-%25%25%25%25%25%25", nullptr, admin_token_).status, 404);
  EXPECT_EQ(Call("GET", "/v1/promotions/prm-____________", nullptr, admin_token_).status, 404);
}

TEST_F(CliBehaviourTest, CreatingAUserWithATakenNameSaysTheNameExists) {
  CommandResult r = Ctl({"user", "create", "dana", "--role", "author@dev"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl({"user", "create", "DANA"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already_exists"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a user named \"DANA\" already exists"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("certificate"), std::string::npos) << r.err;
  // A taken certificate subject still says so.
  ASSERT_EQ(Ctl({"user", "create", "erin", "--certificate-subject", "CN=erin"}).exit_code, 0);
  r = Ctl({"user", "create", "fred", "--certificate-subject", "CN=erin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("certificate subject"), std::string::npos) << r.err;
}

TEST_F(CliBehaviourTest, MethodNotAllowedHasItsReasonPhrase) {
  EXPECT_EQ(RawStatusLine(server_.port(), "DELETE /v1/sys/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(RawStatusLine(server_.port(), "GET /v1/no-such-route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 404 Not Found");
  EXPECT_EQ(RawStatusLine(server_.port(), "GET /v1/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 401 Unauthorized");
}

TEST_F(CliBehaviourTest, EnvSettingsGetSetAndPipelineList) {
  CommandResult r = Ctl({"env", "settings", "get", "test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("egress_allow     (none)"), std::string::npos) << r.out;
  r = Ctl({"env", "settings", "set", "test", "--egress-allow", "*.internal", "--egress-allow", "erp.example"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl({"env", "settings", "set", "test", "--model-endpoint", "models.internal"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json s = Call("GET", "/v1/environments/test/settings", nullptr, admin_token_).json();
  EXPECT_EQ(s["egress_allow"], Json({"*.internal", "erp.example"})) << s.dump();  // kept
  EXPECT_EQ(s["model_endpoints"], Json({"models.internal"})) << s.dump();
  r = Ctl({"env", "settings", "get", "test"});
  EXPECT_NE(r.out.find("*.internal, erp.example"), std::string::npos) << r.out;
  r = Ctl({"env", "settings", "set", "test", "--clear-egress-allow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Call("GET", "/v1/environments/test/settings", nullptr, admin_token_).json()["egress_allow"], Json::array());
  // Refusals reach the exit code.
  r = Ctl({"env", "settings", "set", "test", "--egress-allow", "http://x/"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  r = Ctl({"env", "settings", "get", "moon"});
  EXPECT_EQ(r.exit_code, 1);
  r = Ctl({"env", "settings", "set", "test"});
  EXPECT_EQ(r.exit_code, 1);

  r = Ctl({"pipeline", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("default  v0  built-in"), std::string::npos) << r.out;
  r = Ctl({"--json", "pipeline", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(Json::parse(r.out)["items"].empty());
}

}  // namespace
}  // namespace cloister::testing
