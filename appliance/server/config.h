// cloisterd's configuration: cloister.yaml parsed once into option structs.
// Every setting has a default (kDefaultConfigYaml is the same defaults as a
// file, printed by `cloisterd --print-default-config`); unknown keys,
// duplicate keys and bad values are errors that name the key and the line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/api/api_context.h"
#include "appliance/core/logging.h"
#include "appliance/core/status.h"
#include "appliance/http/https_server.h"
#include "appliance/storage/seal_manager.h"
#include "audit/audit_service.h"

namespace cloister {

struct ServerConfig {
  // appliance
  std::string appliance_name;  // default name at init; empty: the host name
  std::vector<std::string> environments = {"dev", "test", "prod"};
  // storage; cloisterd's wiring adds the writer factory and the schema
  // (storage_wiring.h)
  StorageOptions storage{"/var/lib/cloister", 4, {}, {}, {}};
  // listener
  ListenerOptions listener;  // empty cert/key: generated under <data_dir>/tls
  // limits
  size_t max_body_bytes = 1 << 20;
  // logging
  LogOptions logging{LogLevel::kInfo, true, "/var/log/cloister/cloisterd.log", 10 << 20, 10};
  // seal
  bool auto_unseal = true;  // key-file seals unseal at start
  // audit
  int64_t checkpoint_interval_ms = 1000;  // sign at most this often while events arrive
  int64_t heartbeat_seconds = 3600;       // audit.heartbeat after this long without events
  // auth (listener.client_ca_file holds auth.client_ca_file)
  AuthOptions auth;
  // policy
  std::string policy_directory;       // policy documents loaded at start; "" = none
  int64_t policy_max_steps = 100000;  // evaluation budget per rule
  // runtime
  runtime::RuntimeOptions runtime;
};

extern const char kDefaultConfigYaml[];

// Parses YAML text; `source` names it in errors ("/etc/cloister/cloister.yaml").
Result<ServerConfig> ParseServerConfig(std::string_view yaml, const std::string& source);
// Reads and parses a file.
Result<ServerConfig> LoadServerConfig(const std::string& path);

}  // namespace cloister
