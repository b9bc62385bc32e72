// cloisterctl: the command-line client of the Cloister appliance.
#include <Poco/URI.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "appliance/cli/commands.h"
#include "appliance/core/files.h"
#include "appliance/core/version.h"

namespace cloister {

bool Succeeded(const Result<ApiResponse>& r) {
  return r.ok() && r->status >= 200 && r->status < 300;
}

int ReportFailure(const Result<ApiResponse>& r) {
  return Fail(r.ok() ? r->ErrorText() : r.status().message());
}

int Fail(const std::string& message) {
  std::cerr << "Error: " << TerminalSafe(message) << "\n";
  return 1;
}

std::optional<CallResult> Call(GlobalOptions& g, int& exit_code, const std::string& method,
                               const std::string& path, const Json& body) {
  ApiClient client(g.client);
  auto r = client.Send(method, path, body.is_null() ? "" : body.dump());
  if (!Succeeded(r)) {
    exit_code = ReportFailure(r);
    return std::nullopt;
  }
  CallResult out{std::move(r).value(), Json(), Json(), false};
  out.raw = out.response.json();
  out.json = TerminalSafeJson(out.raw);
  if (g.json && !out.raw.is_null()) {
    std::cout << TerminalJson(out.raw) << "\n";
    out.printed = true;
  }
  return out;
}

std::string PathSegment(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "/?#%;", out);
  return out;
}

std::string QueryValue(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "/?#%;+&=", out);
  return out;
}

void SayIfEmpty(const Json& items, const std::string& what) {
  if (!items.is_array() || items.empty()) std::cerr << "no " << what << " match\n";
}

std::string ReadSecret(const std::string& prompt) {
  const bool tty = isatty(STDIN_FILENO);
  termios saved{};
  if (tty) {
    std::cerr << prompt << " (will be hidden): " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  return line;
}

std::string StoredTokenPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  const std::string base = xdg && *xdg ? xdg : std::string(home && *home ? home : ".") + "/.config";
  return base + "/cloister/token";
}

std::string LoadStoredToken() {
  auto text = ReadFile(StoredTokenPath(), 4096);
  if (!text.ok()) return "";
  std::string token = *text;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

Status StoreToken(const std::string& token) {
  const std::string path = StoredTokenPath();
  CL_RETURN_IF_ERROR(MakeDirectories(path.substr(0, path.rfind('/')), 0700));
  return WriteFileAtomic(path, token + "\n", 0600);
}

void ForgetStoredToken() { std::remove(StoredTokenPath().c_str()); }

}  // namespace cloister

namespace {

std::string Env(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const auto terminal_filter = cloister::InstallTerminalFilter();
  cloister::GlobalOptions global;
  global.client.address = Env("CLOISTER_ADDR", "https://127.0.0.1:8443");
  global.client.ca_cert = Env("CLOISTER_CACERT", "");
  global.client.token = Env("CLOISTER_TOKEN", "");
  if (global.client.token.empty()) global.client.token = cloister::LoadStoredToken();
  global.client.client_cert = Env("CLOISTER_CLIENT_CERT", "");
  global.client.client_key = Env("CLOISTER_CLIENT_KEY", "");
  int exit_code = 0;

  CLI::App app{"cloisterctl: operate a Cloister appliance"};
  app.set_version_flag("--version", std::string("cloisterctl ") + cloister::CloisterVersion());
  app.require_subcommand(1);
  app.add_option("--addr", global.client.address, "Appliance URL (env CLOISTER_ADDR)");
  app.add_option("--ca-cert", global.client.ca_cert,
                 "PEM file that verifies the appliance's certificate (env CLOISTER_CACERT)");
  app.add_option("--token", global.client.token,
                 "API token (env CLOISTER_TOKEN; default: the session saved by cloisterctl login)");
  app.add_option("--client-cert", global.client.client_cert,
                 "PEM client certificate for TLS (env CLOISTER_CLIENT_CERT)");
  app.add_option("--client-key", global.client.client_key,
                 "PEM key of the client certificate (env CLOISTER_CLIENT_KEY)");
  app.add_flag("--json", global.json, "Print the API's JSON responses");
  cloister::AddOperatorCommands(app, global, exit_code);
  cloister::AddAuditCommands(app, global, exit_code);
  cloister::AddTokenCommands(app, global, exit_code);
  cloister::AddUserCommands(app, global, exit_code);
  cloister::AddPolicyCommands(app, global, exit_code);
  cloister::AddPromotionCommands(app, global, exit_code);
  cloister::AddBackupCommands(app, global, exit_code);
  cloister::AddRunCommands(app, global, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
