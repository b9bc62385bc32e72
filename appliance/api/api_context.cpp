#include "appliance/api/api_context.h"

#include "appliance/identity/token_store.h"

namespace cloister {

bool ApplianceGate::Sealed() const { return ctx_.appliance.session() == nullptr; }

Result<Principal> ApplianceGate::Authenticate(const HttpRequest& request, std::string_view bearer_token) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx_));
  std::string why;
  auto principal = AuthenticateToken(session->store->reads(), bearer_token, ctx_.clock, &why);
  AuditRecord attempt = RecordFor(RequesterOf(request), "auth.token", principal.ok() ? "success" : "denied");
  if (principal.ok()) {
    principal->audit_id = session->audit->Hmac(principal->id);
    attempt.actor = {"token", principal->audit_id, principal->name};
  } else {
    attempt.reason = "the API token is " + why;
    attempt.details = {{"token", session->audit->Hmac(bearer_token)}};
  }
  // The route's pattern, not the path: path values may name tokens.
  attempt.details["method"] = request.method;
  attempt.details["path"] = request.route_pattern;
  if (session->audit->ledger().compromised()) {
    // Nothing can be recorded. Reads (to diagnose, verify and export) and
    // sealing go on; every other request is refused.
    const bool allowed = request.method == "GET" || request.path == "/v1/sys/seal";
    if (!allowed) {
      return Status::Unavailable("the audit ledger failed verification (" + session->audit->ledger().integrity_failure() +
                                 "); changes are refused")
          .WithReason("ledger_integrity");
    }
    return principal;
  }
  if (!principal.ok()) {
    CL_RETURN_IF_ERROR(session->audit->Record(attempt));
    return principal;
  }
  const std::string id = principal->id;
  CL_RETURN_IF_ERROR(session->audit->Record(attempt, [&](Transaction& tx) { return TouchToken(tx, id, ctx_.clock); }));
  return principal;
}

Status ApplianceGate::Authorize(const HttpRequest& request, const Route& route) {
  if (route.roles.empty() || !request.principal) return Status::Ok();
  std::string environment;
  if (!route.env_param.empty()) {
    auto it = request.path_params.find(route.env_param);
    if (it != request.path_params.end()) environment = it->second;
  }
  if (Grants(request.principal->bindings, route.roles, environment)) return Status::Ok();
  Json roles = Json::array();
  std::string names;
  for (Role r : route.roles) {
    roles.push_back(RoleName(r));
    names += (names.empty() ? "" : " or ") + std::string(RoleName(r));
  }
  const Status denied = Status::PermissionDenied(request.method + " " + route.pattern + " needs the role " + names +
                                                 (environment.empty() ? "" : " in environment " + environment))
                            .WithReason("forbidden")
                            .WithDetails({{"required_roles", roles}, {"environment", environment}});
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx_));
  AuditRecord record = RecordFor(RequesterOf(request), "auth.authorize", "denied");
  record.reason = denied.message();
  record.env = environment;
  record.details = {{"method", request.method}, {"path", request.route_pattern}, {"required_roles", roles}};
  if (!session->audit->ledger().compromised()) CL_RETURN_IF_ERROR(session->audit->Record(record));
  return denied;
}

Result<std::shared_ptr<Session>> RequireSession(ApiContext& ctx) {
  std::shared_ptr<Session> session = ctx.appliance.session();
  if (!session) return Status::Unavailable("the appliance is sealed; unseal it first").WithReason("sealed");
  return session;
}

Requester RequesterOf(const HttpRequest& request) {
  Requester who;
  if (request.principal) {
    const Principal& p = *request.principal;
    who.actor = {p.kind, p.audit_id.empty() ? p.id : p.audit_id, p.name};
  }
  who.request_id = request.request_id;
  who.ip = request.remote_ip;
  return who;
}

Result<Json> JsonBody(const HttpRequest& request) {
  if (request.body.empty()) return Json::object();
  return ParseJsonObject(request.body);
}

}  // namespace cloister
