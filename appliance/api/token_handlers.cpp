// /v1/auth/tokens: create, list and revoke API tokens. Any user may make
// tokens for themselves (narrowed to some roles and environments if they
// like); admins may make them for anyone. The secret is shown once, in the
// creation response; the ledger names tokens by the HMAC of their ids.
#include "appliance/api/routes.h"
#include "appliance/identity/session_service.h"
#include "appliance/identity/token_store.h"
#include "appliance/identity/user_store.h"
#include "appliance/storage/id_prefix.h"

namespace cloister {
namespace {

Json TokenJson(const TokenInfo& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"owner", t.owner_id.empty() ? Json() : Json{{"id", t.owner_id}, {"name", t.owner_name}}},
          {"roles", t.roles},
          {"environments", t.environments},
          {"created_at", t.created_at},
          {"expires_at", OrNull(t.expires_at)},
          {"revoked_at", OrNull(t.revoked_at)},
          {"last_used_at", OrNull(t.last_used_at)}};
}

Result<std::vector<std::string>> StringList(const Json& body, const std::string& field) {
  std::vector<std::string> out;
  if (!body.contains(field)) return out;
  const Json& list = body[field];
  if (!list.is_array()) return Status::InvalidArgument("field \"" + field + "\" must be a list of names");
  for (const Json& item : list) {
    if (!item.is_string()) return Status::InvalidArgument("field \"" + field + "\" must be a list of names");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// Who may see and revoke a token: its owner, and admins in every environment.
bool MayManage(const Principal& p, const TokenInfo& t) { return IsAdminEverywhere(p) || (!p.user_id.empty() && t.owner_id == p.user_id); }

Result<HttpResponse> CreateApiToken(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const Principal& p = *http.principal;
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"name", "owner", "roles", "environments", "ttl_seconds"}));
  CL_ASSIGN_OR_RETURN(auto name, OptionalString(body, "name"));
  CL_ASSIGN_OR_RETURN(auto owner, OptionalString(body, "owner"));
  CL_ASSIGN_OR_RETURN(auto ttl, OptionalInt(body, "ttl_seconds"));
  CL_ASSIGN_OR_RETURN(std::vector<std::string> role_names, StringList(body, "roles"));
  CL_ASSIGN_OR_RETURN(std::vector<std::string> environments, StringList(body, "environments"));
  if (!name) return Status::InvalidArgument("field \"name\" needs 1-100 characters");
  CL_RETURN_IF_ERROR(ValidateTokenName(*name));
  NewToken spec;
  spec.name = *name;
  for (const auto& r : role_names) {
    CL_ASSIGN_OR_RETURN(Role role, RoleField(r, "roles[]"));
    spec.roles.push_back(role);
  }
  for (const auto& env : environments) {
    if (env == "*") return Status::InvalidArgument("leave \"environments\" out for every environment; \"*\" is not a restriction");
    CL_RETURN_IF_ERROR(CheckEnvironment(*session, env));
  }
  spec.environments = environments;
  if (ttl && (*ttl <= 0 || *ttl > int64_t{10} * 365 * 86400)) {
    return Status::InvalidArgument("field \"ttl_seconds\" must be between 1 and 10 years");
  }
  spec.expires_at = ttl ? FormatTimestamp(ctx.clock.Now() + std::chrono::seconds(*ttl)) : "";
  // A token may make tokens only for an admin: otherwise a leaked token
  // could outlive its own expiry through a new one.
  const bool admin = IsAdminEverywhere(p);
  if (p.kind == "token" && !admin) {
    return Status::PermissionDenied("an API token cannot create tokens; log in as the user to create one")
        .WithReason("forbidden");
  }
  User owner_user;
  if (owner) {
    CL_ASSIGN_OR_RETURN(owner_user, session->store->reads().Read<User>(
                                        [&](ReadView c) { return FindUser(c, *owner); }));
    if (owner_user.id != p.user_id && !admin) {
      return Status::PermissionDenied("only an admin may create tokens for another user").WithReason("forbidden");
    }
  } else if (p.user_id.empty()) {
    return Status::InvalidArgument("field \"owner\" is required: this credential belongs to no user");
  } else {
    owner_user.id = p.user_id;
    owner_user.name = p.user_name;
  }
  spec.owner_id = owner_user.id;
  // A disabled owner is refused by the service, which reads the owner in its unit.
  CL_ASSIGN_OR_RETURN(const IssuedToken issued,
                      SessionServiceFor(ctx, session).CreateToken(EventTemplateOf(http), spec));
  Json out = {{"id", issued.id},
              {"token", issued.secret},
              {"name", spec.name},
              {"owner", {{"id", owner_user.id}, {"name", owner_user.name}}},
              {"roles", role_names},
              {"environments", environments},
              {"expires_at", OrNull(spec.expires_at)}};
  return HttpResponse::FromJson(201, out);
}

Result<HttpResponse> ListApiTokens(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  // Admins see every token, others their own (a token from before owners owns none).
  const Principal& p = *http.principal;
  const bool all = IsAdminEverywhere(p);
  Json list = Json::array();
  if (all || !p.user_id.empty()) {
    CL_ASSIGN_OR_RETURN(auto tokens,
                        session->store->reads().Read<std::vector<TokenInfo>>(
                            [&](ReadView c) { return ListTokens(c, all ? "" : p.user_id); }));
    for (const auto& t : tokens) list.push_back(TokenJson(t));
  }
  return HttpResponse::FromJson(200, {{"tokens", list}});
}

Result<HttpResponse> RevokeApiToken(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  // A unique prefix names a token, among those the requester may manage only
  // (so an ambiguous prefix lists no one else's ids).
  std::string id = http.path_params.at("id");
  CL_ASSIGN_OR_RETURN(auto all_tokens, session->store->reads().Read<std::vector<TokenInfo>>(
                                           [&](ReadView c) { return ListTokens(c, ""); }));
  std::vector<std::string> manageable;
  for (const auto& t : all_tokens) {
    if (MayManage(*http.principal, t)) manageable.push_back(t.id);
  }
  auto resolved = ResolveIdAmong(id, manageable, "API token");
  if (resolved.ok()) {
    id = *resolved;
  } else if (resolved.status().code() != StatusCode::kNotFound) {
    return resolved.status();
  }
  // Another user's token is "not found" to a non-admin, and the refusal is recorded.
  const Principal& p = *http.principal;
  CL_RETURN_IF_ERROR(SessionServiceFor(ctx, session)
                         .RevokeToken(EventTemplateOf(http), id,
                                      [&p](const TokenInfo& t) { return MayManage(p, t); }));
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
