// Starts the real cloisterd binary for a test: its own data directory, port
// 0, a ready file to learn the port, and SIGTERM on teardown. Also runs the
// real cloisterctl binary.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "appliance/cli/api_client.h"
#include "appliance/storage/connection.h"
#include "tests/support/test_support.h"

namespace cloister::testing {

class ApplianceServer {
 public:
  // `data_dir` persists across Start/Stop so a test can restart the server.
  explicit ApplianceServer(std::string data_dir, std::string config_path = "",
                           std::string log_file = "");
  ~ApplianceServer();

  // Starts cloisterd and waits until it serves; false (with the console log
  // as a test failure) when it exits or does not come up.
  bool Start();
  // SIGTERM and wait; returns the exit status.
  int Stop();
  // SIGKILL and wait: a crash, with no chance to seal or flush anything.
  void Kill();
  // Runs cloisterd to completion (for configurations it must refuse).
  int RunToExit(std::string* console);

  uint16_t port() const { return port_; }
  uint16_t plain_port() const { return plain_port_; }
  std::string address() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string ca_cert() const { return data_dir_ + "/tls/cert.pem"; }
  const std::string& data_dir() const { return data_dir_; }
  std::string console_log() const;
  ClientOptions Client(const std::string& token = "") const;

 private:
  std::vector<std::string> Args() const;

  std::string data_dir_;
  std::string config_path_;
  std::string log_file_;
  std::string ready_file_;
  std::string console_file_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uint16_t plain_port_ = 0;
};

// One HTTPS call to `server` (a JSON body when not null), failing the test
// when the server cannot be reached; an empty response then.
ApiResponse Call(const ApplianceServer& server, const std::string& method, const std::string& path,
                 const Json& body = nullptr, const std::string& token = "",
                 const std::map<std::string, std::string>& headers = {});

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs cloisterctl with `args`, pointed at `server` (address and CA by
// environment), with `stdin_text` on its standard input and `env` (NAME=value)
// added to its environment. HOME is a fresh directory unless `env` sets it.
CommandResult RunCloisterctl(const ApplianceServer& server, const std::vector<std::string>& args,
                             const std::string& token = "", const std::string& stdin_text = "",
                             const std::vector<std::string>& env = {});

// The appliance database in `data_dir`, opened with the data key that
// `key_file` unwraps: what someone holding both could do to it.
std::unique_ptr<Connection> OpenDatabaseWithKeyFile(const std::string& data_dir,
                                                    const std::string& key_file);

}  // namespace cloister::testing
