// /v1/policies, /v1/policy-bindings, /v1/policy/evaluate, /v1/policy/reload,
// and the api.request policy gate. Every change builds the whole candidate
// set first: a document that does not load, or a change that would leave a
// binding naming a missing policy, is refused and the set in force stays.
#include <algorithm>

#include "appliance/api/routes.h"
#include "appliance/core/encoding.h"
#include "audit/verify/jcs.h"
#include "governance/policy/calendar.h"
#include "governance/policy/policy_store.h"

namespace cloister {
namespace {

using policy::PolicyEngine;
using policy::PolicySet;
using policy::SourceDocument;
using policy::StoredDocument;

struct Collection {
  const char* kind;        // Policy or PolicyBinding
  const char* path;        // under /v1
  const char* audit_noun;  // in actions: policy.put, policy.binding.put
};
constexpr Collection kPolicies{"Policy", "policies", "policy"};
constexpr Collection kBindings{"PolicyBinding", "policy-bindings", "policy.binding"};

Result<PolicyEngine*> Engine(ApiContext& ctx) {
  if (ctx.policies == nullptr) return Status::Unavailable("the policy engine is not configured");
  return ctx.policies;
}

std::string InputDigest(const Json& input) { return Sha256Hex(verify::Canonicalize(input)); }

Json DocumentSummary(const Collection& c, PolicyEngine& engine, const PolicySet& set, const std::string& name) {
  const int64_t version = engine.VersionOf(c.kind, name);
  Json j = {{"name", name}, {"origin", version > 0 ? "database" : "directory"}, {"version", version}};
  if (std::string(c.kind) == "Policy") {
    const auto& p = set.policies().at(name);
    j.update({{"hook", p.hook}, {"description", p.description}, {"rules", p.rules.size()}, {"digest", p.digest}});
    if (version == 0) j["file"] = p.origin;
  } else {
    const auto& b = set.bindings().at(name);
    j.update({{"hook", b.hook},
              {"description", b.description},
              {"level", policy::LevelName(b.level)},
              {"policies", b.policies},
              {"environments", b.environments},
              {"override_roles", b.override_roles},
              {"digest", b.digest}});
    if (version == 0) j["file"] = b.origin;
  }
  return j;
}

Result<HttpResponse> ListDocuments(ApiContext& ctx, HttpRequest&, const Collection& c) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(PolicyEngine * engine, Engine(ctx));
  const auto set = PolicySetFor(ctx, session);
  Json items = Json::array();
  if (std::string(c.kind) == "Policy") {
    for (const auto& [name, p] : set->policies()) items.push_back(DocumentSummary(c, *engine, *set, name));
  } else {
    for (const auto& [name, b] : set->bindings()) items.push_back(DocumentSummary(c, *engine, *set, name));
  }
  Json out = {{"policy_set_digest", set->digest()}, {"items", items}};
  if (const std::string err = engine->load_error(); !err.empty()) out["load_error"] = err;
  return HttpResponse::FromJson(200, out);
}

Result<std::vector<StoredDocument>> Versions(Session& session, const Collection& c, const std::string& name) {
  return session.store->reads().Read<std::vector<StoredDocument>>(
      [&](ReadView db) { return policy::DocumentVersions(db, c.kind, name); });
}

Result<HttpResponse> GetDocument(ApiContext& ctx, HttpRequest& http, const Collection& c) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(PolicyEngine * engine, Engine(ctx));
  const std::string name = http.path_params.at("name");
  const auto version = http.query.find("version");
  if (version != http.query.end()) {
    CL_ASSIGN_OR_RETURN(auto versions, Versions(*session, c, name));
    for (const auto& v : versions) {
      if (std::to_string(v.version) != version->second) continue;
      if (v.deleted()) return Status::NotFound("version " + version->second + " of " + name + " deletes it");
      return HttpResponse::FromJson(200, {{"name", name},
                                          {"kind", c.kind},
                                          {"version", v.version},
                                          {"digest", v.digest},
                                          {"source", v.source},
                                          {"created_at", v.created_at},
                                          {"created_by", NamesFor(session)(v.created_by)},
                                          {"created_by_id", v.created_by}});
    }
    return Status::NotFound("no version " + version->second + " of " + std::string(c.kind) + " " + name);
  }
  const auto set = PolicySetFor(ctx, session);
  const bool is_policy = std::string(c.kind) == "Policy";
  if (is_policy ? !set->policies().count(name) : !set->bindings().count(name)) {
    return Status::NotFound("no " + std::string(c.kind) + " named " + name + " in force");
  }
  Json out = DocumentSummary(c, *engine, *set, name);
  out["kind"] = c.kind;
  out["source"] = is_policy ? set->policies().at(name).source : set->bindings().at(name).source;
  if (is_policy) {
    Json rules = Json::array();
    for (const auto& r : set->policies().at(name).rules) {
      rules.push_back({{"id", r.id}, {"description", r.description}, {"controls", r.controls}});
    }
    out["rules"] = rules;
  }
  return HttpResponse::FromJson(200, out);
}

Result<HttpResponse> ListVersions(ApiContext& ctx, HttpRequest& http, const Collection& c) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(auto versions, Versions(*session, c, http.path_params.at("name")));
  if (versions.empty()) {  // neither stored nor in force (a shipped document has no stored versions)
    const auto set = PolicySetFor(ctx, session);
    const std::string& name = http.path_params.at("name");
    if (std::string(c.kind) == "Policy" ? !set->policies().count(name) : !set->bindings().count(name)) {
      return Status::NotFound("no " + std::string(c.kind) + " named " + name);
    }
  }
  Json list = Json::array();
  const auto names = NamesFor(session);
  for (const auto& v : versions) {
    list.push_back({{"version", v.version},
                    {"digest", OrNull(v.digest)},
                    {"deleted", v.deleted()},
                    {"created_at", v.created_at},
                    {"created_by", names(v.created_by)},
                    {"created_by_id", v.created_by}});
  }
  return HttpResponse::FromJson(200, {{"name", http.path_params.at("name")}, {"versions", list}});
}

// Stores a new version (source) or a deletion (empty source) and installs
// the set it makes, all or nothing.
Result<HttpResponse> ChangeDocument(ApiContext& ctx, HttpRequest& http, const Collection& c, const std::string& source) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(PolicyEngine * engine, Engine(ctx));
  const std::string name = http.path_params.at("name");
  const auto before = PolicySetFor(ctx, session);
  auto lock = engine->LockChanges();
  CL_ASSIGN_OR_RETURN(auto versions, Versions(*session, c, name));
  StoredDocument changed{c.kind, name, static_cast<int64_t>(versions.size()) + 1, source, "", "", ""};
  std::shared_ptr<const PolicySet> candidate;
  if (source.empty()) {
    if (versions.empty() || versions.back().deleted()) {
      const bool in_directory = std::string(c.kind) == "Policy" ? before->policies().count(name) > 0
                                                                : before->bindings().count(name) > 0;
      return Status::NotFound(in_directory ? std::string(c.kind) + " " + name +
                                                 " comes from the policy directory; remove its file and reload"
                                           : "no stored " + std::string(c.kind) + " named " + name);
    }
    auto without = engine->WithoutStored(c.kind, name);
    if (!without.ok()) return Status::Conflict(without.status().message()).WithReason("policy_in_use");
    candidate = *without;
  } else {
    const SourceDocument doc{"database:" + std::string(c.kind) + "/" + name + "@v" + std::to_string(changed.version),
                             source};
    CL_ASSIGN_OR_RETURN(policy::DocumentHeader header, policy::ReadHeader(doc));
    if (header.kind != c.kind) {
      return Status::InvalidArgument("this is a " + header.kind + "; store it under /v1/" +
                                     (header.kind == "Policy" ? "policies" : "policy-bindings"));
    }
    if (header.name != name) {
      return Status::InvalidArgument("metadata.name is \"" + header.name + "\" but the path names \"" + name + "\"");
    }
    CL_ASSIGN_OR_RETURN(candidate, engine->Candidate({doc}));
    changed.digest = Sha256Hex(source);
  }
  AuditRecord event = RecordFor(RequesterOf(http), std::string(c.audit_noun) + (source.empty() ? ".delete" : ".put"));
  event.target_kind = std::string(c.kind) == "Policy" ? "policy" : "policy_binding";
  event.target_id = name;
  event.details = {{"version", changed.version},
                   {"digest", OrNull(changed.digest)},
                   {"previous_policy_set_digest", before->digest()},
                   {"policy_set_digest", candidate->digest()}};
  CL_RETURN_IF_ERROR(session->store->writer().Write([&](Transaction& tx) -> Status {
    CL_ASSIGN_OR_RETURN(int64_t version,
                        policy::AddDocumentVersion(tx, c.kind, name, source, event.actor.id, ctx.clock));
    if (version != changed.version) return Status::Conflict("a concurrent change stored version " + std::to_string(version));
    return session->audit->ledger().Append(tx, event).status();
  }));
  engine->Install(candidate, changed);
  return HttpResponse::FromJson(source.empty() ? 200 : (changed.version == 1 ? 201 : 200),
                                {{"name", name},
                                 {"kind", c.kind},
                                 {"version", changed.version},
                                 {"deleted", source.empty()},
                                 {"digest", OrNull(changed.digest)},
                                 {"policy_set_digest", candidate->digest()}});
}

Result<HttpResponse> PutDocument(ApiContext& ctx, HttpRequest& http, const Collection& c) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"source"}));
  CL_ASSIGN_OR_RETURN(auto source, OptionalString(body, "source"));
  if (!source || source->empty()) return Status::InvalidArgument("field \"source\" (the YAML document) is required");
  return ChangeDocument(ctx, http, c, *source);
}

Result<HttpResponse> Evaluate(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(PolicyEngine * engine, Engine(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"hook", "environment", "input", "documents", "override", "include_shadow"}));
  CL_ASSIGN_OR_RETURN(auto hook, OptionalString(body, "hook"));
  CL_ASSIGN_OR_RETURN(auto environment, OptionalString(body, "environment"));
  CL_ASSIGN_OR_RETURN(auto shadow, OptionalBool(body, "include_shadow"));
  const policy::Schema* schema = policy::HookSchema(hook.value_or(""));
  if (schema == nullptr) {
    return Status::InvalidArgument("field \"hook\" must be promotion, automation.save, run.step or api.request");
  }
  if (!environment || environment->empty()) return Status::InvalidArgument("field \"environment\" is required");
  CL_RETURN_IF_ERROR(CheckEnvironment(*session, *environment));
  if (!body.contains("input") || !body["input"].is_object()) {
    return Status::InvalidArgument("field \"input\" must be the hook's input document (an object)");
  }
  std::shared_ptr<const PolicySet> set = PolicySetFor(ctx, session);
  if (body.contains("documents")) {
    if (!body["documents"].is_array() || body["documents"].size() > 64) {
      return Status::InvalidArgument("field \"documents\" must be a list of up to 64 YAML documents");
    }
    std::vector<SourceDocument> docs;
    for (size_t i = 0; i < body["documents"].size(); ++i) {
      const Json& d = body["documents"][i];
      if (!d.is_string()) return Status::InvalidArgument("documents[" + std::to_string(i) + "] must be a string");
      docs.push_back({"documents[" + std::to_string(i) + "]", d.get<std::string>()});
    }
    CL_ASSIGN_OR_RETURN(set, engine->Candidate(docs));
  }
  CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(*schema, body["input"]));
  std::optional<policy::OverrideRequest> override;
  if (body.contains("override")) {
    const Json& o = body["override"];
    if (!o.is_object() || !o.contains("reason") || !o["reason"].is_string()) {
      return Status::InvalidArgument("field \"override\" must be {\"reason\": \"...\"}");
    }
    override = policy::OverrideRequest{http.principal->user_name, RolesIn(*http.principal, *environment),
                                       o["reason"].get<std::string>()};
  }
  // A promotion is gated by the policies its pipeline requires too: bind
  // them exactly as the gate does, for the automation the input names.
  std::vector<policy::PolicyBinding> pipeline_bindings;
  Json pipeline = nullptr;
  const Json& promotion = body["input"].value("promotion", Json::object());
  if (*hook == "promotion" && promotion.is_object() && promotion.value("automation", Json()).is_string()) {
    CL_ASSIGN_OR_RETURN(promotion::PipelinePolicies required,
                        GovernanceFor(ctx, session).pipelines.PoliciesFor(promotion["automation"], *environment));
    pipeline_bindings = required.bindings;
    Json names = Json::array();
    for (const auto& b : required.bindings) names.push_back(b.policies.front());
    pipeline = {{"name", required.pipeline}, {"policies", names}, {"missing", required.missing}};
  }
  policy::Evaluator evaluator(ctx.policy_limits);
  const policy::Decision d = set->Decide(*hook, *environment, doc, evaluator, override ? &*override : nullptr,
                                         &pipeline_bindings);
  Json out = d.ToJson(shadow.value_or(false) && IsAdminEverywhere(*http.principal));
  if (!pipeline.is_null()) {
    out["pipeline"] = pipeline;
    if (!pipeline["missing"].empty()) {
      // The gate fails such a promotion whatever the rules say.
      out["allowed"] = false;
      out["outcome"] = "deny";
    }
  }
  out["hook"] = *hook;
  out["environment"] = *environment;
  out["input_digest"] = InputDigest(body["input"]);
  out["what_if"] = true;
  return HttpResponse::FromJson(200, out);
}

Result<HttpResponse> Reload(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(PolicyEngine * engine, Engine(ctx));
  const auto before = PolicySetFor(ctx, session);
  auto lock = engine->LockChanges();
  const Status st = engine->ReloadDirectory();
  AuditRecord event = RecordFor(RequesterOf(http), "policy.reload", st.ok() ? "success" : "error");
  event.reason = st.ok() ? "" : st.message();
  event.details = {{"directory", engine->directory()},
                   {"previous_policy_set_digest", before->digest()},
                   {"policy_set_digest", engine->current()->digest()}};
  CL_RETURN_IF_ERROR(session->audit->Record(event));
  if (!st.ok()) {
    return st.WithDetails({{"policy_set_digest", before->digest()}, {"kept", true}});
  }
  return HttpResponse::FromJson(200, {{"policy_set_digest", engine->current()->digest()},
                                      {"previous_policy_set_digest", before->digest()}});
}

bool ExemptFromRequestPolicy(const std::string& pattern) {
  return pattern.rfind("/v1/auth/login", 0) == 0 || pattern == "/v1/auth/logout" || pattern == "/v1/auth/whoami" ||
         pattern == "/v1/auth/password" || pattern.rfind("/v1/policies", 0) == 0 ||
         pattern.rfind("/v1/policy-bindings", 0) == 0 || pattern.rfind("/v1/policy/", 0) == 0 ||
         pattern.rfind("/v1/sys/", 0) == 0;
}

}  // namespace

std::shared_ptr<const PolicySet> PolicySetFor(ApiContext& ctx, const std::shared_ptr<Session>& session) {
  ctx.policies->EnsureLoaded(session, [&]() {
    return session->store->reads().Read<std::vector<StoredDocument>>(
        [](ReadView db) { return policy::CurrentDocuments(db); });
  });
  return ctx.policies->current();
}

Status CheckRequestPolicy(ApiContext& ctx, HttpRequest& request, const std::string& environment) {
  if (ctx.policies == nullptr || !request.principal || ExemptFromRequestPolicy(request.route_pattern)) {
    return Status::Ok();
  }
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const auto set = PolicySetFor(ctx, session);
  if (!set->HasBindings("api.request")) return Status::Ok();
  const Principal& p = *request.principal;
  const std::vector<std::string> roles = RolesIn(p, environment);
  Json bindings = Json::array();
  for (const auto& b : p.bindings) bindings.push_back({{"role", RoleName(b.role)}, {"environment", b.environment}});
  const Json input = {{"time", policy::FormatTime(std::chrono::duration_cast<std::chrono::seconds>(
                                                      ctx.clock.Now().time_since_epoch())
                                                      .count())},
                      {"request",
                       {{"method", request.method},
                        {"path", request.path},
                        {"route", request.route_pattern},
                        {"environment", environment},
                        {"source_ip", request.remote_ip},
                        {"request_id", request.request_id}}},
                      {"principal",
                       {{"user", p.person_name()},
                        {"kind", p.kind},
                        {"roles", roles},
                        {"bindings", bindings}}}};
  CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(*policy::HookSchema("api.request"), input));
  const std::string reason = request.Header("x-cloister-override-reason");
  const policy::OverrideRequest override{p.person_name(), roles, reason};
  thread_local policy::Evaluator evaluator(ctx.policy_limits);
  const policy::Decision d =
      set->Decide("api.request", environment, doc, evaluator, reason.empty() ? nullptr : &override);
  // Requests every binding passes are recorded by their auth.* events alone;
  // a decision in which anything failed (shadow bindings included) is
  // recorded in full.
  const bool any_failed = std::any_of(d.bindings.begin(), d.bindings.end(), [](const auto& b) { return b.failed; });
  if (!any_failed) return Status::Ok();
  AuditRecord record = RecordFor(RequesterOf(request), "policy.decision", d.allowed ? "success" : "denied");
  record.env = environment;
  record.target_kind = "request";
  record.target_id = request.method + " " + request.route_pattern;
  if (d.outcome == "overridden") record.reason = "override: " + reason;
  record.details = d.ToJson(true);
  record.details["hook"] = "api.request";
  record.details["input_digest"] = InputDigest(input);
  record.details["input"] = input;
  CL_RETURN_IF_ERROR(session->audit->Record(record));
  if (d.outcome == "warn") {
    for (const auto& b : d.bindings) {
      if (b.binding->level != policy::Level::kAdvisory) continue;
      for (const auto& v : b.verdicts) {
        if (v.failed()) request.warnings.push_back(v.policy->name + "/" + v.rule->id + ": " + v.message);
      }
    }
  }
  if (d.allowed) return Status::Ok();
  const bool overridable = d.outcome == "overridable";
  std::string message = "refused by policy: " + d.Summary();
  if (overridable) {
    message += d.override_refused.empty()
                   ? "; a user with an override role may retry with the header X-Cloister-Override-Reason"
                   : "; " + d.override_refused;
  }
  return Status::PermissionDenied(message)
      .WithReason(overridable ? "policy_override_required" : "policy_denied")
      .WithDetails({{"decision", d.ToJson(false)}});
}

void AddPolicyRoutes(Router& router, ApiContext& ctx) {
  auto add = [&](const char* method, std::string pattern, std::function<Result<HttpResponse>(HttpRequest&)> fn) {
    router.Add({method, std::move(pattern), Access::kAuthenticated, false, std::move(fn)});
  };
  for (const Collection* c : {&kPolicies, &kBindings}) {
    const std::string base = std::string("/v1/") + c->path;
    add("GET", base, [&ctx, c](HttpRequest& r) { return ListDocuments(ctx, r, *c); });
    add("GET", base + "/{name}", [&ctx, c](HttpRequest& r) { return GetDocument(ctx, r, *c); });
    add("GET", base + "/{name}/versions", [&ctx, c](HttpRequest& r) { return ListVersions(ctx, r, *c); });
    add("PUT", base + "/{name}", [&ctx, c](HttpRequest& r) { return PutDocument(ctx, r, *c); });
    add("DELETE", base + "/{name}", [&ctx, c](HttpRequest& r) { return ChangeDocument(ctx, r, *c, ""); });
  }
  add("POST", "/v1/policy/evaluate", [&ctx](HttpRequest& r) { return Evaluate(ctx, r); });
  add("POST", "/v1/policy/reload", [&ctx](HttpRequest& r) { return Reload(ctx, r); });
}

}  // namespace cloister
