// cloister-verify: checks Cloister audit exports and proofs offline, with
// nothing but OpenSSL and the standard library.
//
//   cloister-verify bundle EXPORT --key VKEY [--state FILE] [--json]
//   cloister-verify proof FILE --event EVENT.json --key VKEY [--json]
//
// VKEY is the verifier key string printed at init (or a file holding it).
// Exit status: 0 everything verifies, 1 something does not, 2 usage or I/O.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/verify/bundle_verifier.h"

extern char** environ;

namespace {

using namespace cloister::verify;

constexpr char kUsage[] =
    "usage:\n"
    "  cloister-verify bundle EXPORT --key VKEY [--state FILE] [--json]\n"
    "  cloister-verify proof FILE --event EVENT.json --key VKEY [--json]\n"
    "EXPORT is an export directory or .tar.gz; VKEY the verifier key (or a file holding it).\n";

int Usage(const std::string& why) {
  std::cerr << "cloister-verify: " << why << "\n" << kUsage;
  return 2;
}

bool LoadKey(const std::string& arg, VerifierKey* key, std::string* error) {
  std::string text = arg;
  struct stat st;
  if (stat(arg.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    if (!ReadWholeFile(arg, &text)) {
      *error = "cannot read " + arg;
      return false;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  }
  return ParseVerifierKey(text, key, error);
}

// Unpacks a .tar.gz with the system tar into a new temporary directory and
// returns the bundle directory inside it.
bool Unpack(const std::string& archive, std::string* dir, std::string* error) {
  char tmpl[] = "/tmp/cloister-verify-XXXXXX";
  if (!mkdtemp(tmpl)) {
    *error = "cannot create a temporary directory";
    return false;
  }
  const std::string tmp = tmpl;
  std::vector<std::string> args = {"tar", "-xzf", archive, "-C", tmp, "--no-same-owner", "--no-same-permissions"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int status = 0;
  if (posix_spawnp(&pid, "tar", nullptr, nullptr, argv.data(), environ) != 0 || waitpid(pid, &status, 0) < 0 ||
      !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = archive + " is not a readable .tar.gz export";
    return false;
  }
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::directory_iterator(tmp)) {
    if (e.is_directory()) dirs.push_back(e.path().string());
  }
  if (dirs.size() != 1) {
    *error = archive + " must hold exactly one directory";
    return false;
  }
  *dir = dirs[0];
  return true;
}

int Bundle(const std::string& path, const VerifierKey& key, const std::string& state_file, bool json) {
  std::string dir = path, error;
  std::optional<std::string> cleanup;
  if (std::filesystem::is_regular_file(path)) {
    if (!Unpack(path, &dir, &error)) return Usage(error);
    cleanup = std::filesystem::path(dir).parent_path().string();
  } else if (!std::filesystem::is_directory(path)) {
    return Usage(path + " is neither an export directory nor a .tar.gz");
  }
  std::optional<AcceptedState> previous;
  if (!state_file.empty() && !LoadState(state_file, &previous, &error)) return Usage(error);
  const BundleReport report = VerifyBundle(dir, key, previous);
  if (cleanup) std::filesystem::remove_all(*cleanup);
  bool saved = false;
  if (report.ok() && !state_file.empty() && report.accepted) {
    if (!SaveState(state_file, *report.accepted, &error)) return Usage(error);
    saved = true;
  }
  if (json) {
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& f : report.failures) {
      failures.push_back({{"file", f.file}, {"seq", f.seq ? nlohmann::json(*f.seq) : nlohmann::json()}, {"message", f.message}});
    }
    std::cout << nlohmann::json{{"ok", report.ok()},
                                {"first_seq", report.first_seq},
                                {"last_seq", report.last_seq},
                                {"tree_size", report.tree_size},
                                {"events", report.events},
                                {"redacted", report.redacted},
                                {"passed", report.passed},
                                {"failures", failures},
                                {"state_saved", saved}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& p : report.passed) std::cout << "OK    " << p << "\n";
    for (const auto& f : report.failures) {
      std::cout << "FAIL  " << f.file << (f.seq ? " seq " + std::to_string(*f.seq) : "") << ": " << f.message << "\n";
    }
    if (saved) std::cout << "state: accepted tree size " << report.tree_size << " recorded in " << state_file << "\n";
    std::cout << (report.ok() ? "VERIFIED" : "NOT VERIFIED") << "\n";
  }
  return report.ok() ? 0 : 1;
}

int Proof(const std::string& file, const std::string& event_file, const VerifierKey& key, bool json) {
  std::string proof, event, error;
  if (!ReadWholeFile(file, &proof)) return Usage("cannot read " + file);
  if (!ReadWholeFile(event_file, &event)) return Usage("cannot read " + event_file);
  const bool ok = VerifyProofFile(proof, event, key, &error);
  if (json) {
    std::cout << nlohmann::json{{"ok", ok}, {"file", file}, {"message", ok ? "verified" : error}}.dump(2) << "\n";
  } else {
    std::cout << (ok ? "VERIFIED" : "NOT VERIFIED: " + file + ": " + error) << "\n";
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage("missing arguments");
  const std::string command = argv[1];
  const std::string target = argv[2];
  std::map<std::string, std::string> options;
  bool json = false;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if ((a == "--key" || a == "--state" || a == "--event") && i + 1 < argc) {
      options[a] = argv[++i];
    } else {
      return Usage("unknown argument " + a);
    }
  }
  if (!options.count("--key")) return Usage("--key is required");
  VerifierKey key;
  std::string error;
  if (!LoadKey(options["--key"], &key, &error)) return Usage("--key: " + error);
  if (command == "bundle") return Bundle(target, key, options["--state"], json);
  if (command == "proof") {
    if (!options.count("--event")) return Usage("proof needs --event EVENT.json");
    return Proof(target, options["--event"], key, json);
  }
  return Usage("unknown command " + command);
}
