#include "appliance/api/api_context.h"

#include <map>

#include "appliance/core/clock.h"
#include "appliance/core/encoding.h"
#include "appliance/core/mutex.h"
#include "appliance/http/client_address.h"
#include "appliance/identity/token_store.h"
#include "appliance/identity/user_store.h"
#include "appliance/storage/id_prefix.h"
#include "governance/environments/environment_store.h"

namespace cloister {

bool ApplianceGate::Sealed() const { return ctx_.appliance.session() == nullptr; }

namespace {

bool IsSafeMethod(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

// Routes a principal whose password must change may still call.
bool AllowedBeforePasswordChange(const std::string& pattern) {
  return pattern == "/v1/auth/whoami" || pattern == "/v1/auth/logout" ||
         pattern == "/v1/auth/password";
}

}  // namespace

Result<Principal> ApplianceGate::Authenticate(const HttpRequest& request,
                                              const Credentials& credentials) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx_));
  AuditService& audit = *session->audit;
  const std::string_view secret =
      credentials.bearer.empty() ? credentials.session_cookie : credentials.bearer;
  const bool is_session =
      secret.substr(0, kSessionPrefix.size()) == kSessionPrefix || credentials.bearer.empty();
  std::string why;
  Result<Principal> principal =
      is_session ? AuthenticateSession(session->store->reads(), secret, ctx_.clock,
                                       ctx_.auth.sessions, &why)
                 : AuthenticateToken(session->store->reads(), secret, ctx_.clock, &why);
  AuditRecord attempt = RecordFor(RequesterOf(request), is_session ? "auth.session" : "auth.token",
                                  principal.ok() ? "success" : "denied");
  if (principal.ok()) {
    principal->by_cookie = credentials.bearer.empty();
    if (principal->kind == "token") principal->audit_id = audit.Hmac(principal->id);
    attempt.actor = {principal->is_person() ? "user" : principal->kind, principal->person_id(),
                     principal->person_name()};
    if (is_session) {
      attempt.details = {{"session", audit.Hmac(principal->session_id)}};
    } else if (principal->is_person()) {
      attempt.via_token = principal->audit_id;
    }
  } else {
    attempt.reason = std::string(is_session ? "the session is " : "the API token is ") + why;
    attempt.details = {{is_session ? "session" : "token", audit.Hmac(secret)}};
  }
  // The route's pattern, not the path: path values may name tokens.
  attempt.details["method"] = request.method;
  attempt.details["path"] = request.route_pattern;
  if (principal.ok() && principal->by_cookie && !IsSafeMethod(request.method) &&
      !ConstantTimeEquals(request.Header("x-csrf-token"), principal->csrf_token)) {
    attempt.outcome = "denied";
    attempt.reason = "the request lacks the session's CSRF token (X-CSRF-Token)";
    principal = Status::PermissionDenied(
                    "a request authenticated by the session cookie must send the session's "
                    "CSRF token in X-CSRF-Token (from the login response or whoami)")
                    .WithReason("csrf_failed");
  }
  if (audit.ledger().compromised()) {
    // Nothing can be recorded. Reads (to diagnose, verify and export) and
    // sealing go on; every other request is refused.
    const bool allowed = request.method == "GET" || request.path == "/v1/sys/seal";
    if (!allowed) {
      return Status::Unavailable("the audit ledger failed verification (" +
                                 audit.ledger().integrity_failure() + "); changes are refused")
          .WithReason("ledger_integrity");
    }
    return principal;
  }
  if (!principal.ok()) return Refuse(audit, std::move(attempt), request, principal.status());
  const std::string id = is_session ? principal->session_id : principal->id;
  CL_RETURN_IF_ERROR(audit.Record(attempt, [&](Transaction& tx) {
    return is_session ? TouchSession(tx, id, ctx_.clock) : TouchToken(tx, id, ctx_.clock);
  }));
  return principal;
}

Status ApplianceGate::Refuse(AuditService& audit, AuditRecord attempt, const HttpRequest& request,
                             Status why) {
  // Counted by AddressKey: one IPv6 host's /64 is one address.
  const AuthFailureLimiter::Verdict v = failures_.Fail(AddressKey(request.remote_ip));
  if (!v.refuse) {
    CL_RETURN_IF_ERROR(audit.Record(attempt));
    return why;
  }
  ctx_.metrics.Increment("cloister_auth_rate_limited_total", {});
  const Status limited = Status::ResourceExhausted(
                             "too many failed authentications from " + request.remote_ip +
                             "; try again in " + std::to_string(v.retry_after_seconds) + " seconds")
                             .WithReason("too_many_failures")
                             .WithDetails({{"retry_after_seconds", v.retry_after_seconds}});
  if (!v.record_refusal) return limited;
  AuditRecord refused = RecordFor(RequesterOf(request), "auth.rate_limited", "denied");
  refused.reason = "more than " + std::to_string(failures_.limit().max_failures) +
                   " failed authentications from this address within " +
                   std::to_string(failures_.limit().window.count()) +
                   " s; further failures in this window are "
                   "refused unrecorded";
  refused.details = {{"method", request.method},
                     {"path", request.route_pattern},
                     {"failures", v.failures},
                     {"window_seconds", failures_.limit().window.count()},
                     {"refused_unrecorded_in_previous_window", v.refused_in_previous_window}};
  CL_RETURN_IF_ERROR(audit.Record(refused));
  return limited;
}

Status ApplianceGate::Authorize(HttpRequest& request, const Route& route) {
  if (!request.principal) return Status::Ok();
  if (request.principal->password_change_required && !AllowedBeforePasswordChange(route.pattern)) {
    return Status::PermissionDenied(
               "the password of " + request.principal->user_name +
               " was reset; change it first (POST /v1/auth/password, cloisterctl passwd)")
        .WithReason("password_change_required");
  }
  if (route.roles.empty()) return CheckRequestPolicy(ctx_, request, "");
  std::string environment;
  if (route.env_param == "*") {
    environment = "*";
  } else if (!route.env_param.empty()) {
    auto it = request.path_params.find(route.env_param);
    if (it != request.path_params.end()) environment = it->second;
  }
  if (Grants(request.principal->bindings, route.roles, environment)) {
    return CheckRequestPolicy(ctx_, request, environment);
  }
  return Deny(ctx_, request, route.roles, environment);
}

Status Deny(ApiContext& ctx, const HttpRequest& request, const std::vector<Role>& required,
            const std::string& environment) {
  Json roles = Json::array();
  std::string names;
  for (Role r : required) {
    roles.push_back(RoleName(r));
    names += (names.empty() ? "" : " or ") + std::string(RoleName(r));
  }
  const Status denied =
      Status::PermissionDenied(request.method + " " + request.route_pattern + " needs the role " +
                               names +
                               (environment.empty()  ? ""
                                : environment == "*" ? " in every environment (*)"
                                                     : " in environment " + environment))
          .WithReason("forbidden")
          .WithDetails({{"required_roles", roles}, {"environment", environment}});
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  AuditRecord record = RecordFor(RequesterOf(request), "auth.authorize", "denied");
  record.reason = denied.message();
  record.env = environment;
  record.details = {
      {"method", request.method}, {"path", request.route_pattern}, {"required_roles", roles}};
  if (!session->audit->ledger().compromised()) CL_RETURN_IF_ERROR(session->audit->Record(record));
  return denied;
}

Status RequireRoleIn(ApiContext& ctx, const HttpRequest& request, const std::vector<Role>& roles,
                     const std::string& environment) {
  if (request.principal && Grants(request.principal->bindings, roles, environment))
    return Status::Ok();
  return Deny(ctx, request, roles, environment);
}

Result<std::shared_ptr<Session>> RequireSession(ApiContext& ctx) {
  std::shared_ptr<Session> session = ctx.appliance.session();
  if (!session)
    return Status::Unavailable("the appliance is sealed; unseal it first").WithReason("sealed");
  if (!session->services) return Status::Internal("the appliance was started without its services");
  return session;
}

Requester RequesterOf(const HttpRequest& request) {
  Requester who;
  if (request.principal) {
    const Principal& p = *request.principal;
    who.actor = {p.is_person() ? "user" : p.kind, p.person_id(), p.person_name()};
    if (p.kind == "token" && p.is_person()) who.via_token = p.audit_id;
  }
  who.request_id = request.request_id;
  who.ip = request.remote_ip;
  return who;
}

Result<Json> JsonBody(const HttpRequest& request) {
  if (request.body.empty()) return Json::object();
  return ParseJsonObject(request.body);
}

Status CheckEnvironment(Session& session, const std::string& environment) {
  if (environment == "*") return Status::Ok();
  CL_ASSIGN_OR_RETURN(auto envs,
                      session.store->reads().Read<std::vector<Environment>>(ListEnvironments));
  for (const auto& e : envs) {
    if (e.name == environment) return Status::Ok();
  }
  return Status::InvalidArgument("environment \"" + environment + "\" does not exist");
}

Result<std::string> ResolvePromotionId(Session& session, const std::string& text) {
  return session.store->reads().Read<std::string>(
      [&](ReadView db) { return ResolveId(db, "promotions", "id", text, "promotion"); });
}

Result<std::string> ResolveVersionId(Session& session, const std::string& text) {
  return session.store->reads().Read<std::string>(
      [&](ReadView db) { return ResolveId(db, "automation_versions", "id", text, "version"); });
}

Result<std::string> TimeParameter(const std::string& name, const std::string& value,
                                  bool round_up) {
  if (value.empty()) return std::string();
  const auto t = ParseRfc3339(value);
  if (!t) {
    return Status::InvalidArgument(
               "\"" + name + "\" must be an RFC 3339 time with an offset, such as " +
               "2026-12-02T01:30:00+01:00 or 2026-12-02T00:30:00Z, not \"" + value + "\"")
        .WithDetails({{"parameter", name}});
  }
  using std::chrono::microseconds;
  using std::chrono::system_clock;
  auto micros = std::chrono::floor<microseconds>(*t);
  const auto last =
      std::chrono::floor<microseconds>(system_clock::time_point::max()) - microseconds(1);
  if (round_up && micros < *t && micros < last) micros += microseconds(1);
  return FormatTimestamp(std::chrono::time_point_cast<system_clock::duration>(micros));
}

Result<Role> RoleField(const std::string& name, const std::string& field) {
  if (auto role = ParseRole(name)) return *role;
  return Status::InvalidArgument("field \"" + field +
                                 "\" must be admin, author, approver, operator or auditor, not \"" +
                                 name + "\"");
}

Json RoleBindingsJson(const std::vector<RoleBinding>& bindings) {
  Json out = Json::array();
  for (const auto& b : bindings)
    out.push_back({{"role", RoleName(b.role)}, {"environment", b.environment}});
  return out;
}

bool IsAdminEverywhere(const Principal& principal) {
  return Grants(principal.bindings, {Role::kAdmin}, "*");
}

std::vector<std::string> RolesIn(const Principal& p, const std::string& environment) {
  std::vector<std::string> out;
  for (Role r : {Role::kAdmin, Role::kAuthor, Role::kApprover, Role::kOperator, Role::kAuditor}) {
    if (Grants(p.bindings, {r}, environment)) out.emplace_back(RoleName(r));
  }
  return out;
}

std::function<std::string(const std::string&)> NamesFor(const std::shared_ptr<Session>& session) {
  return session->services->governance.deps.names;
}

namespace {

// Current names of user ids, looked up once each and kept (names never
// change once created). Thread-safe.
class NameDirectory {
 public:
  explicit NameDirectory(ReadPool& reads) : reads_(reads) {}
  std::string NameOf(const std::string& id) {
    if (id.rfind("usr_", 0) != 0) return id;  // a legacy row, or a token from before owners
    {
      MutexLock lock(mu_);
      if (auto it = names_.find(id); it != names_.end()) return it->second;
    }
    auto user = reads_.Read<User>([&](ReadView db) { return FindUserById(db, id); });
    if (!user.ok()) return id;  // not kept: a read error may pass
    MutexLock lock(mu_);
    names_.emplace(id, user->name);
    return user->name;
  }

 private:
  ReadPool& reads_;
  Mutex mu_;
  std::map<std::string, std::string> names_ CL_GUARDED_BY(mu_);
};

}  // namespace

SessionServicesFactory MakeSessionServices(ApiContext& ctx) {
  return [&ctx](
             const std::shared_ptr<Session>& session) -> Result<std::shared_ptr<SessionServices>> {
    Store& store = *session->store;
    AuditService* audit = session->audit.get();  // outlives the services (Session's member order)
    auto names = std::make_shared<NameDirectory>(store.reads());
    // A weak reference: the services live inside the session they read policies for.
    const std::weak_ptr<Session> weak = session;
    promotion::ServiceDeps deps{store.writer(),
                                store.reads(),
                                audit->ledger(),
                                ctx.clock,
                                ctx.random,
                                [&ctx, weak] {
                                  const auto open = weak.lock();
                                  return open ? PolicySetFor(ctx, open) : ctx.policies->current();
                                },
                                ctx.policy_limits,
                                [names](const std::string& id) { return names->NameOf(id); },
                                &runtime::RunStore::EvidenceFor};
    UserService users(store.writer(), audit->ledger(), ctx.clock, ctx.random, ctx.auth.scrypt);
    SessionService sessions(store.writer(), audit->ledger(),
                            [audit](std::string_view value) { return audit->Hmac(value); },
                            ctx.clock, ctx.random,
                            {ctx.auth.sessions, ctx.auth.lockout, ctx.auth.scrypt});
    std::unique_ptr<runtime::RunWorkers> workers;
    if (ctx.resolver != nullptr) {
      workers = std::make_unique<runtime::RunWorkers>(deps, ctx.runtime, *ctx.resolver,
                                                      &ctx.metrics, Logger("runtime"));
    }
    return std::make_shared<SessionServices>(deps, std::move(users), std::move(sessions),
                                             std::move(workers), ctx.runtime);
  };
}

void StartSessionWork(Session& session) {
  if (session.services && session.services->workers) {
    const Status started = session.services->workers->Start();
    if (!started.ok())
      Logger("runtime").Error("starting the run workers failed: " + started.message());
    session.services->scheduler.Start();
  }
}

void StopSessionWork(Session& session) {
  if (!session.services) return;
  session.services->scheduler.Stop();  // first: it starts runs
  if (session.services->workers) session.services->workers->Stop();
}

runtime::RunService& RunServiceFor(ApiContext&, const std::shared_ptr<Session>& session) {
  return session->services->runs;
}

Governance& GovernanceFor(ApiContext&, const std::shared_ptr<Session>& session) {
  return session->services->governance;
}

AuditRecord EventTemplateOf(const HttpRequest& request) {
  return RecordFor(RequesterOf(request), "");
}

UserService& UserServiceFor(ApiContext&, const std::shared_ptr<Session>& session) {
  return session->services->users;
}

SessionService& SessionServiceFor(ApiContext&, const std::shared_ptr<Session>& session) {
  return session->services->sessions;
}

promotion::Caller CallerOf(const HttpRequest& request, const std::string& environment) {
  promotion::Caller c;
  c.audit = RecordFor(RequesterOf(request), "");
  if (request.principal) c.roles = RolesIn(*request.principal, environment);
  return c;
}

}  // namespace cloister
