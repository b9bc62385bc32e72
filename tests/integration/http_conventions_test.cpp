// HTTP conventions and TLS settings of the real cloisterd: error envelope,
// 400/404/405/413/415, request ids, security headers, TLS 1.2+ only, plain
// HTTP only on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "tests/integration/appliance_server.h"

namespace cloister {
namespace {

using testing::ApplianceServer;

class HttpConventionsTest : public ::testing::Test {
 protected:
  // One server for the suite, started by the first test. Done here rather
  // than in SetUpTestSuite so that a server that does not start fails every
  // test instead of skipping them.
  void SetUp() override {
    if (!token_) {
      if (!dir_) dir_ = new testing::TempDir;
      if (!server_) server_ = new ApplianceServer(dir_->File("data"));
      ASSERT_TRUE(server_->Start());
      ApiClient client(server_->Client());
      auto init = client.PostJson("/v1/sys/init", {{"shares", 1}, {"threshold", 1}});
      ASSERT_TRUE(init.ok() && init->status == 200) << (init.ok() ? init->body : init.status().ToString());
      auto unseal = client.PostJson("/v1/sys/unseal", {{"share", init->json()["shares"][0]}});
      ASSERT_TRUE(unseal.ok() && unseal->status == 200);
      token_ = new std::string(init->json()["initial_admin_token"]);
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    delete token_;
  }

  ApiResponse Send(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& content_type = "application/json",
                   const std::map<std::string, std::string>& headers = {}) {
    ApiClient client(server_->Client(*token_));
    auto r = client.Send(method, path, body, content_type, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ApiResponse{};
  }
  static void ExpectEnvelope(const ApiResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    const Json j = r.json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["code"], code) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_TRUE(j["error"]["details"].is_object());
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
  }

  static testing::TempDir* dir_;
  static ApplianceServer* server_;
  static std::string* token_;
};

testing::TempDir* HttpConventionsTest::dir_ = nullptr;
ApplianceServer* HttpConventionsTest::server_ = nullptr;
std::string* HttpConventionsTest::token_ = nullptr;

TEST_F(HttpConventionsTest, MalformedJsonIs400) {
  for (const char* body : {"{", "{\"share\":}", "[]", "{\"share\":\"a\",\"share\":\"b\"}", "\xff\xfe"}) {
    ExpectEnvelope(Send("POST", "/v1/sys/unseal", body), 400, "malformed_json");
  }
}

TEST_F(HttpConventionsTest, UnknownFieldIs400NamingIt) {
  ApiResponse r = Send("POST", "/v1/sys/seal", R"({"force":true})");
  ExpectEnvelope(r, 400, "invalid_argument");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("force"), std::string::npos);
}

TEST_F(HttpConventionsTest, UnknownRouteIs404) {
  ExpectEnvelope(Send("GET", "/v1/nothing/here"), 404, "not_found");
  ExpectEnvelope(Send("GET", "/"), 404, "not_found");
}

TEST_F(HttpConventionsTest, WrongMethodIs405WithAllow) {
  ApiResponse r = Send("DELETE", "/v1/sys/health");
  ExpectEnvelope(r, 405, "method_not_allowed");
  EXPECT_EQ(r.headers["allow"], "GET");
  ExpectEnvelope(Send("GET", "/v1/sys/init"), 405, "method_not_allowed");
}

TEST_F(HttpConventionsTest, BodyOverTheLimitIs413) {
  ApiResponse r = Send("POST", "/v1/sys/unseal", std::string((1 << 20) + 1, ' '));
  ExpectEnvelope(r, 413, "payload_too_large");
  EXPECT_EQ(r.json()["error"]["details"]["limit_bytes"], 1 << 20);
  // The limit is on the body, not the whole request: exactly the limit passes it.
  EXPECT_NE(Send("POST", "/v1/sys/unseal", std::string(1 << 20, ' ')).status, 413);
}

TEST_F(HttpConventionsTest, WrongContentTypeIs415) {
  ExpectEnvelope(Send("POST", "/v1/sys/unseal", "share=abc", "application/x-www-form-urlencoded"), 415,
                 "unsupported_media_type");
  ExpectEnvelope(Send("POST", "/v1/sys/unseal", "{}", "text/plain"), 415, "unsupported_media_type");
}

TEST_F(HttpConventionsTest, RequestIdIsEchoedOrGenerated) {
  EXPECT_EQ(Send("GET", "/v1/sys/health", "", "", {{"X-Request-Id", "audit-trail-7"}}).headers["x-request-id"],
            "audit-trail-7");
  const std::string a = Send("GET", "/v1/sys/health").headers["x-request-id"];
  const std::string b = Send("GET", "/v1/sys/health").headers["x-request-id"];
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_FALSE(Send("GET", "/v1/nope").headers["x-request-id"].empty());
}

TEST_F(HttpConventionsTest, SecurityHeadersOnEveryResponse) {
  for (const ApiResponse& r : {Send("GET", "/v1/sys/health"), Send("GET", "/v1/nope"), Send("GET", "/metrics")}) {
    EXPECT_EQ(r.headers.at("strict-transport-security"), "max-age=63072000");
    EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
    EXPECT_EQ(r.headers.at("cache-control"), "no-store");
    EXPECT_EQ(r.headers.at("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
    EXPECT_EQ(r.headers.at("referrer-policy"), "no-referrer");
  }
}

// Returns the negotiated protocol version, or 0 when the handshake fails.
int Handshake(uint16_t port, int min_version, int max_version, const char* ciphers = nullptr) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);  // let the client offer old protocols
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  if (ciphers) SSL_CTX_set_cipher_list(ctx, ciphers);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int version = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) version = SSL_version(ssl);
    SSL_free(ssl);
  }
  close(fd);
  SSL_CTX_free(ctx);
  return version;
}

TEST_F(HttpConventionsTest, OnlyTls12AndTls13AreAccepted) {
  EXPECT_EQ(Handshake(server_->port(), TLS1_3_VERSION, TLS1_3_VERSION), TLS1_3_VERSION);
  EXPECT_EQ(Handshake(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION), TLS1_2_VERSION);
  EXPECT_EQ(Handshake(server_->port(), TLS1_VERSION, TLS1_1_VERSION), 0);
  EXPECT_EQ(Handshake(server_->port(), TLS1_VERSION, TLS1_VERSION), 0);
}

TEST_F(HttpConventionsTest, WeakTls12CiphersAreRefused) {
  EXPECT_EQ(Handshake(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION, "AES128-SHA:AES256-SHA:DES-CBC3-SHA"), 0);
  EXPECT_EQ(Handshake(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-RSA-AES128-SHA"), 0);
  EXPECT_NE(Handshake(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384"), 0);
}

TEST(PlainHttpTest, ServesOnLoopbackWhenEnabled) {
  testing::TempDir dir;
  testing::WriteText(dir.File("cloister.yaml"),
                     "listener:\n  plain_http:\n    enabled: true\n    address: 127.0.0.1\n    port: 0\n");
  ApplianceServer server(dir.File("data"), dir.File("cloister.yaml"));
  ASSERT_TRUE(server.Start());
  ASSERT_NE(server.plain_port(), 0);
  ClientOptions o;
  o.address = "http://127.0.0.1:" + std::to_string(server.plain_port());
  ApiClient client(o);
  auto r = client.Get("/v1/sys/health");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 501);
  EXPECT_EQ(r->headers.count("strict-transport-security"), 0u);  // not on plain HTTP
}

TEST(PlainHttpTest, RefusesANonLoopbackAddressNamingTheKeyAndLine) {
  testing::TempDir dir;
  testing::WriteText(dir.File("cloister.yaml"),
                     "listener:\n  plain_http:\n    enabled: true\n    address: 0.0.0.0\n");
  ApplianceServer server(dir.File("data"), dir.File("cloister.yaml"));
  std::string console;
  EXPECT_EQ(server.RunToExit(&console), 1);
  EXPECT_NE(console.find("cloister.yaml:4:14: listener.plain_http.address"), std::string::npos) << console;
}

TEST(ConfigFileTest, UnknownKeyStopsTheServerNamingIt) {
  testing::TempDir dir;
  testing::WriteText(dir.File("cloister.yaml"), "storage:\n  data_dri: /x\n");
  ApplianceServer server(dir.File("data"), dir.File("cloister.yaml"));
  std::string console;
  EXPECT_EQ(server.RunToExit(&console), 1);
  EXPECT_NE(console.find("cloister.yaml:2:3: unknown key \"storage.data_dri\""), std::string::npos) << console;
}

}  // namespace
}  // namespace cloister
