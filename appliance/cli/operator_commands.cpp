// cloisterctl operator init|unseal|seal|status
#include <iostream>

#include "appliance/cli/commands.h"

namespace cloister {
namespace {

struct InitFlags {
  int shares = 5;
  int threshold = 3;
  std::string key_file;
  std::string name;
  std::vector<std::string> environments;
  std::string admin_user;
};

void PrintStatus(const Json& s) {
  std::cout << "Initialized:  " << (s.value("initialized", false) ? "true" : "false") << "\n"
            << "Sealed:       " << (s.value("sealed", true) ? "true" : "false") << "\n";
  if (s.value("initialized", false)) {
    std::cout << "Seal type:    " << s.value("type", "") << "\n";
    if (s.value("type", "") == "shamir") {
      std::cout << "Shares:       " << s.value("shares", 0) << "\n"
                << "Threshold:    " << s.value("threshold", 0) << "\n"
                << "Progress:     " << s.value("progress", 0) << "/" << s.value("threshold", 0) << "\n";
    }
    std::cout << "Appliance id: " << s.value("appliance_id", "") << "\n";
  }
  std::cout << "Version:      " << s.value("version", "") << "\n";
}

int Init(GlobalOptions& g, const InitFlags& f, bool key_file_given) {
  Json body = Json::object();
  if (key_file_given) {
    body["key_file"] = f.key_file;
  } else {
    body["shares"] = f.shares;
    body["threshold"] = f.threshold;
  }
  if (!f.name.empty()) body["appliance_name"] = f.name;
  if (!f.admin_user.empty()) body["admin_username"] = f.admin_user;
  if (!f.environments.empty()) body["environments"] = f.environments;
  ApiClient client(g.client);
  auto r = client.PostJson("/v1/sys/init", body);
  if (!Succeeded(r)) return ReportFailure(r);
  if (g.json) {
    std::cout << TerminalJson(r->json()) << "\n";
    return 0;
  }
  const Json j = TerminalSafeJson(r->json());
  if (j.contains("shares")) {
    int i = 1;
    for (const auto& s : j["shares"]) std::cout << "Unseal share " << i++ << ": " << s.get<std::string>() << "\n";
  } else {
    std::cout << "Unseal key file: " << j.value("key_file", "") << "\n";
  }
  std::cout << "\nFirst admin user:    " << j.value("initial_admin_user", "") << "\n"
            << "Its password:        " << j.value("initial_admin_password", "") << "\n"
            << "Initial admin token: " << j.value("initial_admin_token", "") << "\n"
            << "Appliance:           " << j.value("appliance_name", "") << " (" << j.value("appliance_id", "") << ")\n"
            << "Environments:        ";
  for (const auto& e : j["environments"]) std::cout << e.get<std::string>() << " ";
  std::cout << "\nTLS fingerprint:     " << j.value("tls_fingerprint", "") << "\n\n";
  if (j.contains("shares")) {
    std::cout << "The appliance is initialized and sealed. Unseal it with " << j.value("threshold", 0) << " of the "
              << j["shares"].size() << " shares,\none per call: cloisterctl operator unseal\n"
              << "The shares, the password and the token are shown only this once. Give each share to a\n"
              << "different person and keep the credentials apart from them; the appliance stores none\n"
              << "of them. Once you have logged in (cloisterctl login " << j.value("initial_admin_user", "")
              << "), you may revoke the initial token.\n";
  } else {
    std::cout << "The appliance is initialized and sealed. Unseal it with: cloisterctl operator unseal\n"
              << "Keep the key file on a separate mount; whoever reads it can unseal the appliance.\n";
  }
  return 0;
}

int Unseal(GlobalOptions& g, std::string share, bool reset) {
  ApiClient client(g.client);
  Json body = Json::object();
  if (reset) {
    body["reset"] = true;
  } else {
    auto status = client.Get("/v1/sys/seal-status");
    if (!Succeeded(status)) return ReportFailure(status);
    if (status->json().value("type", "") == "shamir") {
      if (share.empty()) share = ReadSecret("Unseal share");
      body["share"] = share;
    }
  }
  auto r = client.PostJson("/v1/sys/unseal", body);
  if (!Succeeded(r)) return ReportFailure(r);
  if (g.json) {
    std::cout << TerminalJson(r->json()) << "\n";
  } else {
    PrintStatus(TerminalSafeJson(r->json()));
  }
  return 0;
}

}  // namespace

void AddOperatorCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* op = app.add_subcommand("operator", "Initialize, unseal and seal the appliance");
  op->require_subcommand(1);

  auto init_flags = std::make_shared<InitFlags>();
  CLI::App* init = op->add_subcommand("init", "Initialize the appliance (once): data key, unseal shares or key file, admin token");
  auto* shares = init->add_option("--shares", init_flags->shares, "Number of Shamir unseal shares (default 5)")->check(CLI::Range(1, 255));
  auto* threshold = init->add_option("--threshold", init_flags->threshold, "Shares needed to unseal (default 3)")->check(CLI::Range(1, 255));
  auto* key_file = init->add_option("--key-file", init_flags->key_file, "Seal with a key file created at this absolute path (mode 0600) instead of shares");
  key_file->excludes(shares)->excludes(threshold);
  init->add_option("--name", init_flags->name, "Appliance name (default: the server's host name)");
  init->add_option("--admin-user", init_flags->admin_user, "Name of the first admin user (default admin)");
  init->add_option("--environments", init_flags->environments, "Environments in promotion order (default dev,test,prod)")->delimiter(',');
  init->callback([&g, &exit_code, init_flags, key_file] { exit_code = Init(g, *init_flags, key_file->count() > 0); });

  auto share = std::make_shared<std::string>();
  auto reset = std::make_shared<bool>(false);
  CLI::App* unseal = op->add_subcommand("unseal", "Give one unseal share (prompted when omitted), or unseal with the key file");
  unseal->add_option("share", *share, "An unseal share; omit it to type it without echo");
  unseal->add_flag("--reset", *reset, "Forget the shares given so far");
  unseal->callback([&g, &exit_code, share, reset] { exit_code = Unseal(g, *share, *reset); });

  CLI::App* seal = op->add_subcommand("seal", "Seal the appliance: close the database and forget its key");
  seal->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "POST", "/v1/sys/seal");
    if (r && !r->printed) std::cout << "Sealed.\n";
  });

  // Health answers sealed and uninitialized appliances too (with 503 and
  // 501), so it reads the body whatever the status; the installer parses
  // the "name value" lines.
  CLI::App* health = app.add_subcommand("health", "Show the appliance's health; exit 0 unsealed, 2 sealed, 3 not initialized, 1 unreachable");
  health->callback([&g, &exit_code] {
    ApiClient client(g.client);
    auto r = client.Get("/v1/sys/health");
    const Json body = r.ok() ? r->json() : Json();
    if (!r.ok() || !body.is_object() || !body.contains("version")) {
      exit_code = ReportFailure(r);
      return;
    }
    if (g.json) {
      std::cout << TerminalJson(body) << "\n";
    } else {
      const Json safe = TerminalSafeJson(body);
      for (const char* key : {"version", "initialized", "sealed", "seal_type", "uptime_seconds"}) {
        if (safe.contains(key)) std::cout << key << " " << (safe[key].is_string() ? safe[key].get<std::string>() : safe[key].dump()) << "\n";
      }
    }
    exit_code = !body.value("initialized", false) ? 3 : body.value("sealed", true) ? 2 : 0;
  });

  CLI::App* status = op->add_subcommand("status", "Show seal status; exit 0 unsealed, 2 sealed, 1 error");
  status->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/sys/seal-status");
    if (!r) return;
    if (!r->printed) PrintStatus(r->json);
    exit_code = r->json.value("sealed", true) ? 2 : 0;
  });
}

}  // namespace cloister
