// cloisterctl audit events|export|verify|public-key
#include <fstream>
#include <iostream>

#include "appliance/cli/commands.h"

namespace cloister {
namespace {

struct AuditFlags {
  std::string from_seq, to_seq, since, until, actor, action, env, outcome, cursor, limit = "100";
  std::string output;
  int64_t since_size = 0;
};


std::string EventsQuery(const AuditFlags& f) {
  std::string q;
  auto add = [&](const char* name, const std::string& v) {
    if (!v.empty()) q += (q.empty() ? "?" : "&") + std::string(name) + "=" + QueryValue(v);
  };
  add("from_seq", f.from_seq);
  add("to_seq", f.to_seq);
  add("since", f.since);
  add("until", f.until);
  add("actor", f.actor);
  add("action", f.action);
  add("env", f.env);
  add("outcome", f.outcome);
  add("cursor", f.cursor);
  add("limit", f.limit);
  return q;
}

void AddFilterOptions(CLI::App* cmd, AuditFlags& f) {
  cmd->add_option("--actor", f.actor, "Only events by this actor id");
  cmd->add_option("--action", f.action, "Only events with this action");
  cmd->add_option("--env", f.env, "Only events about this environment");
  cmd->add_option("--outcome", f.outcome, "success, denied or error");
}

int Events(GlobalOptions& g, const AuditFlags& f) {
  ApiClient client(g.client);
  auto r = client.Get("/v1/audit/events" + EventsQuery(f));
  if (!Succeeded(r)) return ReportFailure(r);
  if (g.json) {
    std::cout << TerminalJson(r->json()) << "\n";
    return 0;
  }
  const Json j = TerminalSafeJson(r->json());
  for (const auto& e : j["events"]) {
    std::cout << e["seq"] << "  " << e["time"].get<std::string>() << "  " << e["outcome"].get<std::string>() << "  "
              << e["action"].get<std::string>() << "  " << e["actor"]["kind"].get<std::string>() << ":"
              << e["actor"]["id"].get<std::string>() << (e.contains("reason") ? "  " + e["reason"].get<std::string>() : "")
              << "\n";
  }
  SayIfEmpty(j["events"], "events");
  if (!j["next_cursor"].is_null()) std::cout << "more: --cursor " << j["next_cursor"] << "\n";
  return 0;
}

int Export(GlobalOptions& g, const AuditFlags& f) {
  if (f.output.empty()) {
    std::cerr << "Error: --output FILE.tar.gz is required\n";
    return 1;
  }
  Json body = Json::object();
  auto number = [](const std::string& s) { return Json(std::stoll(s)); };
  try {
    if (!f.from_seq.empty()) body["from_seq"] = number(f.from_seq);
    if (!f.to_seq.empty()) body["to_seq"] = number(f.to_seq);
  } catch (const std::exception&) {
    std::cerr << "Error: --from-seq and --to-seq take numbers\n";
    return 1;
  }
  if (!f.since.empty()) body["since"] = f.since;
  if (!f.until.empty()) body["until"] = f.until;
  if (f.since_size > 0) body["since_size"] = f.since_size;
  Json filter = Json::object();
  if (!f.actor.empty()) filter["actor"] = f.actor;
  if (!f.action.empty()) filter["action"] = f.action;
  if (!f.env.empty()) filter["env"] = f.env;
  if (!f.outcome.empty()) filter["outcome"] = f.outcome;
  if (!filter.empty()) body["filter"] = filter;
  ApiClient client(g.client);
  auto r = client.PostJson("/v1/audit/exports", body);
  if (!Succeeded(r)) return ReportFailure(r);
  std::ofstream out(f.output, std::ios::binary | std::ios::trunc);
  out.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
  if (!out) {
    std::cerr << "Error: cannot write " << f.output << "\n";
    return 1;
  }
  std::cout << "Wrote " << f.output << " (" << r->body.size() << " bytes). Verify it offline:\n"
            << "  cloister-verify bundle " << f.output << " --key VERIFIER_KEY --state review.state\n";
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Read, export and verify the audit ledger");
  audit->require_subcommand(1);

  auto ev = std::make_shared<AuditFlags>();
  CLI::App* events = audit->add_subcommand("events", "List audit events");
  events->add_option("--from-seq", ev->from_seq, "First seq");
  events->add_option("--to-seq", ev->to_seq, "Last seq");
  events->add_option("--since", ev->since, "RFC 3339 time, inclusive");
  events->add_option("--until", ev->until, "RFC 3339 time, inclusive");
  events->add_option("--cursor", ev->cursor, "Continue from a previous page's cursor");
  events->add_option("--limit", ev->limit, "Events per page (1-1000, default 100)");
  AddFilterOptions(events, *ev);
  events->callback([&g, &exit_code, ev] { exit_code = Events(g, *ev); });

  auto ex = std::make_shared<AuditFlags>();
  CLI::App* exp = audit->add_subcommand("export", "Export a range as a verifiable bundle (.tar.gz)");
  exp->add_option("-o,--output", ex->output, "Where to write the .tar.gz")->required();
  exp->add_option("--from-seq", ex->from_seq, "First seq (default 0)");
  exp->add_option("--to-seq", ex->to_seq, "Last seq (default: the latest)");
  exp->add_option("--since", ex->since, "Instead of seqs: first time (RFC 3339)");
  exp->add_option("--until", ex->until, "Instead of seqs: last time (RFC 3339)");
  exp->add_option("--since-size", ex->since_size, "Add a consistency proof from this tree size (your last review's)");
  AddFilterOptions(exp, *ex);
  exp->callback([&g, &exit_code, ex] { exit_code = Export(g, *ex); });

  CLI::App* verify = audit->add_subcommand("verify", "Have the appliance re-verify its whole ledger");
  verify->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/audit/verify");
    if (!r) return;
    const Json& j = r->json;
    if (r->printed) {
      // printed as JSON
    } else if (j.value("ok", false)) {
      std::cout << "Ledger verified: " << j["events_checked"] << " events, " << j["checkpoints_checked"]
                << " checkpoints.\n";
    } else {
      std::cout << "LEDGER DOES NOT VERIFY at seq " << j["first_bad_seq"] << ": " << j.value("problem", "") << "\n";
    }
    exit_code = j.value("ok", false) ? 0 : 1;
  });

  CLI::App* key = audit->add_subcommand("public-key", "Print the verifier key auditors pin");
  key->callback([&g, &exit_code] {
    auto r = Call(g, exit_code, "GET", "/v1/audit/public-key");
    if (r) std::cout << TerminalSafeLines(r->response.body);
  });
}

}  // namespace cloister
