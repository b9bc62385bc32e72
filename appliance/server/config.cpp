#include "appliance/server/config.h"

#include "appliance/core/files.h"
#include "appliance/core/strict_yaml.h"

namespace cloister {

const char kDefaultConfigYaml[] =
    R"yaml(# cloisterd configuration. Every key is optional; these are the defaults.
appliance:
  name: ""                  # name given at init when none is asked for; "" = the host name
  environments: [dev, test, prod]   # environments created at init, in promotion order
storage:
  data_dir: /var/lib/cloister       # database, keyring and generated TLS files
  read_connections: 4               # read-only database connections
  writer_max_batch: 1024            # units of work per group commit at most
  writer_max_queued: 10000          # units of work waiting for the writer; past that: 503 overloaded
listener:
  address: 0.0.0.0
  port: 8443
  tls_cert_file: ""                 # "" = <data_dir>/tls/cert.pem, generated on first start
  tls_key_file: ""                  # "" = <data_dir>/tls/key.pem
  max_threads: 16
  max_queued: 256
  idle_timeout_seconds: 60          # a keep-alive connection waiting for its next request
  head_timeout_ms: 5000             # accept to a complete request head (TLS handshake included); slower is closed
  max_connections_per_address: 64   # open connections from one client address; more are closed at accept
  plain_http:
    enabled: false                  # plain HTTP, loopback addresses only
    address: 127.0.0.1
    port: 8080
limits:
  max_body_bytes: 1048576           # larger request bodies get 413
logging:
  level: info                       # debug, info, warning, error
  console: true
  file: /var/log/cloister/cloisterd.log   # "" = no log file
  rotate_bytes: 10485760            # start a new file past this size
  max_files: 10                     # rotated files kept
seal:
  auto_unseal: true                 # key-file seals unseal at start
audit:
  checkpoint_interval_ms: 1000      # sign a checkpoint at most this often while events arrive
  heartbeat_seconds: 3600           # append audit.heartbeat after this long without events
auth:
  session_idle_timeout_seconds: 1800       # a login session ends after this long without a request
  session_absolute_timeout_seconds: 43200  # and this long after login, whatever happens
  scrypt_n: 32768                   # scrypt cost of new password hashes (a power of two); older hashes are upgraded at login
  client_ca_file: ""                # PEM CA bundle; when set, users log in with client certificates mapped to them
  lockout:
    account_threshold: 5            # failed logins of one account before backoff starts
    address_threshold: 20           # failed logins from one address before backoff starts
    base_delay_seconds: 1           # the first lock; each further failure doubles it
    max_delay_seconds: 900          # the longest lock
    reset_after_seconds: 3600       # failures older than this are forgotten
  failed_auth:
    max_failures: 30                # bad tokens or sessions from one address per window, each recorded;
    window_seconds: 60              # past that: 429 with Retry-After, recorded once per window with a count
policy:
  directory: ""                     # Policy and PolicyBinding YAML loaded at start, e.g. /opt/cloister/share/policies; "" = none
  max_steps: 100000                 # evaluation steps per rule before it fails closed
runtime:
  workers: 4                        # runs executing at once
  lease_seconds: 60                 # a worker's hold on a run, renewed at every step
  max_running_per_automation: 4     # more runs of one automation in one environment wait in the queue
  max_running_per_environment: 16   # likewise for all automations of one environment
  max_queued_per_automation: 1000   # past this, starting a run is refused with 429 queue_full
  retry_base_ms: 500                # backoff before retry n: base * 2^(n-1), jittered, at most retry_max_ms
  retry_max_ms: 30000
  output_max_bytes: 65536           # step outputs kept in run history are cut here
  payload_retention_days: 30        # step outputs are dropped this long after their run ended
)yaml";

namespace {

Status ParseAppliance(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap m, root.Map("appliance"));
  CL_RETURN_IF_ERROR(m.CheckKnownKeys({"name", "environments"}));
  CL_ASSIGN_OR_RETURN(c.appliance_name, m.String("name", c.appliance_name));
  CL_ASSIGN_OR_RETURN(c.environments, m.StringList("environments", c.environments));
  return Status::Ok();
}

Status ParseStorage(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap m, root.Map("storage"));
  CL_RETURN_IF_ERROR(
      m.CheckKnownKeys({"data_dir", "read_connections", "writer_max_batch", "writer_max_queued"}));
  CL_ASSIGN_OR_RETURN(c.storage.data_dir, m.String("data_dir", c.storage.data_dir));
  if (c.storage.data_dir.empty()) return m.Error("data_dir", "must not be empty");
  CL_ASSIGN_OR_RETURN(int64_t reads, m.Int("read_connections", c.storage.read_connections, 1, 64));
  CL_ASSIGN_OR_RETURN(
      int64_t batch,
      m.Int("writer_max_batch", static_cast<int64_t>(c.storage.writer.max_batch), 1, 65536));
  CL_ASSIGN_OR_RETURN(int64_t queued,
                      m.Int("writer_max_queued",
                            static_cast<int64_t>(c.storage.writer.max_queued_units), 1, 1000000));
  c.storage.read_connections = static_cast<int>(reads);
  c.storage.writer.max_batch = static_cast<size_t>(batch);
  c.storage.writer.max_queued_units = static_cast<size_t>(queued);
  return Status::Ok();
}

Status ParseListener(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap m, root.Map("listener"));
  CL_RETURN_IF_ERROR(m.CheckKnownKeys(
      {"address", "port", "tls_cert_file", "tls_key_file", "max_threads", "max_queued",
       "idle_timeout_seconds", "head_timeout_ms", "max_connections_per_address", "plain_http"}));
  ListenerOptions& l = c.listener;
  CL_ASSIGN_OR_RETURN(l.host, m.String("address", l.host));
  CL_ASSIGN_OR_RETURN(int64_t port, m.Int("port", l.port, 0, 65535));
  CL_ASSIGN_OR_RETURN(l.cert_file, m.String("tls_cert_file", l.cert_file));
  CL_ASSIGN_OR_RETURN(l.key_file, m.String("tls_key_file", l.key_file));
  if (l.cert_file.empty() != l.key_file.empty()) {
    return m.Error(l.cert_file.empty() ? "tls_key_file" : "tls_cert_file",
                   "tls_cert_file and tls_key_file must be set together");
  }
  CL_ASSIGN_OR_RETURN(int64_t threads, m.Int("max_threads", l.max_threads, 1, 1024));
  CL_ASSIGN_OR_RETURN(int64_t queued, m.Int("max_queued", l.max_queued, 1, 65536));
  CL_ASSIGN_OR_RETURN(int64_t idle, m.Int("idle_timeout_seconds", l.idle_timeout_seconds, 1, 3600));
  CL_ASSIGN_OR_RETURN(int64_t head, m.Int("head_timeout_ms", l.head_timeout_ms, 100, 600000));
  CL_ASSIGN_OR_RETURN(int64_t per_address, m.Int("max_connections_per_address",
                                                 l.max_connections_per_address, 1, 65536));
  l.port = static_cast<uint16_t>(port);
  l.max_threads = static_cast<int>(threads);
  l.max_queued = static_cast<int>(queued);
  l.idle_timeout_seconds = static_cast<int>(idle);
  l.head_timeout_ms = static_cast<int>(head);
  l.max_connections_per_address = static_cast<int>(per_address);

  CL_ASSIGN_OR_RETURN(YamlMap plain, m.Map("plain_http"));
  CL_RETURN_IF_ERROR(plain.CheckKnownKeys({"enabled", "address", "port"}));
  CL_ASSIGN_OR_RETURN(l.plain_http, plain.Bool("enabled", l.plain_http));
  CL_ASSIGN_OR_RETURN(l.plain_host, plain.String("address", l.plain_host));
  CL_ASSIGN_OR_RETURN(int64_t plain_port, plain.Int("port", l.plain_port, 0, 65535));
  l.plain_port = static_cast<uint16_t>(plain_port);
  if (!IsLoopbackHost(l.plain_host)) {
    return plain.Error("address",
                       "plain HTTP may only listen on a loopback address (127.0.0.1, ::1 or "
                       "localhost), not \"" +
                           l.plain_host + "\"");
  }
  return Status::Ok();
}

Status ParseRest(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap limits, root.Map("limits"));
  CL_RETURN_IF_ERROR(limits.CheckKnownKeys({"max_body_bytes"}));
  CL_ASSIGN_OR_RETURN(
      int64_t body,
      limits.Int("max_body_bytes", static_cast<int64_t>(c.max_body_bytes), 1024, int64_t{1} << 30));
  c.max_body_bytes = static_cast<size_t>(body);

  CL_ASSIGN_OR_RETURN(YamlMap log, root.Map("logging"));
  CL_RETURN_IF_ERROR(log.CheckKnownKeys({"level", "console", "file", "rotate_bytes", "max_files"}));
  CL_ASSIGN_OR_RETURN(std::string level, log.String("level", "info"));
  auto parsed_level = ParseLogLevel(level);
  if (!parsed_level.ok()) return log.Error("level", parsed_level.status().message());
  c.logging.level = *parsed_level;
  CL_ASSIGN_OR_RETURN(c.logging.console, log.Bool("console", c.logging.console));
  CL_ASSIGN_OR_RETURN(c.logging.file, log.String("file", c.logging.file));
  CL_ASSIGN_OR_RETURN(c.logging.rotate_bytes,
                      log.Int("rotate_bytes", c.logging.rotate_bytes, 4096, int64_t{1} << 40));
  CL_ASSIGN_OR_RETURN(c.logging.max_files, log.Int("max_files", c.logging.max_files, 1, 10000));

  CL_ASSIGN_OR_RETURN(YamlMap seal, root.Map("seal"));
  CL_RETURN_IF_ERROR(seal.CheckKnownKeys({"auto_unseal"}));
  CL_ASSIGN_OR_RETURN(c.auto_unseal, seal.Bool("auto_unseal", c.auto_unseal));

  CL_ASSIGN_OR_RETURN(YamlMap audit, root.Map("audit"));
  CL_RETURN_IF_ERROR(audit.CheckKnownKeys({"checkpoint_interval_ms", "heartbeat_seconds"}));
  CL_ASSIGN_OR_RETURN(c.checkpoint_interval_ms,
                      audit.Int("checkpoint_interval_ms", c.checkpoint_interval_ms, 100, 60000));
  CL_ASSIGN_OR_RETURN(c.heartbeat_seconds,
                      audit.Int("heartbeat_seconds", c.heartbeat_seconds, 1, 3600));
  return Status::Ok();
}

Status ParseAuth(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap m, root.Map("auth"));
  CL_RETURN_IF_ERROR(
      m.CheckKnownKeys({"session_idle_timeout_seconds", "session_absolute_timeout_seconds",
                        "scrypt_n", "client_ca_file", "lockout", "failed_auth"}));
  AuthOptions& a = c.auth;
  CL_ASSIGN_OR_RETURN(int64_t idle,
                      m.Int("session_idle_timeout_seconds", a.sessions.idle.count(), 1, 7 * 86400));
  CL_ASSIGN_OR_RETURN(int64_t absolute, m.Int("session_absolute_timeout_seconds",
                                              a.sessions.absolute.count(), 1, 30 * 86400));
  if (absolute < idle) {
    return m.Error("session_absolute_timeout_seconds",
                   "must be at least session_idle_timeout_seconds");
  }
  a.sessions = {std::chrono::seconds(idle), std::chrono::seconds(absolute)};
  CL_ASSIGN_OR_RETURN(int64_t n,
                      m.Int("scrypt_n", static_cast<int64_t>(a.scrypt.n), 1 << 14, 1 << 20));
  if ((n & (n - 1)) != 0) return m.Error("scrypt_n", "must be a power of two, e.g. 32768");
  a.scrypt.n = static_cast<uint64_t>(n);
  CL_ASSIGN_OR_RETURN(c.listener.client_ca_file,
                      m.String("client_ca_file", c.listener.client_ca_file));

  CL_ASSIGN_OR_RETURN(YamlMap l, m.Map("lockout"));
  CL_RETURN_IF_ERROR(
      l.CheckKnownKeys({"account_threshold", "address_threshold", "base_delay_seconds",
                        "max_delay_seconds", "reset_after_seconds"}));
  LockoutPolicy& p = a.lockout;
  CL_ASSIGN_OR_RETURN(p.account_threshold,
                      l.Int("account_threshold", p.account_threshold, 1, 1000000));
  CL_ASSIGN_OR_RETURN(p.address_threshold,
                      l.Int("address_threshold", p.address_threshold, 1, 1000000));
  CL_ASSIGN_OR_RETURN(int64_t base, l.Int("base_delay_seconds", p.base_delay.count(), 1, 3600));
  CL_ASSIGN_OR_RETURN(int64_t max, l.Int("max_delay_seconds", p.max_delay.count(), 1, 86400));
  CL_ASSIGN_OR_RETURN(int64_t reset,
                      l.Int("reset_after_seconds", p.reset_after.count(), 1, 30 * 86400));
  if (max < base) return l.Error("max_delay_seconds", "must be at least base_delay_seconds");
  p.base_delay = std::chrono::seconds(base);
  p.max_delay = std::chrono::seconds(max);
  p.reset_after = std::chrono::seconds(reset);

  CL_ASSIGN_OR_RETURN(YamlMap f, m.Map("failed_auth"));
  CL_RETURN_IF_ERROR(f.CheckKnownKeys({"max_failures", "window_seconds"}));
  CL_ASSIGN_OR_RETURN(a.failed_auth.max_failures,
                      f.Int("max_failures", a.failed_auth.max_failures, 1, 1000000));
  CL_ASSIGN_OR_RETURN(int64_t window,
                      f.Int("window_seconds", a.failed_auth.window.count(), 1, 86400));
  a.failed_auth.window = std::chrono::seconds(window);
  return Status::Ok();
}

Status ParsePolicy(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap m, root.Map("policy"));
  CL_RETURN_IF_ERROR(m.CheckKnownKeys({"directory", "max_steps"}));
  CL_ASSIGN_OR_RETURN(c.policy_directory, m.String("directory", c.policy_directory));
  CL_ASSIGN_OR_RETURN(c.policy_max_steps, m.Int("max_steps", c.policy_max_steps, 1000, 100000000));
  return Status::Ok();
}

Status ParseRuntime(const YamlMap& root, ServerConfig& c) {
  CL_ASSIGN_OR_RETURN(YamlMap m, root.Map("runtime"));
  CL_RETURN_IF_ERROR(
      m.CheckKnownKeys({"workers", "lease_seconds", "max_running_per_automation",
                        "max_running_per_environment", "max_queued_per_automation", "retry_base_ms",
                        "retry_max_ms", "output_max_bytes", "payload_retention_days"}));
  runtime::RuntimeOptions& r = c.runtime;
  CL_ASSIGN_OR_RETURN(int64_t workers, m.Int("workers", r.workers, 1, 256));
  r.workers = static_cast<int>(workers);
  CL_ASSIGN_OR_RETURN(r.lease_seconds, m.Int("lease_seconds", r.lease_seconds, 5, 86400));
  CL_ASSIGN_OR_RETURN(int64_t per_automation,
                      m.Int("max_running_per_automation", r.limits.per_automation, 1, 10000));
  CL_ASSIGN_OR_RETURN(int64_t per_env,
                      m.Int("max_running_per_environment", r.limits.per_environment, 1, 10000));
  r.limits.per_automation = static_cast<int>(per_automation);
  r.limits.per_environment = static_cast<int>(per_env);
  CL_ASSIGN_OR_RETURN(r.max_queued_per_automation,
                      m.Int("max_queued_per_automation", r.max_queued_per_automation, 1, 10000000));
  CL_ASSIGN_OR_RETURN(r.retry_base_ms, m.Int("retry_base_ms", r.retry_base_ms, 1, 600000));
  CL_ASSIGN_OR_RETURN(r.retry_max_ms, m.Int("retry_max_ms", r.retry_max_ms, 1, 3600000));
  CL_ASSIGN_OR_RETURN(
      int64_t output,
      m.Int("output_max_bytes", static_cast<int64_t>(r.output_max_bytes), 1024, 16 << 20));
  r.output_max_bytes = static_cast<size_t>(output);
  CL_ASSIGN_OR_RETURN(r.payload_retention_days,
                      m.Int("payload_retention_days", r.payload_retention_days, 1, 3650));
  return Status::Ok();
}

}  // namespace

Result<ServerConfig> ParseServerConfig(std::string_view yaml, const std::string& source) {
  // The operator writes this file; aliases are theirs to use.
  CL_ASSIGN_OR_RETURN(YAML::Node node, LoadStrictYaml(yaml, source, kOperatorYamlLimits));
  const YamlMap root(node, source, "");
  CL_RETURN_IF_ERROR(root.CheckIsMap());
  CL_RETURN_IF_ERROR(root.CheckKnownKeys({"appliance", "storage", "listener", "limits", "logging",
                                          "seal", "audit", "auth", "policy", "runtime"}));
  ServerConfig c;
  CL_RETURN_IF_ERROR(ParseAppliance(root, c));
  CL_RETURN_IF_ERROR(ParseStorage(root, c));
  CL_RETURN_IF_ERROR(ParseListener(root, c));
  CL_RETURN_IF_ERROR(ParseRest(root, c));
  CL_RETURN_IF_ERROR(ParseAuth(root, c));
  CL_RETURN_IF_ERROR(ParsePolicy(root, c));
  CL_RETURN_IF_ERROR(ParseRuntime(root, c));
  return c;
}

Result<ServerConfig> LoadServerConfig(const std::string& path) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return text.status().Annotate("reading configuration");
  return ParseServerConfig(*text, path);
}

}  // namespace cloister
