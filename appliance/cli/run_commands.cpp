// run, run show|cancel|logs, runs: starting the automations live in an
// environment and reading their runs (docs/runtime.md).
//
// `run` is one CLI11 subcommand with an optional positional NAME and three
// subcommands of its own. CLI11 recognizes a subcommand name before it fills
// a positional, so `run show ID` shows a run and `run NAME --env E` starts
// one; an automation named show, cancel or logs is started with
// `run --env E -- show`. Start options given with show, cancel or logs are a
// usage error rather than silently ignored.
#include <chrono>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "appliance/cli/commands.h"
#include "appliance/core/clock.h"

namespace cloister {
namespace {

std::string S(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}
std::string Short(const std::string& id) { return id.substr(0, 12); }

// `s` and spaces to `width`, at least one.
std::string Pad(const std::string& s, size_t width) {
  return s + std::string(s.size() < width ? width - s.size() : 1, ' ');
}

// Prints `line` without trailing spaces.
void PrintLine(std::string line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::cout << line << "\n";
}

std::string Duration(int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + " ms";
  const int64_t tenths = (ms + 50) / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

bool Terminal(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled" || state == "timed_out";
}

// "code: message" of an {"code", "message"} error, or "".
std::string ErrorOf(const Json& j) {
  if (!j.contains("error") || !j["error"].is_object()) return "";
  return S(j["error"], "code") + ": " + S(j["error"], "message");
}

std::string TriggeredBy(const Json& run) {
  const std::string trigger = S(run, "trigger");
  return trigger == "manual" ? "manual by " + S(run, "triggered_by") : trigger;
}

// One attempt on one line: "attempt 2  retrying  503  1.2 s  unexpected_status: ...".
std::string AttemptLine(const Json& a) {
  std::string line =
      "attempt " + std::to_string(a.value("attempt", 0)) + "  " + Pad(S(a, "outcome"), 11);
  if (a.contains("status") && a["status"].is_number_integer())
    line += std::to_string(a["status"].get<int>()) + "  ";
  line += Duration(a.value("duration_ms", int64_t{0}));
  if (const std::string error = ErrorOf(a); !error.empty()) line += "  " + error;
  return line;
}

void PrintRunSummary(const Json& run) {
  std::cout << "Run " << S(run, "id") << ": " << S(run, "automation") << " in "
            << S(run, "environment") << ", " << S(run, "state") << "\n";
}

void PrintRun(const Json& run) {
  PrintRunSummary(run);
  std::cout << "  version    " << Short(S(run, "version")) << "\n";
  std::cout << "  trigger    " << TriggeredBy(run) << "\n";
  std::cout << "  queued     " << S(run, "queued_at") << "\n";
  if (!S(run, "started_at").empty()) std::cout << "  started    " << S(run, "started_at") << "\n";
  if (!S(run, "finished_at").empty()) std::cout << "  finished   " << S(run, "finished_at") << "\n";
  if (run.contains("inputs") && run["inputs"].is_object() && !run["inputs"].empty()) {
    std::cout << "  inputs     "
              << run["inputs"].dump(-1, ' ', true, Json::error_handler_t::replace) << "\n";
  }
  if (const std::string error = ErrorOf(run); !error.empty())
    std::cout << "  error      " << error << "\n";
  if (run.value("cancel_requested", false) && !Terminal(S(run, "state"))) {
    std::cout << "  cancel requested: the run stops at its next step boundary\n";
  }
  if (!run.contains("steps")) return;
  std::cout << "  steps\n";
  for (const Json& step : run["steps"]) {
    const Json& attempts = step["attempts"];
    std::string line =
        "    " + Pad(S(step, "id"), 16) + Pad(S(step, "type"), 10) + Pad(S(step, "state"), 11);
    if (attempts.is_array() && !attempts.empty()) {
      const Json& last = attempts.back();
      line += std::to_string(attempts.size()) + (attempts.size() == 1 ? " attempt" : " attempts");
      if (last.contains("status") && last["status"].is_number_integer()) {
        line += "  " + std::to_string(last["status"].get<int>());
      }
      line += "  " + Duration(last.value("duration_ms", int64_t{0}));
      if (!ErrorOf(last).empty()) line += "  " + S(last["error"], "code");
    }
    PrintLine(line);
  }
}

// Every attempt of every step, with its output. `safe` is the answer with
// strings made TerminalSafe, `raw` the answer as received (outputs are
// printed from it as TerminalJson, which escapes every control).
void PrintLogs(const Json& safe, const Json& raw) {
  PrintRunSummary(safe);
  if (!safe.contains("steps") || !safe["steps"].is_array()) return;
  for (size_t i = 0; i < safe["steps"].size(); ++i) {
    const Json& step = safe["steps"][i];
    const Json& attempts = step["attempts"];
    std::cout << S(step, "id") << " (" << S(step, "type") << ")";
    if (!attempts.is_array() || attempts.empty()) {
      std::cout << ": " << S(step, "state") << "\n";
      continue;
    }
    std::cout << "\n";
    for (size_t k = 0; k < attempts.size(); ++k) {
      const Json& a = attempts[k];
      PrintLine("  " + S(a, "started_at") + "  " + AttemptLine(a));
      const Json& output = raw["steps"][i]["attempts"][k]["output"];
      if (a.value("output_pruned", false)) {
        std::cout << "      (output dropped after runtime.payload_retention_days)\n";
      } else if (!output.is_null()) {
        std::string text = TerminalJson(output);
        std::string indented = "      ";
        for (const char c : text)
          indented += c == '\n' ? std::string("\n      ") : std::string(1, c);
        std::cout << indented << "\n";
        if (a.value("output_truncated", false))
          std::cout << "      (cut at runtime.output_max_bytes)\n";
      }
    }
  }
  if (const std::string error = ErrorOf(safe); !error.empty())
    std::cout << "error: " << error << "\n";
}

// --input name=value (text; the appliance reads it as the input's type) and
// --input-json name=JSON, into one object. A malformed or repeated one is a
// usage error.
Json Inputs(const std::vector<std::string>& text, const std::vector<std::string>& json) {
  Json out = Json::object();
  const auto split = [&](const std::string& arg, const char* option) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CLI::ValidationError(option, "\"" + arg + "\" is not NAME=VALUE");
    const std::string name = arg.substr(0, eq);
    if (out.contains(name)) throw CLI::ValidationError(option, "input " + name + " is given twice");
    return std::make_pair(name, arg.substr(eq + 1));
  };
  for (const std::string& arg : text) {
    auto [name, value] = split(arg, "--input");
    out[name] = value;
  }
  for (const std::string& arg : json) {
    auto [name, value] = split(arg, "--input-json");
    auto parsed = ParseJson(value);
    if (!parsed.ok())
      throw CLI::ValidationError("--input-json",
                                 "input " + name + ": " + parsed.status().message());
    out[name] = std::move(parsed).value();
  }
  return out;
}

// Polls GET /v1/runs/{id} until the run ends (or `timeout_seconds` pass,
// when not 0), printing each attempt once as it is recorded. Returns the
// exit code: 0 succeeded, 3 ended otherwise, 1 on an error or when the time
// ran out.
int Wait(GlobalOptions& g, const std::string& id, int timeout_seconds) {
  GlobalOptions quiet = g;
  quiet.json = false;
  const SystemClock clock;
  const auto deadline = clock.Monotonic() + std::chrono::seconds(timeout_seconds);
  std::set<std::pair<size_t, int>> printed;  // (step index, attempt) already shown
  auto interval = std::chrono::milliseconds(250);
  for (;;) {
    int exit_code = 0;
    auto r = Call(quiet, exit_code, "GET", "/v1/runs/" + PathSegment(id));
    if (!r) {
      std::cerr << "The run goes on; see it with: cloisterctl run show " << TerminalSafe(id)
                << "\n";
      return exit_code;
    }
    const Json& run = r->json;
    if (!g.json && run["steps"].is_array()) {
      for (size_t i = 0; i < run["steps"].size(); ++i) {
        const Json& step = run["steps"][i];
        for (const Json& a : step["attempts"]) {
          if (!printed.insert({i, a.value("attempt", 0)}).second) continue;
          PrintLine("  " + Pad(S(step, "id"), 16) + Pad(S(step, "type"), 10) + AttemptLine(a));
          std::cout << std::flush;
        }
      }
    }
    const std::string state = S(run, "state");
    if (Terminal(state)) {
      if (g.json) {
        std::cout << TerminalJson(r->raw) << "\n";
      } else {
        std::cout << "Run " << S(run, "id") << " " << state;
        if (const std::string error = ErrorOf(run); !error.empty()) std::cout << ": " << error;
        std::cout << "\n";
      }
      return state == "succeeded" ? 0 : 3;
    }
    if (timeout_seconds > 0 && clock.Monotonic() + interval > deadline) {
      std::cerr << "Error: run " << TerminalSafe(id) << " is still " << state << " after "
                << timeout_seconds << " s; it goes on (cloisterctl run cancel " << TerminalSafe(id)
                << " stops it)\n";
      return 1;
    }
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 3 / 2, std::chrono::milliseconds(2000));
  }
}

struct StartFlags {
  std::string name, env, idempotency_key;
  std::vector<std::string> inputs, inputs_json;
  bool wait = false;
  int timeout_seconds = 0;
};

void Start(GlobalOptions& g, int& exit_code, const StartFlags& f) {
  Json request = {{"inputs", Inputs(f.inputs, f.inputs_json)}};
  if (!f.idempotency_key.empty()) request["idempotency_key"] = f.idempotency_key;
  GlobalOptions start = g;
  if (f.wait) start.json = false;  // with --wait, --json prints the finished run only
  auto r = Call(
      start, exit_code, "POST",
      "/v1/environments/" + PathSegment(f.env) + "/automations/" + PathSegment(f.name) + "/runs",
      request);
  if (!r) return;
  const std::string id = S(r->raw, "id");
  if (!r->printed && !g.json) {
    if (r->json.value("created", true)) {
      std::cout << "Started run " << S(r->json, "id") << ": " << S(r->json, "automation") << " in "
                << S(r->json, "environment") << ", " << S(r->json, "state") << "\n";
    } else {
      std::cout << "Run " << S(r->json, "id")
                << " was started before with this idempotency key: " << S(r->json, "state") << "\n";
    }
  }
  if (f.wait) exit_code = Wait(g, id, f.timeout_seconds);
}

void AddRun(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto f = std::make_shared<StartFlags>();
  auto id = std::make_shared<std::string>();
  CLI::App* run = app.add_subcommand(
      "run", "Start a run of the automation NAME live in --env; or run show|cancel|logs ID");
  run->add_option("name", f->name,
                  "The automation to start (an automation named show, cancel or logs: -- NAME)");
  run->add_option("--env", f->env,
                  "The environment whose live version runs (needs the operator role there)");
  // One value per occurrence, so `--input a=1 NAME` leaves NAME to the positional.
  run->add_option("--input", f->inputs,
                  "An input as NAME=VALUE (text, read as the input's type), repeatable")
      ->allow_extra_args(false);
  run->add_option("--input-json", f->inputs_json,
                  "An input as NAME=JSON (objects, arrays), repeatable")
      ->allow_extra_args(false);
  run->add_option("--idempotency-key", f->idempotency_key,
                  "Start at most one run for this key (the same key and inputs return that run)");
  CLI::Option* wait =
      run->add_flag("--wait", f->wait, "Wait for the run to end, printing each step attempt");
  run->add_option("--timeout", f->timeout_seconds,
                  "With --wait: stop waiting after this many seconds (0: never)")
      ->check(CLI::Range(0, 86400 * 7))
      ->needs(wait);
  run->add_flag("--json", g.json, "Print the API's JSON (with --wait: the finished run)");

  // show, cancel and logs take a run ID only; start options given with them
  // are refused before anything is sent.
  const auto only_id = [f] {
    if (!f->name.empty() || !f->env.empty() || !f->inputs.empty() || !f->inputs_json.empty() ||
        !f->idempotency_key.empty() || f->wait) {
      throw CLI::ValidationError("run", "show, cancel and logs take only a run ID (and --json)");
    }
  };

  CLI::App* show = run->add_subcommand("show", "Show a run and the state of each step");
  show->add_option("id", *id, "Run id, or a unique prefix of 8 or more characters")->required();
  show->add_flag("--json", g.json, "Print the API's JSON");
  show->callback([&g, &exit_code, id, only_id] {
    only_id();
    auto r = Call(g, exit_code, "GET", "/v1/runs/" + PathSegment(*id));
    if (r && !r->printed) PrintRun(r->json);
  });

  CLI::App* cancel = run->add_subcommand(
      "cancel", "Cancel a run: a queued one at once, a running one at its next step boundary");
  cancel->add_option("id", *id, "Run id, or a unique prefix of 8 or more characters")->required();
  cancel->callback([&g, &exit_code, id, only_id] {
    only_id();
    auto r = Call(g, exit_code, "POST", "/v1/runs/" + PathSegment(*id) + "/cancel", Json::object());
    if (!r || r->printed) return;
    if (S(r->json, "state") == "cancelled") {
      std::cout << "Run " << S(r->json, "id") << " cancelled\n";
    } else {
      std::cout << "Run " << S(r->json, "id") << " is " << S(r->json, "state")
                << "; it stops at its next step boundary\n";
    }
  });

  CLI::App* logs = run->add_subcommand(
      "logs", "Every attempt of every step: time, outcome, status, duration, output");
  logs->add_option("id", *id, "Run id, or a unique prefix of 8 or more characters")->required();
  logs->add_flag("--json", g.json, "Print the API's JSON");
  logs->callback([&g, &exit_code, id, only_id] {
    only_id();
    auto r = Call(g, exit_code, "GET", "/v1/runs/" + PathSegment(*id));
    if (r && !r->printed) PrintLogs(r->json, r->raw);
  });

  // Runs after the callback of a subcommand that was given, which did the work.
  run->callback([&g, &exit_code, f, run] {
    if (!run->get_subcommands().empty()) return;
    if (f->name.empty()) throw CLI::RequiredError("name (or show, cancel or logs)");
    if (f->env.empty()) throw CLI::RequiredError("--env");
    Start(g, exit_code, *f);
  });
}

void AddRuns(CLI::App& app, GlobalOptions& g, int& exit_code) {
  struct ListFlags {
    std::string env, automation, state, since, before;
    int limit = 0;
  };
  auto f = std::make_shared<ListFlags>();
  CLI::App* runs =
      app.add_subcommand("runs", "List runs, newest first, of the environments you hold a role in");
  runs->add_option("--env", f->env, "Only runs in this environment");
  runs->add_option("--automation", f->automation, "Only runs of this automation");
  runs->add_option("--state", f->state, "Only runs in this state")
      ->check(CLI::IsMember(
          {"queued", "running", "waiting", "succeeded", "failed", "cancelled", "timed_out"}));
  runs->add_option("--since", f->since, "Only runs queued at or after this time (RFC 3339)");
  runs->add_option("--before", f->before,
                   "Only runs queued before this run (its full id): the next page");
  runs->add_option("--limit", f->limit, "At most this many (default 100)")
      ->check(CLI::Range(1, 1000));
  runs->add_flag("--json", g.json, "Print the API's JSON");
  runs->callback([&g, &exit_code, f] {
    std::string q;
    const auto add = [&](const char* name, const std::string& v) {
      if (!v.empty()) q += (q.empty() ? "?" : "&") + std::string(name) + "=" + QueryValue(v);
    };
    add("env", f->env);
    add("automation", f->automation);
    add("state", f->state);
    add("since", f->since);
    add("before", f->before);
    add("limit", f->limit > 0 ? std::to_string(f->limit) : "");
    auto r = Call(g, exit_code, "GET", "/v1/runs" + q);
    if (!r || r->printed) return;
    const Json items = r->json.value("runs", Json::array());
    SayIfEmpty(items, "runs");
    for (const Json& run : items) {
      std::cout << S(run, "id") << "  " << Pad(S(run, "state"), 11) << S(run, "automation") << "  "
                << S(run, "environment") << "  " << TriggeredBy(run) << "  " << S(run, "queued_at");
      if (!ErrorOf(run).empty()) std::cout << "  " << S(run["error"], "code");
      std::cout << "\n";
    }
  });
}

}  // namespace

void AddRunCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  AddRun(app, g, exit_code);
  AddRuns(app, g, exit_code);
}

}  // namespace cloister
