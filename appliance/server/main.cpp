// cloisterd: the appliance server. The only place that constructs concrete
// types and wires them together.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <optional>

#include "appliance/api/error_codes.h"
#include "appliance/api/routes.h"
#include "appliance/core/encoding.h"
#include "appliance/core/files.h"
#include "appliance/core/version.h"
#include "appliance/http/https_server.h"
#include "appliance/http/tls_certificate.h"
#include "appliance/server/config.h"
#include "appliance/server/storage_wiring.h"
#include "appliance/storage/appliance_info.h"

namespace cloister {
namespace {

struct Flags {
  std::string config_path;
  std::optional<std::string> data_dir;
  std::optional<std::string> address;
  std::optional<int> port;
  std::optional<std::string> log_file;
  std::optional<std::string> policy_dir;
  std::string ready_file;
};

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "cloister";
  std::string name = buf;
  return ValidateApplianceName(name).ok() ? name : "cloister";
}

// The configuration in force and the SHA-256 of the text it came from (the
// digest is recorded in the audit ledger at every unseal).
struct ResolvedConfig {
  ServerConfig config;
  std::string digest;
};

Result<ResolvedConfig> ResolveConfig(const Flags& flags) {
  std::string text = kDefaultConfigYaml;
  std::string source = "<embedded default configuration>";
  if (!flags.config_path.empty()) {
    auto read = ReadFile(flags.config_path, 1 << 20);
    if (!read.ok()) return read.status().Annotate("reading configuration");
    text = std::move(read).value();
    source = flags.config_path;
  }
  CL_ASSIGN_OR_RETURN(ServerConfig config, ParseServerConfig(text, source));
  if (flags.data_dir) config.storage.data_dir = *flags.data_dir;
  if (flags.address) config.listener.host = *flags.address;
  if (flags.port) config.listener.port = static_cast<uint16_t>(*flags.port);
  if (flags.log_file) config.logging.file = *flags.log_file;
  if (flags.policy_dir) config.policy_directory = *flags.policy_dir;
  if (config.appliance_name.empty()) config.appliance_name = HostName();
  if (config.listener.cert_file.empty()) {
    config.listener.cert_file = config.storage.data_dir + "/tls/cert.pem";
    config.listener.key_file = config.storage.data_dir + "/tls/key.pem";
  }
  return ResolvedConfig{std::move(config), Sha256Hex(text)};
}

int Fail(const Status& st) {
  std::cerr << "cloisterd: " << st.message() << "\n";
  return 1;
}

int Serve(const Flags& flags) {
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Every client connection is a descriptor: use all the system allows.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  auto resolved = ResolveConfig(flags);
  if (!resolved.ok()) return Fail(resolved.status());
  ServerConfig* config = &resolved->config;
  if (Status st = InitLogging(config->logging); !st.ok()) return Fail(st);
  const Logger log("cloisterd");

  SystemClock clock;
  SystemRandom random;
  Metrics metrics;
  DescribeApplianceMetrics(metrics);

  if (Status st = MakeDirectories(config->storage.data_dir, 0700); !st.ok()) return Fail(st);
  // One cloisterd per data directory; a restore checks for it the same way.
  auto lock = FileLock::TryAcquire(config->storage.data_dir + "/cloisterd.lock");
  if (!lock.ok()) {
    return Fail(lock.status().reason() == "locked"
                    ? Status::FailedPrecondition("another cloisterd is using the data directory " +
                                                 config->storage.data_dir)
                    : lock.status());
  }
  auto generated =
      EnsureSelfSignedCertificate(config->listener.cert_file, config->listener.key_file,
                                  {config->appliance_name, HostName()}, clock, random);
  if (!generated.ok()) return Fail(generated.status());
  auto fingerprint = CertificateFingerprint(config->listener.cert_file);
  if (!fingerprint.ok()) return Fail(fingerprint.status());
  if (*generated) log.Info("generated a self-signed TLS certificate " + config->listener.cert_file);

  auto storage = WireStorage(config->storage, clock, &metrics);
  if (!storage.ok()) return Fail(storage.status());
  SealManager seal(std::move(storage).value(), clock, random, Logger("storage"));
  if (Status st = seal.Recover(); !st.ok()) return Fail(st);

  AuditOptions audit_options;
  audit_options.checkpoints.interval = std::chrono::milliseconds(config->checkpoint_interval_ms);
  audit_options.checkpoints.heartbeat = std::chrono::seconds(config->heartbeat_seconds);
  Appliance appliance(seal, random, clock, Logger("audit"), audit_options, resolved->digest);
  // A policy directory that does not load stops the start: serving without
  // the policies an operator configured would be failing open.
  auto policies = policy::PolicyEngine::Open(config->policy_directory);
  if (!policies.ok()) return Fail(policies.status());
  if (!config->policy_directory.empty()) {
    log.Info("policy set " + (*policies)->current()->digest() + " loaded from " +
             config->policy_directory);
  }
  ApiContext ctx{appliance, clock, random, metrics, log, {}, config->auth, nullptr, {}};
  ctx.policies = policies->get();
  ctx.policy_limits.max_steps = config->policy_max_steps;
  runtime::SystemResolver resolver;
  ctx.runtime = config->runtime;
  ctx.resolver = &resolver;
  ctx.info.started = clock.Monotonic();
  ctx.info.tls_fingerprint = *fingerprint;
  ctx.info.default_appliance_name = config->appliance_name;
  ctx.info.default_environments = config->environments;
  // Each unseal builds the session's services once, from here.
  appliance.SetServicesFactory(MakeSessionServices(ctx));
  appliance.SetSessionHooks(StartSessionWork, StopSessionWork);
  // Declared after ctx and the resolver, so destroyed before them: on every
  // way out, the run workers and the scheduler stop while what they use lives.
  struct SealOnExit {
    Appliance& appliance;
    ~SealOnExit() { appliance.Seal(Requester{{"system", "cloisterd", "shutdown"}, "", "", ""}); }
  } seal_on_exit{appliance};
  const Router router = BuildRouter(ctx);
  ApplianceGate gate(ctx);
  UnlistedReasonLog unlisted_reasons(Logger("api"));
  DispatcherOptions dispatch{config->max_body_bytes};
  dispatch.error_response = [&unlisted_reasons](const Status& s) {
    return ClientErrorResponse(s, unlisted_reasons);
  };
  Dispatcher dispatcher(router, gate, metrics, random, clock, Logger("http"), std::move(dispatch));
  HttpsServer server(dispatcher, config->listener);
  if (Status st = server.Start(); !st.ok()) return Fail(st);
  ctx.runtime.own_port = server.port();  // steps may not call the appliance itself

  const SealStatus status = appliance.seal_status();
  if (status.initialized && status.seal_type == SealType::kKeyFile && config->auto_unseal) {
    auto unsealed = appliance.UnsealWithKeyFile(
        Requester{{"system", "cloisterd", "automatic unseal"}, "", "", ""});
    // Fails closed: an unseal the ledger cannot record leaves cloisterd sealed.
    if (!unsealed.ok()) {
      log.Error(
          "automatic unseal with the key file failed, cloisterd stays sealed: " +
          unsealed.status().message() +
          (unsealed.status().reason().empty() ? "" : " (" + unsealed.status().reason() + ")"));
    }
  }

  const std::string host = config->listener.host == "0.0.0.0" ? "127.0.0.1" : config->listener.host;
  log.Info("listening on https://" + host + ":" + std::to_string(server.port()) +
           " (TLS certificate SHA-256 " + *fingerprint + ")");
  if (server.plain_port()) {
    log.Warning("plain HTTP enabled on http://" + config->listener.plain_host + ":" +
                std::to_string(server.plain_port()) + " (loopback only)");
  }
  const SealStatus now = seal.CurrentStatus();
  log.Info(!now.initialized ? "not initialized: POST /v1/sys/init (cloisterctl operator init)"
           : now.sealed     ? "sealed: POST /v1/sys/unseal (cloisterctl operator unseal)"
                            : "unsealed and serving");
  if (!flags.ready_file.empty()) {
    const Json ready = {{"port", server.port()},
                        {"plain_port", server.plain_port()},
                        {"tls_fingerprint", *fingerprint},
                        {"cert_file", config->listener.cert_file},
                        {"pid", getpid()}};
    if (Status st = WriteFileAtomic(flags.ready_file, ready.dump() + "\n", 0600); !st.ok())
      return Fail(st);
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log.Info(std::string("stopping on ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  server.Stop();
  appliance.Seal(
      Requester{{"system", "cloisterd", "shutdown"}, "", "", ""});  // drains the writer before exit
  return 0;
}

}  // namespace
}  // namespace cloister

int main(int argc, char** argv) {
  cloister::Flags flags;
  CLI::App app{"cloisterd: the Cloister appliance server"};
  app.set_version_flag("--version", std::string("cloisterd ") + cloister::CloisterVersion());
  bool print_default = false;
  app.add_option("-c,--config", flags.config_path,
                 "Path to cloister.yaml (default: the embedded defaults)");
  app.add_option("--data-dir", flags.data_dir, "Override storage.data_dir");
  app.add_option("--address", flags.address, "Override listener.address");
  app.add_option("--port", flags.port, "Override listener.port (0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--log-file", flags.log_file, "Override logging.file (\"\" for none)");
  app.add_option("--policy-dir", flags.policy_dir, "Override policy.directory (\"\" for none)");
  app.add_option("--ready-file", flags.ready_file,
                 "Write the bound port and TLS fingerprint here once serving");
  app.add_flag("--print-default-config", print_default,
               "Print the embedded default configuration and exit");
  CLI11_PARSE(app, argc, argv);
  if (print_default) {
    std::cout << cloister::kDefaultConfigYaml;
    return 0;
  }
  return cloister::Serve(flags);
}
