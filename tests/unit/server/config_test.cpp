#include "appliance/server/config.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(ConfigTest, EmbeddedDefaultsParseToTheStructDefaults) {
  auto parsed = ParseServerConfig(kDefaultConfigYaml, "default");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ServerConfig d;
  EXPECT_EQ(parsed->storage.data_dir, d.storage.data_dir);
  EXPECT_EQ(parsed->storage.read_connections, d.storage.read_connections);
  EXPECT_EQ(parsed->storage.writer.max_batch, d.storage.writer.max_batch);
  EXPECT_EQ(parsed->listener.host, d.listener.host);
  EXPECT_EQ(parsed->listener.port, d.listener.port);
  EXPECT_EQ(parsed->listener.max_threads, d.listener.max_threads);
  EXPECT_EQ(parsed->listener.head_timeout_ms, d.listener.head_timeout_ms);
  EXPECT_EQ(parsed->listener.max_connections_per_address, d.listener.max_connections_per_address);
  EXPECT_EQ(parsed->listener.plain_http, d.listener.plain_http);
  EXPECT_EQ(parsed->max_body_bytes, d.max_body_bytes);
  EXPECT_EQ(parsed->logging.file, d.logging.file);
  EXPECT_EQ(parsed->logging.rotate_bytes, d.logging.rotate_bytes);
  EXPECT_EQ(parsed->environments, d.environments);
  EXPECT_EQ(parsed->auto_unseal, d.auto_unseal);
  EXPECT_EQ(parsed->heartbeat_seconds, d.heartbeat_seconds);
  EXPECT_EQ(parsed->checkpoint_interval_ms, d.checkpoint_interval_ms);
  EXPECT_EQ(parsed->auth.sessions.idle, d.auth.sessions.idle);
  EXPECT_EQ(parsed->auth.sessions.absolute, d.auth.sessions.absolute);
  EXPECT_EQ(parsed->auth.scrypt.n, d.auth.scrypt.n);
  EXPECT_EQ(parsed->auth.lockout.account_threshold, d.auth.lockout.account_threshold);
  EXPECT_EQ(parsed->auth.lockout.address_threshold, d.auth.lockout.address_threshold);
  EXPECT_EQ(parsed->auth.lockout.base_delay, d.auth.lockout.base_delay);
  EXPECT_EQ(parsed->auth.lockout.max_delay, d.auth.lockout.max_delay);
  EXPECT_EQ(parsed->auth.lockout.reset_after, d.auth.lockout.reset_after);
  EXPECT_EQ(parsed->listener.client_ca_file, d.listener.client_ca_file);
}

TEST(ConfigTest, ReadsAndBoundsTheSlowClientLimits) {
  auto c = ParseServerConfig("listener: {head_timeout_ms: 2000, max_connections_per_address: 8}\n", "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listener.head_timeout_ms, 2000);
  EXPECT_EQ(c->listener.max_connections_per_address, 8);
  EXPECT_FALSE(ParseServerConfig("listener: {head_timeout_ms: 0}\n", "c.yaml").ok());
  EXPECT_FALSE(ParseServerConfig("listener: {max_connections_per_address: 0}\n", "c.yaml").ok());
}

TEST(ConfigTest, EmptyFileMeansAllDefaults) {
  auto parsed = ParseServerConfig("", "empty.yaml");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->listener.port, 8443);
}

TEST(ConfigTest, ReadsEverySection) {
  auto c = ParseServerConfig(R"(
appliance: {name: dc1-appliance, environments: [dev, staging, prod]}
storage: {data_dir: /srv/cloister, read_connections: 8, writer_max_batch: 64}
listener:
  address: 127.0.0.1
  port: 9443
  tls_cert_file: /etc/c.pem
  tls_key_file: /etc/k.pem
  plain_http: {enabled: true, address: "::1", port: 9080}
limits: {max_body_bytes: 2048}
logging: {level: debug, console: false, file: "", rotate_bytes: 4096, max_files: 3}
seal: {auto_unseal: false}
)", "full.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->appliance_name, "dc1-appliance");
  EXPECT_EQ(c->environments[1], "staging");
  EXPECT_EQ(c->storage.read_connections, 8);
  EXPECT_EQ(c->listener.port, 9443);
  EXPECT_TRUE(c->listener.plain_http);
  EXPECT_EQ(c->listener.plain_port, 9080);
  EXPECT_EQ(c->max_body_bytes, 2048u);
  EXPECT_EQ(c->logging.level, LogLevel::kDebug);
  EXPECT_FALSE(c->auto_unseal);
}

void ExpectError(const std::string& yaml, const std::string& fragment) {
  auto c = ParseServerConfig(yaml, "cloister.yaml");
  ASSERT_FALSE(c.ok()) << yaml;
  EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().message();
}

TEST(ConfigTest, ErrorsNameTheKeyAndLine) {
  ExpectError("listener:\n  prot: 1\n", "cloister.yaml:2:3: unknown key \"listener.prot\"");
  ExpectError("storage: {}\nlistner: {}\n", "cloister.yaml:2:1: unknown key \"listner\"");
  ExpectError("listener:\n  port: high\n", "cloister.yaml:2:9: listener.port: expected an integer");
  ExpectError("listener:\n  port: 70000\n", "listener.port: must be between 0 and 65535");
  ExpectError("logging:\n  level: loud\n", "cloister.yaml:2:10: logging.level: unknown log level");
  ExpectError("seal:\n  auto_unseal: maybe\n", "seal.auto_unseal: expected true or false");
  ExpectError("listener:\n  port: 1\n  port: 2\n", "cloister.yaml:3:3: duplicate key \"port\"");
  ExpectError("listener: [1, 2]\n", "listener: expected a mapping");
  ExpectError("limits:\n  max_body_bytes: 10\n", "limits.max_body_bytes: must be between");
  ExpectError("listener:\n  tls_cert_file: /c.pem\n", "must be set together");
  ExpectError("storage:\n  data_dir: \"\"\n", "storage.data_dir: must not be empty");
  ExpectError("audit:\n  heartbeat_seconds: 7200\n", "audit.heartbeat_seconds: must be between 1 and 3600");
}

TEST(ConfigTest, AuthSettingsAreCheckedTogether) {
  auto c = ParseServerConfig(
      "auth:\n  session_idle_timeout_seconds: 600\n  client_ca_file: /etc/cloister/cards.pem\n"
      "  lockout:\n    account_threshold: 8\n    max_delay_seconds: 60\n",
      "c");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.sessions.idle, std::chrono::seconds(600));
  EXPECT_EQ(c->auth.lockout.account_threshold, 8);
  EXPECT_EQ(c->auth.lockout.max_delay, std::chrono::seconds(60));
  EXPECT_EQ(c->listener.client_ca_file, "/etc/cloister/cards.pem");
  ExpectError("auth:\n  session_idle_timeout_seconds: 7200\n  session_absolute_timeout_seconds: 3600\n",
              "auth.session_absolute_timeout_seconds: must be at least session_idle_timeout_seconds");
  ExpectError("auth:\n  scrypt_n: 30000\n", "auth.scrypt_n: must be a power of two");
  ExpectError("auth:\n  scrypt_n: 1024\n", "auth.scrypt_n: must be between");
  ExpectError("auth:\n  lockout:\n    base_delay_seconds: 100\n    max_delay_seconds: 10\n",
              "auth.lockout.max_delay_seconds: must be at least base_delay_seconds");
  ExpectError("auth:\n  lockout:\n    treshold: 3\n", "unknown key \"auth.lockout.treshold\"");
}

TEST(ConfigTest, ReadsAndBoundsTheWriterQueue) {
  EXPECT_EQ(ServerConfig{}.storage.writer.max_queued_units, 10000u);
  auto c = ParseServerConfig("storage: {writer_max_queued: 500}\n", "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.writer.max_queued_units, 500u);
  ExpectError("storage: {writer_max_queued: 0}\n", "storage.writer_max_queued: must be between");
}

TEST(ConfigTest, PlainHttpOnlyOnLoopback) {
  ExpectError("listener:\n  plain_http:\n    enabled: true\n    address: 0.0.0.0\n",
              "cloister.yaml:4:14: listener.plain_http.address: plain HTTP may only listen on a loopback");
  ExpectError("listener:\n  plain_http:\n    address: 10.1.2.3\n", "loopback");
  EXPECT_TRUE(ParseServerConfig("listener:\n  plain_http:\n    address: localhost\n", "c").ok());
}

}  // namespace
}  // namespace cloister
