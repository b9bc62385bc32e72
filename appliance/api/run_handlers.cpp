// Runs: POST /v1/environments/{env}/automations/{name}/runs starts one;
// GET /v1/runs lists them, GET /v1/runs/{id} shows one with its steps and
// attempts, POST /v1/runs/{id}/cancel cancels it (docs/runtime.md). The
// permission table admits callers holding a role in some environment; the
// handlers check the role in the run's environment.
#include <algorithm>

#include "appliance/api/routes.h"
#include "appliance/storage/id_prefix.h"

namespace cloister {
namespace {

using runtime::RunRecord;
using runtime::StepAttempt;

const std::vector<Role> kReaders = {Role::kAuthor, Role::kApprover, Role::kOperator,
                                    Role::kAuditor};

Json RunJson(const RunRecord& r, const std::function<std::string(const std::string&)>& names) {
  const bool person = r.trigger == "manual";
  return {
      {"id", r.id},
      {"state", std::string(runtime::RunStateName(r.state))},
      {"automation", r.automation},
      {"environment", r.environment},
      {"version", r.version},
      {"trigger", r.trigger},
      {"triggered_by", person ? names(r.triggered_by) : r.triggered_by},
      {"triggered_by_id", r.triggered_by},
      {"queued_at", r.queued_at},
      {"started_at", OrNull(r.started_at)},
      {"finished_at", OrNull(r.finished_at)},
      {"cancel_requested", !r.cancel_requested_by.empty()},
      {"error",
       r.error_code.empty() ? Json() : Json{{"code", r.error_code}, {"message", r.error_message}}}};
}

Json AttemptJson(const StepAttempt& a) {
  Json output;
  if (a.output) {
    auto parsed =
        a.output_truncated ? Result<Json>(Status::InvalidArgument("cut")) : ParseJson(*a.output);
    output = parsed.ok() ? std::move(parsed).value() : Json(*a.output);
  }
  return {
      {"attempt", a.attempt},
      {"outcome", a.outcome},
      {"started_at", a.started_at},
      {"duration_ms", a.duration_ms},
      {"status", a.status == 0 ? Json() : Json(a.status)},
      {"error",
       a.error_code.empty() ? Json() : Json{{"code", a.error_code}, {"message", a.error_message}}},
      {"request_sha256", OrNull(a.request_sha256)},
      {"response_sha256", OrNull(a.response_sha256)},
      {"output", output},
      {"output_truncated", a.output_truncated},
      {"output_pruned", !a.output && a.outcome == "succeeded"}};
}

Json RunDetailJson(const runtime::RunDetail& d,
                   const std::function<std::string(const std::string&)>& names) {
  Json out = RunJson(d.run, names);
  out["inputs"] = d.run.inputs;
  Json steps = Json::array();
  for (size_t i = 0; i < d.steps.size(); ++i) {
    const Json& s = d.steps[i];
    Json attempts = Json::array();
    std::string state = "pending";
    for (const StepAttempt& a : d.attempts) {
      if (a.step_index != static_cast<int>(i)) continue;
      attempts.push_back(AttemptJson(a));
      state = a.outcome;
    }
    if (attempts.empty() && static_cast<int>(i) < d.run.next_step) state = "skipped";
    if (attempts.empty() && runtime::IsTerminal(d.run.state) && state == "pending")
      state = "not_run";
    steps.push_back({{"id", s.value("id", std::string())},
                     {"type", s.value("type", std::string())},
                     {"state", state},
                     {"attempts", attempts}});
  }
  out["steps"] = steps;
  return out;
}

std::string Query(const HttpRequest& http, const char* key) {
  const auto it = http.query.find(key);
  return it == http.query.end() ? std::string() : it->second;
}

Result<std::string> ResolveRunId(Session& session, const std::string& text) {
  return session.store->reads().Read<std::string>(
      [&](ReadView db) { return ResolveId(db, "runs", "id", text, "run"); });
}

Result<HttpResponse> Start(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string env = http.path_params.at("env");
  CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"inputs", "idempotency_key"}));
  runtime::TriggerRequest req;
  req.environment = env;
  req.automation = http.path_params.at("name");
  req.trigger = "manual";
  req.by = EventTemplateOf(http);
  req.triggered_by = req.by.actor.id;
  if (body.contains("inputs")) {
    if (!body["inputs"].is_object())
      return Status::InvalidArgument("\"inputs\" must be an object of name: value");
    req.inputs = body["inputs"];
  }
  CL_ASSIGN_OR_RETURN(auto key, OptionalString(body, "idempotency_key"));
  req.idempotency_key = key.value_or("");
  if (const auto h = http.headers.find("idempotency-key"); h != http.headers.end()) {
    if (key && *key != h->second) {
      return Status::InvalidArgument("the Idempotency-Key header and \"idempotency_key\" differ");
    }
    req.idempotency_key = h->second;
  }
  // Keys the triggers derive are theirs alone: a manual run may not take
  // the key of a future scheduled run or webhook delivery.
  if (req.idempotency_key.rfind("schedule:", 0) == 0 ||
      req.idempotency_key.rfind("webhook:", 0) == 0) {
    return Status::InvalidArgument(
        "idempotency keys starting with schedule: or webhook: are the triggers' own");
  }
  CL_ASSIGN_OR_RETURN(auto started, RunServiceFor(ctx, session).Trigger(req));
  Json out = RunJson(started.run, NamesFor(session));
  out["created"] = started.created;
  return HttpResponse::FromJson(started.created ? 201 : 200, out);
}

// A public route: the signature is the credential (webhook.h).
Result<HttpResponse> Hook(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  runtime::WebhookDelivery d;
  d.environment = http.path_params.at("env");  // an unknown one is answered as a bad signature
  d.automation = http.path_params.at("name");
  const auto header = [&](const char* name) {
    const auto it = http.headers.find(name);
    return it == http.headers.end() ? std::string() : it->second;
  };
  d.timestamp = header("x-cloister-timestamp");
  d.signature = header("x-cloister-signature");
  d.body = http.body;
  d.by = EventTemplateOf(http);
  CL_ASSIGN_OR_RETURN(auto started, RunServiceFor(ctx, session).Webhook(d));
  return HttpResponse::FromJson(201, RunJson(started.run, NamesFor(session)));
}

Result<HttpResponse> List(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  runtime::RunFilter f;
  f.environment = Query(http, "env");
  f.automation = Query(http, "automation");
  f.state = Query(http, "state");
  f.before_id = Query(http, "before");
  if (!f.state.empty() && !runtime::ParseRunState(f.state)) {
    return Status::InvalidArgument(
        "state must be one of queued, running, waiting, succeeded, failed, cancelled, "
        "timed_out");
  }
  CL_ASSIGN_OR_RETURN(f.since, TimeParameter("since", Query(http, "since"), /*round_up=*/true));
  if (const std::string limit = Query(http, "limit"); !limit.empty()) {
    if (limit.size() > 4 || limit.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(limit) < 1) {
      return Status::InvalidArgument("limit must be 1 to 1000");
    }
    f.limit = std::min(1000, std::stoi(limit));
  }
  if (!f.environment.empty()) {
    CL_RETURN_IF_ERROR(CheckEnvironment(*session, f.environment));
    CL_RETURN_IF_ERROR(RequireRoleIn(ctx, http, kReaders, f.environment));
  }
  CL_ASSIGN_OR_RETURN(auto runs, RunServiceFor(ctx, session).List(f));
  const auto names = NamesFor(session);
  Json out = Json::array();
  for (const RunRecord& r : runs) {
    // Without an environment filter: the runs of environments the caller reads.
    if (f.environment.empty() && RolesIn(*http.principal, r.environment).empty()) continue;
    out.push_back(RunJson(r, names));
  }
  return HttpResponse::FromJson(200, {{"runs", out}});
}

Result<HttpResponse> Show(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const std::string id, ResolveRunId(*session, http.path_params.at("id")));
  CL_ASSIGN_OR_RETURN(auto detail, RunServiceFor(ctx, session).Get(id));
  CL_RETURN_IF_ERROR(RequireRoleIn(ctx, http, kReaders, detail.run.environment));
  return HttpResponse::FromJson(200, RunDetailJson(detail, NamesFor(session)));
}

Result<HttpResponse> Cancel(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const std::string id, ResolveRunId(*session, http.path_params.at("id")));
  runtime::RunService& runs = RunServiceFor(ctx, session);
  CL_ASSIGN_OR_RETURN(auto detail, runs.Get(id));
  CL_RETURN_IF_ERROR(RequireRoleIn(ctx, http, {Role::kOperator}, detail.run.environment));
  CL_RETURN_IF_ERROR(JsonBody(http).status());
  CL_ASSIGN_OR_RETURN(auto run, runs.Cancel(id, EventTemplateOf(http)));
  return HttpResponse::FromJson(200, RunJson(run, NamesFor(session)));
}

}  // namespace

void AddRunRoutes(Router& router, ApiContext& ctx) {
  auto add = [&](const char* method, std::string pattern,
                 std::function<Result<HttpResponse>(HttpRequest&)> fn) {
    router.Add({method, std::move(pattern), Access::kAuthenticated, false, std::move(fn)});
  };
  add("POST", "/v1/environments/{env}/automations/{name}/runs",
      [&ctx](HttpRequest& h) { return Start(ctx, h); });
  add("GET", "/v1/runs", [&ctx](HttpRequest& h) { return List(ctx, h); });
  router.Add({"POST", "/v1/hooks/{env}/{name}", Access::kPublic, false,
              [&ctx](HttpRequest& h) { return Hook(ctx, h); }});
  add("GET", "/v1/runs/{id}", [&ctx](HttpRequest& h) { return Show(ctx, h); });
  add("POST", "/v1/runs/{id}/cancel", [&ctx](HttpRequest& h) { return Cancel(ctx, h); });
}

}  // namespace cloister
