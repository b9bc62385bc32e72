// cloisterctl: the command-line client of the Cloister appliance.
#include <cstdlib>
#include <iostream>

#include "appliance/cli/commands.h"

namespace cloister {

bool Succeeded(const Result<ApiResponse>& r) { return r.ok() && r->status >= 200 && r->status < 300; }

int ReportFailure(const Result<ApiResponse>& r) {
  std::cerr << "Error: " << (r.ok() ? r->ErrorText() : r.status().message()) << "\n";
  return 1;
}

std::optional<CallResult> Call(GlobalOptions& g, int& exit_code, const std::string& method, const std::string& path,
                               const Json& body) {
  ApiClient client(g.client);
  auto r = client.Send(method, path, body.is_null() ? "" : body.dump());
  if (!Succeeded(r)) {
    exit_code = ReportFailure(r);
    return std::nullopt;
  }
  CallResult out{std::move(r).value(), Json(), false};
  out.json = out.response.json();
  if (g.json && !out.json.is_null()) {
    std::cout << out.json.dump(2) << "\n";
    out.printed = true;
  }
  return out;
}

}  // namespace cloister

namespace {

std::string Env(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  cloister::GlobalOptions global;
  global.client.address = Env("CLOISTER_ADDR", "https://127.0.0.1:8443");
  global.client.ca_cert = Env("CLOISTER_CACERT", "");
  global.client.token = Env("CLOISTER_TOKEN", "");
  int exit_code = 0;

  CLI::App app{"cloisterctl: operate a Cloister appliance"};
  app.set_version_flag("--version", std::string("cloisterctl ") + CLOISTER_VERSION);
  app.require_subcommand(1);
  app.add_option("--addr", global.client.address, "Appliance URL (env CLOISTER_ADDR)");
  app.add_option("--ca-cert", global.client.ca_cert, "PEM file that verifies the appliance's certificate (env CLOISTER_CACERT)");
  app.add_option("--token", global.client.token, "API token (env CLOISTER_TOKEN)");
  app.add_flag("--json", global.json, "Print the API's JSON responses");
  cloister::AddOperatorCommands(app, global, exit_code);
  cloister::AddAuditCommands(app, global, exit_code);
  cloister::AddTokenCommands(app, global, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
