// /v1/auth/tokens: create, list and revoke API tokens. The secret is shown
// once, in the creation response; the ledger names tokens by the HMAC of
// their ids.
#include <charconv>

#include "appliance/api/routes.h"
#include "appliance/identity/token_store.h"
#include "governance/environments/environment_store.h"

namespace cloister {
namespace {

Json TokenJson(const TokenInfo& t) {
  auto or_null = [](const std::string& s) { return s.empty() ? Json() : Json(s); };
  return {{"id", t.id}, {"name", t.name}, {"role", t.role}, {"environment", t.environment},
          {"created_at", t.created_at}, {"expires_at", or_null(t.expires_at)}, {"revoked_at", or_null(t.revoked_at)},
          {"last_used_at", or_null(t.last_used_at)}};
}

Result<HttpResponse> CreateApiToken(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"name", "role", "environment", "ttl_seconds"}));
  CL_ASSIGN_OR_RETURN(auto name, OptionalString(body, "name"));
  CL_ASSIGN_OR_RETURN(auto role, OptionalString(body, "role"));
  CL_ASSIGN_OR_RETURN(auto environment, OptionalString(body, "environment"));
  CL_ASSIGN_OR_RETURN(auto ttl, OptionalInt(body, "ttl_seconds"));
  if (!name || name->empty() || name->size() > 100) return Status::InvalidArgument("field \"name\" needs 1-100 characters");
  if (!role || !ParseRole(*role)) {
    return Status::InvalidArgument("field \"role\" must be admin, author, approver, operator or auditor");
  }
  const std::string env = environment.value_or("*");
  if (env != "*") {
    CL_ASSIGN_OR_RETURN(auto envs, session->store->reads().Read<std::vector<Environment>>(ListEnvironments));
    bool known = false;
    for (const auto& e : envs) known = known || e.name == env;
    if (!known) return Status::InvalidArgument("environment \"" + env + "\" does not exist");
  }
  if (ttl && (*ttl <= 0 || *ttl > int64_t{10} * 365 * 86400)) {
    return Status::InvalidArgument("field \"ttl_seconds\" must be between 1 and 10 years");
  }
  const std::string expires_at = ttl ? FormatTimestamp(ctx.clock.Now() + std::chrono::seconds(*ttl)) : "";

  IssuedToken issued;
  AuditRecord event = RecordFor(RequesterOf(http), "token.create");
  event.details = {{"name", *name}, {"role", *role}, {"environment", env}, {"expires_at", expires_at}};
  // The change and its event in one unit: the event needs the new id.
  CL_RETURN_IF_ERROR(session->store->writer().Write([&](Transaction& tx) -> Status {
    CL_ASSIGN_OR_RETURN(issued, CreateToken(tx, ctx.random, ctx.clock, *name, *role, env, expires_at));
    AuditRecord with_target = event;
    with_target.target_kind = "token";
    with_target.target_id = session->audit->Hmac(issued.id);
    return session->audit->ledger().Append(tx, with_target).status();
  }));
  Json out = {{"id", issued.id}, {"token", issued.secret}, {"name", *name}, {"role", *role}, {"environment", env},
              {"expires_at", expires_at.empty() ? Json() : Json(expires_at)}};
  return HttpResponse::FromJson(201, out);
}

Result<HttpResponse> ListApiTokens(ApiContext& ctx, HttpRequest&) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(auto tokens, session->store->reads().Read<std::vector<TokenInfo>>(ListTokens));
  Json list = Json::array();
  for (const auto& t : tokens) list.push_back(TokenJson(t));
  return HttpResponse::FromJson(200, {{"tokens", list}});
}

Result<HttpResponse> RevokeApiToken(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string id = http.path_params.at("id");
  AuditRecord event = RecordFor(RequesterOf(http), "token.revoke");
  event.target_kind = "token";
  event.target_id = session->audit->Hmac(id);
  const Status st = session->audit->Record(event, [&](Transaction& tx) { return RevokeToken(tx, id, ctx.clock); });
  if (st.code() == StatusCode::kNotFound) {
    // The refusal is recorded too.
    AuditRecord refused = event;
    refused.outcome = "denied";
    refused.reason = "no active API token has this id";  // the message names the id in plain form
    CL_RETURN_IF_ERROR(session->audit->Record(refused));
  }
  CL_RETURN_IF_ERROR(st);
  return HttpResponse::FromJson(200, {{"id", id}, {"revoked", true}});
}

}  // namespace

void AddTokenRoutes(Router& router, ApiContext& ctx) {
  router.Add({"POST", "/v1/auth/tokens", Access::kAuthenticated, false, [&ctx](HttpRequest& r) { return CreateApiToken(ctx, r); }});
  router.Add({"GET", "/v1/auth/tokens", Access::kAuthenticated, false, [&ctx](HttpRequest& r) { return ListApiTokens(ctx, r); }});
  router.Add({"DELETE", "/v1/auth/tokens/{id}", Access::kAuthenticated, false,
              [&ctx](HttpRequest& r) { return RevokeApiToken(ctx, r); }});
}

}  // namespace cloister
