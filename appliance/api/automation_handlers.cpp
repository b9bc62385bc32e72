// /v1/automations, /v1/pipelines and the per-environment views and
// configuration: live versions, deployment history, variables, secrets
// (write-only), settings, and the difference between two environments.
#include "appliance/api/governance_json.h"
#include "appliance/api/routes.h"
#include "appliance/runtime/ca_bundle.h"
#include "governance/environments/environment_config.h"
#include "governance/environments/environment_store.h"

namespace cloister {
namespace {

Result<std::string> SourceField(const HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"source"}));
  CL_ASSIGN_OR_RETURN(auto source, OptionalString(body, "source"));
  if (!source || source->empty())
    return Status::InvalidArgument("field \"source\" (the YAML document) is required");
  return *source;
}

Result<std::string> FirstEnvironment(Session& session) {
  CL_ASSIGN_OR_RETURN(auto envs,
                      session.store->reads().Read<std::vector<Environment>>(ListEnvironments));
  if (envs.empty()) return Status::Internal("the appliance has no environments");
  return envs.front().name;
}

Result<HttpResponse> PutAutomation(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(std::string first, FirstEnvironment(*session));
  if (!Grants(http.principal->bindings, {Role::kAuthor}, first)) {
    return Status::PermissionDenied("saving an automation needs the author role in " + first);
  }
  CL_ASSIGN_OR_RETURN(std::string source, SourceField(http));
  std::string if_match = http.Header("if-match");
  if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
    if_match = if_match.substr(1, if_match.size() - 2);
  }
  CL_ASSIGN_OR_RETURN(
      promotion::SavedAutomation saved,
      GovernanceFor(ctx, session)
          .automations.Save(CallerOf(http, first), http.path_params.at("name"), source, if_match));
  HttpResponse r =
      HttpResponse::FromJson(saved.created ? 201 : 200, api_json::SavedAutomationJson(saved));
  r.headers.emplace_back("ETag", "\"" + saved.version + "\"");
  return r;
}

Result<HttpResponse> Validate(HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(std::string source, SourceField(http));
  const automation::ParseResult parsed = automation::Parse(source);
  Json problems = Json::array();
  for (const auto& p : parsed.problems) problems.push_back(p.ToJson());
  Json out = {{"valid", parsed.ok()}, {"problems", problems}};
  if (parsed.ok()) {
    out["name"] = parsed.definition.name;
    out["version"] = parsed.definition.id;
    out["variables"] = parsed.definition.variables;
    out["secrets"] = parsed.definition.secrets;
  }
  return HttpResponse::FromJson(200, out);
}

Result<HttpResponse> GetVersion(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const std::string id, ResolveVersionId(*session, http.path_params.at("id")));
  CL_ASSIGN_OR_RETURN(
      automation::StoredVersion v,
      GovernanceFor(ctx, session).automations.GetVersion(http.path_params.at("name"), id));
  const auto format = http.query.find("format");
  HttpResponse r;
  if (format == http.query.end() || format->second == "json") {
    r = HttpResponse::FromText(200, v.canonical, "application/json");
  } else if (format->second == "yaml") {
    r = HttpResponse::FromText(200, v.source, "application/yaml");
  } else {
    return Status::InvalidArgument(
        "format must be json (the canonical bytes, the default) or yaml (as first saved)");
  }
  r.headers.emplace_back("ETag", "\"" + v.id + "\"");
  r.headers.emplace_back("Cloister-Version-Seq", std::to_string(v.seq));
  r.headers.emplace_back("Cloister-Version-Author", v.author);
  r.headers.emplace_back("Cloister-Version-Created", v.created_at);
  return r;
}

std::string Query(const HttpRequest& http, const std::string& key) {
  const auto it = http.query.find(key);
  return it == http.query.end() ? "" : it->second;
}

Result<std::string> RequiredQuery(const HttpRequest& http, const std::string& key) {
  std::string v = Query(http, key);
  if (v.empty()) return Status::InvalidArgument("query parameter \"" + key + "\" is required");
  return v;
}

// PUT and DELETE of a variable or secret: one audited write.
Result<HttpResponse> ChangeConfig(ApiContext& ctx, HttpRequest& http, bool secret, bool remove) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string env = http.path_params.at("env");
  const std::string name = http.path_params.at("name");
  CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
  CL_RETURN_IF_ERROR(ValidateConfigName(name));
  std::string value;
  if (!remove) {
    CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
    CL_RETURN_IF_ERROR(CheckKnownFields(body, {"value"}));
    CL_ASSIGN_OR_RETURN(auto v, OptionalString(body, "value"));
    if (!v) return Status::InvalidArgument("field \"value\" (text) is required");
    value = *v;
  }
  AuditRecord event = RecordFor(RequesterOf(http), std::string("environment.") +
                                                       (secret ? "secret." : "variable.") +
                                                       (remove ? "delete" : "set"));
  event.env = env;
  event.target_kind = secret ? "secret" : "variable";
  event.target_id = env + "/" + name;
  // A variable's value is recorded by digest; a secret's value never appears.
  if (!remove && !secret) event.details = {{"value_sha256", Sha256Hex(value)}};
  CL_RETURN_IF_ERROR(session->audit->Record(event, [&](Transaction& tx) -> Status {
    if (remove) return DeleteConfig(tx, secret, env, name);
    if (secret) return SetSecret(tx, env, name, value, event.actor.id, ctx.clock, ctx.random);
    return SetVariable(tx, env, name, value, event.actor.id, ctx.clock);
  }));
  return HttpResponse::FromJson(200, {{"environment", env}, {"name", name}, {"deleted", remove}});
}

Result<HttpResponse> ListConfig(ApiContext& ctx, HttpRequest& http, bool secret) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string env = http.path_params.at("env");
  CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
  CL_ASSIGN_OR_RETURN(auto entries,
                      session->store->reads().Read<std::vector<ConfigEntry>>([&](ReadView db) {
                        return secret ? ListSecrets(db, env) : ListVariables(db, env);
                      }));
  Json items = Json::array();
  const auto names = NamesFor(session);
  for (const auto& e : entries) {
    Json j = {{"name", e.name},
              {"updated_at", e.updated_at},
              {"updated_by", names(e.updated_by)},
              {"updated_by_id", e.updated_by}};
    if (!secret) j["value"] = e.value;
    items.push_back(j);
  }
  return HttpResponse::FromJson(200, {{"environment", env}, {"items", items}});
}

Result<std::vector<std::string>> Globs(const Json& body, const char* field) {
  std::vector<std::string> out;
  if (!body.contains(field)) return out;
  const Json& list = body[field];
  if (!list.is_array() || list.size() > 256)
    return Status::InvalidArgument(std::string(field) + " must be a list of up to 256 host globs");
  for (const Json& g : list) {
    if (!g.is_string() || g.get<std::string>().empty() || g.get<std::string>().size() > 253 ||
        g.get<std::string>().find_first_of("/ \t@") != std::string::npos) {
      return Status::InvalidArgument(
          std::string(field) +
          ": each entry is a host name or glob such as *.svc.internal, an address, or "
          "host:port (the appliance's own listener)");
    }
    out.push_back(g);
  }
  return out;
}

Result<HttpResponse> PutSettings(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string env = http.path_params.at("env");
  CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"egress_allow", "model_endpoints", "ca_bundle"}));
  EnvironmentSettings s;
  CL_ASSIGN_OR_RETURN(s.egress_allow, Globs(body, "egress_allow"));
  CL_ASSIGN_OR_RETURN(s.model_endpoints, Globs(body, "model_endpoints"));
  CL_ASSIGN_OR_RETURN(auto ca_bundle, OptionalString(body, "ca_bundle"));
  if (ca_bundle) {
    s.ca_bundle = *ca_bundle;
  } else {  // absent: the bundle stays as it is
    CL_ASSIGN_OR_RETURN(EnvironmentSettings current,
                        session->store->reads().Read<EnvironmentSettings>(
                            [&](ReadView db) { return GetSettings(db, env); }));
    s.ca_bundle = current.ca_bundle;
  }
  CL_ASSIGN_OR_RETURN(const std::vector<std::string> subjects,
                      runtime::CaBundleSubjects(s.ca_bundle));
  AuditRecord event = RecordFor(RequesterOf(http), "environment.settings.set");
  event.env = env;
  event.target_kind = "environment";
  event.target_id = env;
  event.details = s.ToJson();
  event.details.erase("ca_bundle");  // the certificates' subjects and digest say which bundle it is
  event.details["ca_certificates"] = subjects;
  event.details["ca_bundle_sha256"] = s.ca_bundle.empty() ? Json() : Json(Sha256Hex(s.ca_bundle));
  CL_RETURN_IF_ERROR(session->audit->Record(
      event, [&](Transaction& tx) { return SetSettings(tx, env, s, event.actor.id, ctx.clock); }));
  Json out = s.ToJson();
  out["environment"] = env;
  return HttpResponse::FromJson(200, out);
}

// {"<env>": deployment} narrowed to the environments `p` holds a role in.
Json ReadableLive(const Principal& p, const Json& live) {
  Json out = Json::object();
  if (!live.is_object()) return out;
  for (const auto& [env, d] : live.items()) {
    if (!RolesIn(p, env).empty()) out[env] = d;
  }
  return out;
}

}  // namespace

void AddAutomationRoutes(Router& router, ApiContext& ctx) {
  auto add = [&](const char* method, std::string pattern,
                 std::function<Result<HttpResponse>(HttpRequest&)> fn) {
    router.Add({method, std::move(pattern), Access::kAuthenticated, false, std::move(fn)});
  };
  // Read views, each a JSON document shaped from a service's answer.
  auto view = [&](const char* pattern, std::function<Result<Json>(Governance&, HttpRequest&)> fn) {
    add("GET", pattern, [&ctx, fn](HttpRequest& http) -> Result<HttpResponse> {
      CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
      Governance& gov = GovernanceFor(ctx, session);
      CL_ASSIGN_OR_RETURN(Json out, fn(gov, http));
      return HttpResponse::FromJson(200, out);
    });
  };

  // What is live where is shown only for environments the caller holds a role in.
  view("/v1/automations", [](Governance& g, HttpRequest& http) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto list, g.automations.List());
    Json out = api_json::AutomationListJson(list);
    for (Json& item : out["items"]) item["live"] = ReadableLive(*http.principal, item["live"]);
    return out;
  });
  add("POST", "/v1/automations/validate", [](HttpRequest& http) { return Validate(http); });
  view("/v1/automations/{name}", [](Governance& g, HttpRequest& http) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto view, g.automations.Get(http.path_params.at("name")));
    Json out = api_json::AutomationViewJson(view, g.deps.names);
    out["live"] = ReadableLive(*http.principal, out["live"]);
    return out;
  });
  add("PUT", "/v1/automations/{name}",
      [&ctx](HttpRequest& http) { return PutAutomation(ctx, http); });
  add("GET", "/v1/automations/{name}/versions/{id}",
      [&ctx](HttpRequest& http) { return GetVersion(ctx, http); });
  view("/v1/automations/{name}/diff", [&ctx](Governance& g, HttpRequest& http) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
    CL_ASSIGN_OR_RETURN(std::string from, RequiredQuery(http, "from"));
    CL_ASSIGN_OR_RETURN(std::string to, RequiredQuery(http, "to"));
    CL_ASSIGN_OR_RETURN(from, ResolveVersionId(*session, from));
    CL_ASSIGN_OR_RETURN(to, ResolveVersionId(*session, to));
    CL_ASSIGN_OR_RETURN(auto diff, g.automations.Diff(http.path_params.at("name"), from, to));
    return api_json::VersionDiffJson(diff);
  });

  view("/v1/environments/{env}/live", [](Governance& g, HttpRequest& http) -> Result<Json> {
    const std::string env = http.path_params.at("env");
    CL_ASSIGN_OR_RETURN(auto live, g.environments.Live(env));
    return api_json::LiveJson(env, live, g.deps.names);
  });
  view("/v1/environments/{env}/deployments", [](Governance& g, HttpRequest& http) -> Result<Json> {
    const std::string env = http.path_params.at("env");
    CL_ASSIGN_OR_RETURN(auto deployments,
                        g.environments.Deployments(env, Query(http, "automation")));
    return api_json::DeploymentsJson(env, deployments, g.deps.names);
  });
  // The diff shows both environments' variable and secret names and live
  // versions: a reader of both is required.
  view("/v1/environment-diff", [&ctx](Governance& g, HttpRequest& http) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(std::string from, RequiredQuery(http, "from"));
    CL_ASSIGN_OR_RETURN(std::string to, RequiredQuery(http, "to"));
    for (const std::string& env : {from, to}) {
      CL_RETURN_IF_ERROR(RequireRoleIn(
          ctx, http, {Role::kAuthor, Role::kApprover, Role::kOperator, Role::kAuditor}, env));
      // A policy bound to either environment sees the read.
      CL_RETURN_IF_ERROR(CheckRequestPolicy(ctx, http, env));
    }
    CL_ASSIGN_OR_RETURN(auto diff, g.environments.Diff(from, to));
    return api_json::EnvironmentDiffJson(diff);
  });
  for (const bool secret : {false, true}) {
    const std::string base =
        std::string("/v1/environments/{env}/") + (secret ? "secrets" : "variables");
    add("GET", base, [&ctx, secret](HttpRequest& http) { return ListConfig(ctx, http, secret); });
    add("PUT", base + "/{name}",
        [&ctx, secret](HttpRequest& http) { return ChangeConfig(ctx, http, secret, false); });
    add("DELETE", base + "/{name}",
        [&ctx, secret](HttpRequest& http) { return ChangeConfig(ctx, http, secret, true); });
  }
  add("GET", "/v1/environments/{env}/settings", [&ctx](HttpRequest& http) -> Result<HttpResponse> {
    CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
    const std::string env = http.path_params.at("env");
    CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
    CL_ASSIGN_OR_RETURN(auto s, session->store->reads().Read<EnvironmentSettings>(
                                    [&](ReadView db) { return GetSettings(db, env); }));
    Json out = s.ToJson();
    out["environment"] = env;
    return HttpResponse::FromJson(200, out);
  });
  add("PUT", "/v1/environments/{env}/settings",
      [&ctx](HttpRequest& http) { return PutSettings(ctx, http); });

  view("/v1/pipelines", [](Governance& g, HttpRequest&) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto pipelines, g.pipelines.List());
    return api_json::PipelineListJson(pipelines);
  });
  view("/v1/pipelines/{name}", [](Governance& g, HttpRequest& http) -> Result<Json> {
    const std::string v = Query(http, "version");
    int64_t version = 0;
    if (!v.empty() && (v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9 ||
                       (version = std::stoll(v)) < 1)) {
      return Status::InvalidArgument("version must be a positive integer");
    }
    CL_ASSIGN_OR_RETURN(auto doc, g.pipelines.Get(http.path_params.at("name"), version));
    return api_json::PipelineDocumentJson(doc);
  });
  view("/v1/pipelines/{name}/versions", [](Governance& g, HttpRequest& http) -> Result<Json> {
    const std::string name = http.path_params.at("name");
    CL_ASSIGN_OR_RETURN(auto versions, g.pipelines.Versions(name));
    return api_json::PipelineVersionsJson(name, versions, g.deps.names);
  });
  add("PUT", "/v1/pipelines/{name}", [&ctx](HttpRequest& http) -> Result<HttpResponse> {
    CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
    CL_ASSIGN_OR_RETURN(std::string source, SourceField(http));
    CL_ASSIGN_OR_RETURN(
        promotion::PutPipelineResult put,
        GovernanceFor(ctx, session)
            .pipelines.Put(CallerOf(http, "*"), http.path_params.at("name"), source));
    return HttpResponse::FromJson(put.created ? 201 : 200, api_json::PutPipelineJson(put));
  });
}

}  // namespace cloister
