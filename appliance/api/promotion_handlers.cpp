// /v1/promotions and /v1/environments/{env}/rollbacks. The permission table
// admits callers holding the role in some environment; each handler then
// checks the role in the environment the promotion targets, which it learns
// from the request or the stored promotion.
#include "appliance/api/governance_json.h"
#include "appliance/api/routes.h"

namespace cloister {
namespace {

using promotion::Caller;
using promotion::PromotionPage;
using promotion::PromotionService;

Result<std::string> Text(const Json& body, const char* field, bool required) {
  CL_ASSIGN_OR_RETURN(auto v, OptionalString(body, field));
  if (required && (!v || v->empty())) return Status::InvalidArgument(std::string("field \"") + field + "\" is required");
  if (v && v->size() > 2000) return Status::InvalidArgument(std::string("field \"") + field + "\" is at most 2000 characters");
  return v.value_or("");
}

Status RequireRole(const Caller& caller, const std::vector<std::string>& roles, const std::string& env,
                   const std::string& doing) {
  if (caller.Holds(roles)) return Status::Ok();
  std::string list;
  for (const auto& r : roles) list += (list.empty() ? "" : " or ") + r;
  return Status::PermissionDenied(doing + " needs the " + list + " role in " + env).WithReason("forbidden");
}

// The version a unique prefix names; text that names none is passed on as
// given, so the service answers as for any unknown version
// (version_mismatch on approval). An ambiguous prefix is refused.
Result<std::string> VersionOrAsGiven(Session& session, const std::string& text) {
  auto resolved = ResolveVersionId(session, text);
  if (!resolved.ok() && resolved.status().code() == StatusCode::kNotFound) return text;
  return resolved;
}

Result<HttpResponse> Create(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(
      CheckKnownFields(body, {"automation", "version", "to", "scheduled_for", "emergency", "reason"}));
  promotion::PromotionRequest req;
  CL_ASSIGN_OR_RETURN(req.automation, Text(body, "automation", true));
  CL_ASSIGN_OR_RETURN(req.version, Text(body, "version", false));
  if (!req.version.empty()) {
    CL_ASSIGN_OR_RETURN(req.version, VersionOrAsGiven(*session, req.version));
  }
  CL_ASSIGN_OR_RETURN(req.to, Text(body, "to", true));
  CL_ASSIGN_OR_RETURN(req.scheduled_for, Text(body, "scheduled_for", false));
  // An RFC 3339 date-time with its offset, nothing looser (no bare date).
  CL_RETURN_IF_ERROR(TimeParameter("scheduled_for", req.scheduled_for, /*round_up=*/false).status());
  CL_ASSIGN_OR_RETURN(auto emergency, OptionalBool(body, "emergency"));
  req.emergency = emergency.value_or(false);
  CL_ASSIGN_OR_RETURN(req.reason, Text(body, "reason", false));
  CL_RETURN_IF_ERROR(CheckEnvironment(*session, req.to));
  const Caller caller = CallerOf(http, req.to);
  CL_RETURN_IF_ERROR(RequireRole(caller, {"author", "operator"}, req.to, "requesting a promotion"));
  Governance& gov = GovernanceFor(ctx, session);
  CL_ASSIGN_OR_RETURN(PromotionPage page, gov.promotions.Request(caller, req));
  return HttpResponse::FromJson(201, api_json::PromotionPageJson(page, gov.deps.names));
}

// An action on one stored promotion, by a caller holding `roles` (empty: the
// service decides) in its target environment.
using Action =
    std::function<Result<PromotionPage>(PromotionService&, const Caller&, const std::string& id, const Json& body)>;

Result<HttpResponse> OnPromotion(ApiContext& ctx, HttpRequest& http, std::initializer_list<std::string_view> fields,
                                 const std::vector<std::string>& roles, const std::string& doing, const Action& action,
                                 bool deploying = false) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, fields));
  CL_ASSIGN_OR_RETURN(const std::string id, ResolvePromotionId(*session, http.path_params.at("id")));
  Governance& gov = GovernanceFor(ctx, session);
  CL_ASSIGN_OR_RETURN(std::string env, gov.promotions.TargetOf(id));
  const Caller caller = CallerOf(http, env);
  if (!roles.empty()) CL_RETURN_IF_ERROR(RequireRole(caller, roles, env, doing));
  CL_ASSIGN_OR_RETURN(PromotionPage page, action(gov.promotions, caller, id, body));
  Json out = api_json::PromotionPageJson(page, gov.deps.names);
  // A deployment the gate failed is a conflict that shows the promotion as it now is.
  if (Status not_deployed = deploying ? promotion::NotDeployed(page) : Status::Ok(); !not_deployed.ok()) {
    return not_deployed.WithDetails({{"promotion", out}});
  }
  return HttpResponse::FromJson(200, out);
}

}  // namespace

void AddPromotionRoutes(Router& router, ApiContext& ctx) {
  auto add = [&](const char* method, std::string pattern, std::function<Result<HttpResponse>(HttpRequest&)> fn) {
    router.Add({method, std::move(pattern), Access::kAuthenticated, false, std::move(fn)});
  };
  add("POST", "/v1/promotions", [&ctx](HttpRequest& http) { return Create(ctx, http); });
  add("GET", "/v1/promotions", [&ctx](HttpRequest& http) -> Result<HttpResponse> {
    CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
    promotion::PromotionFilter f;
    const auto q = [&](const char* k) {
      const auto it = http.query.find(k);
      return it == http.query.end() ? std::string() : it->second;
    };
    f.state = q("state");
    f.automation = q("automation");
    f.environment = q("environment");
    const std::string emergency = q("emergency");
    if (!emergency.empty() && emergency != "unreviewed") {
      return Status::InvalidArgument("emergency=unreviewed is the only emergency filter");
    }
    f.unreviewed_emergencies = emergency == "unreviewed";
    if (const std::string limit = q("limit"); !limit.empty()) {
      if (limit.size() > 4 || limit.find_first_not_of("0123456789") != std::string::npos || std::stoi(limit) < 1) {
        return Status::InvalidArgument("limit must be 1 to 1000");
      }
      f.limit = std::min(1000, std::stoi(limit));
    }
    Governance& gov = GovernanceFor(ctx, session);
    CL_ASSIGN_OR_RETURN(auto list, gov.promotions.List(f));
    return HttpResponse::FromJson(200, api_json::PromotionListJson(list, gov.deps.names));
  });
  add("GET", "/v1/promotions/{id}", [&ctx](HttpRequest& http) -> Result<HttpResponse> {
    CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
    CL_ASSIGN_OR_RETURN(const std::string id, ResolvePromotionId(*session, http.path_params.at("id")));
    Governance& gov = GovernanceFor(ctx, session);
    CL_ASSIGN_OR_RETURN(PromotionPage page, gov.promotions.Get(id));
    return HttpResponse::FromJson(200, api_json::PromotionPageJson(page, gov.deps.names));
  });
  add("POST", "/v1/promotions/{id}/approve", [&ctx](HttpRequest& http) {
    // Who may approve is the pipeline's rule for this promotion (its rollback
    // rule for a rollback), which the service applies.
    return OnPromotion(ctx, http, {"version", "comment"}, {}, "approving",
                       [&ctx](PromotionService& s, const Caller& c, const std::string& id, const Json& body) -> Result<PromotionPage> {
                         CL_ASSIGN_OR_RETURN(std::string version, Text(body, "version", true));
                         CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
                         CL_ASSIGN_OR_RETURN(version, VersionOrAsGiven(*session, version));
                         CL_ASSIGN_OR_RETURN(std::string comment, Text(body, "comment", false));
                         return s.Approve(c, id, version, comment);
                       });
  });
  add("POST", "/v1/promotions/{id}/reject", [&ctx](HttpRequest& http) {
    return OnPromotion(ctx, http, {"comment"}, {}, "rejecting",
                       [](PromotionService& s, const Caller& c, const std::string& id, const Json& body) -> Result<PromotionPage> {
                         CL_ASSIGN_OR_RETURN(std::string comment, Text(body, "comment", true));
                         return s.Reject(c, id, comment);
                       });
  });
  add("POST", "/v1/promotions/{id}/cancel", [&ctx](HttpRequest& http) {
    return OnPromotion(ctx, http, {"reason"}, {}, "cancelling",
                       [](PromotionService& s, const Caller& c, const std::string& id, const Json& body) -> Result<PromotionPage> {
                         CL_ASSIGN_OR_RETURN(std::string reason, Text(body, "reason", false));
                         return s.Cancel(c, id, reason);
                       });
  });
  add("POST", "/v1/promotions/{id}/override", [&ctx](HttpRequest& http) {
    return OnPromotion(ctx, http, {"reason"}, {}, "overriding",
                       [](PromotionService& s, const Caller& c, const std::string& id, const Json& body) -> Result<PromotionPage> {
                         CL_ASSIGN_OR_RETURN(std::string reason, Text(body, "reason", true));
                         return s.Override(c, id, reason);
                       });
  });
  add("POST", "/v1/promotions/{id}/deploy", [&ctx](HttpRequest& http) {
    return OnPromotion(ctx, http, {}, {"operator"}, "deploying",
                       [](PromotionService& s, const Caller& c, const std::string& id, const Json&) { return s.Deploy(c, id); },
                       /*deploying=*/true);
  });
  add("POST", "/v1/promotions/{id}/review", [&ctx](HttpRequest& http) {
    return OnPromotion(ctx, http, {"comment"}, {"approver"}, "reviewing a break-glass promotion",
                       [](PromotionService& s, const Caller& c, const std::string& id, const Json& body) -> Result<PromotionPage> {
                         CL_ASSIGN_OR_RETURN(std::string comment, Text(body, "comment", true));
                         return s.Review(c, id, comment);
                       });
  });
  add("POST", "/v1/environments/{env}/rollbacks", [&ctx](HttpRequest& http) -> Result<HttpResponse> {
    CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
    const std::string env = http.path_params.at("env");
    CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
    CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
    CL_RETURN_IF_ERROR(CheckKnownFields(body, {"automation", "reason"}));
    CL_ASSIGN_OR_RETURN(std::string automation, Text(body, "automation", true));
    CL_ASSIGN_OR_RETURN(std::string reason, Text(body, "reason", true));
    Governance& gov = GovernanceFor(ctx, session);
    CL_ASSIGN_OR_RETURN(PromotionPage page, gov.promotions.Rollback(CallerOf(http, env), automation, env, reason));
    return HttpResponse::FromJson(201, api_json::PromotionPageJson(page, gov.deps.names));
  });
}

}  // namespace cloister
