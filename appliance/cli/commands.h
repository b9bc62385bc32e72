// cloisterctl's command groups. Each Add*Commands registers its subcommands
// on the CLI11 app; they run with the shared global options.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "appliance/cli/api_client.h"
#include "appliance/cli/terminal_text.h"

namespace cloister {

// True for a 2xx answer.
bool Succeeded(const Result<ApiResponse>& r);
// Prints why a call failed ("Error: <code>: <message>", the text made
// TerminalSafe) and returns exit code 1.
int ReportFailure(const Result<ApiResponse>& r);
// Prints "Error: <message>" (made TerminalSafe) and returns exit code 1.
int Fail(const std::string& message);

struct GlobalOptions {
  ClientOptions client;
  bool json = false;  // print the API's JSON instead of text
};

// `value` percent-encoded for use as one segment of a URL path.
std::string PathSegment(const std::string& value);

// `value` percent-encoded for use as one query parameter value ("+", "&"
// and "=" included, so "+01:00" arrives as written).
std::string QueryValue(const std::string& value);

// Prints "no <what> match" to standard error when a listing is empty, so a
// script reading standard output still sees nothing; the exit code stays 0.
void SayIfEmpty(const Json& items, const std::string& what);

// Reads one line from standard input, without echo (after "<prompt>: ")
// when it is a terminal.
std::string ReadSecret(const std::string& prompt);

// Where `cloisterctl login` keeps its session: $XDG_CONFIG_HOME/cloister/token,
// or ~/.config/cloister/token (directory 0700, file 0600).
std::string StoredTokenPath();
// The stored token, or "" when there is none.
std::string LoadStoredToken();
Status StoreToken(const std::string& token);
void ForgetStoredToken();

// Sends one call. On failure reports it, sets exit_code to 1 and returns
// nullopt; with --json on success, prints the JSON answer (TerminalJson) and
// returns it with printed set, so the caller prints nothing more.
struct CallResult {
  ApiResponse response;
  Json json;  // the answer with every string TerminalSafe: what text output prints
  Json raw;   // the answer as received: what is sent back or stored
  bool printed = false;
};
std::optional<CallResult> Call(GlobalOptions& g, int& exit_code, const std::string& method,
                               const std::string& path, const Json& body = nullptr);

// Exit codes: 0 success, 1 error, 2 (status only) sealed.
void AddOperatorCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
// Exit codes: 0 success (verify: the ledger verifies), 1 otherwise.
void AddAuditCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
void AddTokenCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
// login, logout, whoami, passwd, user ..., role ..., lockout ...
void AddUserCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
// policy test (offline; exit 1 on a failing case or low coverage), eval, list, show, put, ...
void AddPolicyCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
// automation ..., env ..., pipeline ..., promote, approve, reject, deploy, cancel,
// override, review, status, rollback, diff.
void AddPromotionCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
// backup create|list|verify|restore, upgrade.
void AddBackupCommands(CLI::App& app, GlobalOptions& global, int& exit_code);
// run NAME --env E [--wait], run show|cancel|logs ID, runs. Exit codes: 0
// success, 1 error (or --timeout passed with the run still going), 3 when
// `run --wait` saw the run end failed, timed_out or cancelled.
void AddRunCommands(CLI::App& app, GlobalOptions& global, int& exit_code);

}  // namespace cloister
