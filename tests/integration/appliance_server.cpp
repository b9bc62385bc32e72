#include "tests/integration/appliance_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "appliance/core/json.h"
#include "appliance/storage/key_wrap.h"
#include "appliance/storage/keyring.h"

namespace cloister::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::string& in_file, const std::string& out_file, const std::string& err_file) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  auto redirect = [](const std::string& path, int fd, int flags) {
    const int f = open(path.c_str(), flags, 0600);
    if (f >= 0) {
      dup2(f, fd);
      close(f);
    }
  };
  redirect(in_file.empty() ? "/dev/null" : in_file, STDIN_FILENO, O_RDONLY);
  redirect(out_file, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
  redirect(err_file, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
  for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ApplianceServer::ApplianceServer(std::string data_dir, std::string config_path,
                                 std::string log_file)
    : data_dir_(std::move(data_dir)),
      config_path_(std::move(config_path)),
      log_file_(std::move(log_file)),
      ready_file_(data_dir_ + ".ready.json"),
      console_file_(data_dir_ + ".console.log") {}

ApplianceServer::~ApplianceServer() {
  if (pid_ > 0) Stop();
}

std::vector<std::string> ApplianceServer::Args() const {
  std::vector<std::string> args = {CLOISTERD_PATH, "--data-dir",   data_dir_,  "--address",
                                   "127.0.0.1",    "--port",       "0",        "--log-file",
                                   log_file_,      "--ready-file", ready_file_};
  if (!config_path_.empty()) {
    args.push_back("--config");
    args.push_back(config_path_);
  }
  return args;
}

bool ApplianceServer::Start() {
  std::filesystem::remove(ready_file_);
  pid_ = Spawn(Args(), {}, "", console_file_ + ".out", console_file_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "cloisterd exited during start:\n" << console_log();
      return false;
    }
    if (std::filesystem::exists(ready_file_)) {
      auto ready = ParseJsonObject(Slurp(ready_file_));
      if (ready.ok()) {
        port_ = (*ready)["port"].get<uint16_t>();
        plain_port_ = (*ready)["plain_port"].get<uint16_t>();
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "cloisterd did not become ready:\n" << console_log();
  return false;
}

int ApplianceServer::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

void ApplianceServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitExit(pid_);
  pid_ = -1;
}

int ApplianceServer::RunToExit(std::string* console) {
  const pid_t pid = Spawn(Args(), {}, "", console_file_ + ".out", console_file_);
  const int code = WaitExit(pid);
  if (console) *console = console_log();
  return code;
}

std::string ApplianceServer::console_log() const {
  return std::filesystem::exists(console_file_) ? Slurp(console_file_)
                                                : std::string("(no console log)");
}

ClientOptions ApplianceServer::Client(const std::string& token) const {
  ClientOptions o;
  o.address = address();
  o.ca_cert = ca_cert();
  o.token = token;
  o.timeout_seconds = 20;
  return o;
}

ApiResponse Call(const ApplianceServer& server, const std::string& method, const std::string& path,
                 const Json& body, const std::string& token,
                 const std::map<std::string, std::string>& headers) {
  ApiClient client(server.Client(token));
  auto r =
      client.Send(method, path, body.is_null() ? "" : body.dump(), "application/json", headers);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ApiResponse{};
}

CommandResult RunCloisterctl(const ApplianceServer& server, const std::vector<std::string>& args,
                             const std::string& token, const std::string& stdin_text,
                             const std::vector<std::string>& extra_env) {
  TempDir io;
  std::vector<std::string> argv = {CLOISTERCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  // A stored login in the real HOME must not leak in.
  std::vector<std::string> env = {"CLOISTER_ADDR=" + server.address(),
                                  "CLOISTER_CACERT=" + server.ca_cert(), "CLOISTER_TOKEN=" + token,
                                  "HOME=" + io.path(), "XDG_CONFIG_HOME="};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  WriteText(io.File("in"), stdin_text);
  const pid_t pid = Spawn(argv, env, io.File("in"), io.File("out"), io.File("err"));
  CommandResult r;
  r.exit_code = WaitExit(pid);
  r.out = Slurp(io.File("out"));
  r.err = Slurp(io.File("err"));
  return r;
}

std::unique_ptr<Connection> OpenDatabaseWithKeyFile(const std::string& data_dir,
                                                    const std::string& key_file) {
  auto keyring = LoadKeyring(data_dir + "/keyring.json");
  if (!keyring.ok()) return nullptr;
  auto kek = ReadKeyFile(key_file);
  if (!kek.ok()) return nullptr;
  auto data_key = UnwrapKey(*kek, keyring->data_key, keyring->WrapAad());
  if (!data_key.ok()) return nullptr;
  auto conn = Connection::Open(data_dir + "/cloister.db", *data_key, ConnectionOptions{});
  return conn.ok() ? std::move(*conn) : nullptr;
}

}  // namespace cloister::testing
