// What the API handlers share: the seal manager (and through it the store),
// the injected clock, randomness, metrics and logger, and facts about this
// server. Built by appliance/server; handlers hold it by reference.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "appliance/api/appliance.h"
#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/metrics.h"
#include "appliance/core/random.h"
#include "appliance/core/version.h"
#include "appliance/http/dispatcher.h"
#include "appliance/identity/auth_failure_limiter.h"
#include "appliance/identity/login_throttle.h"
#include "appliance/identity/password_hasher.h"
#include "appliance/identity/session_service.h"
#include "appliance/identity/session_store.h"
#include "appliance/identity/user_service.h"
#include "appliance/runtime/egress.h"
#include "appliance/runtime/run_service.h"
#include "appliance/runtime/run_workers.h"
#include "appliance/runtime/scheduler.h"
#include "governance/policy/policy_engine.h"
#include "governance/promotion/automation_service.h"
#include "governance/promotion/environment_service.h"
#include "governance/promotion/pipeline_service.h"
#include "governance/promotion/promotion_service.h"

namespace cloister {

struct ServerInfo {
  std::string version = CloisterVersion();
  std::chrono::steady_clock::time_point started;
  std::string tls_fingerprint;         // SHA-256 of the serving certificate
  std::string default_appliance_name;  // used by init when none is given
  std::vector<std::string> default_environments = {"dev", "test", "prod"};
};

// How users log in and how long sessions last (cloister.yaml "auth").
struct AuthOptions {
  SessionPolicy sessions;
  LockoutPolicy lockout;
  AuthFailureLimit failed_auth;  // bad tokens and sessions per client address
  ScryptParams scrypt;           // for new password hashes; older ones are rehashed at login
};

struct ApiContext {
  Appliance& appliance;
  const Clock& clock;
  Random& random;
  Metrics& metrics;
  const Logger& logger;
  ServerInfo info;
  AuthOptions auth;
  policy::PolicyEngine* policies = nullptr;  // null: no policies at all
  policy::EvalLimits policy_limits;
  runtime::RuntimeOptions runtime;        // cloister.yaml "runtime"
  runtime::Resolver* resolver = nullptr;  // name resolution for steps; null: no runs execute
};

// The RequestGate of the running appliance: sealed unless a session is open;
// tokens and login sessions checked against the database. Every
// authentication attempt is an audit event ("auth.token" or "auth.session");
// when it cannot be recorded the request fails (fail closed). An unsafe
// request whose session came in the cookie must carry the session's CSRF
// token in X-CSRF-Token (403 "csrf_failed" otherwise). A principal whose
// password must change may only call whoami, logout and the password change
// (403 "password_change_required").
// Once the ledger has failed verification, only reads and sealing proceed
// (unrecorded: nothing can be appended) and everything else gets 503
// "ledger_integrity".
class ApplianceGate final : public RequestGate {
 public:
  explicit ApplianceGate(ApiContext& ctx) : ctx_(ctx), failures_(ctx.clock, ctx.auth.failed_auth) {}
  bool Sealed() const override;
  Result<Principal> Authenticate(const HttpRequest& request,
                                 const Credentials& credentials) override;
  // Denials are audit events (outcome "denied").
  Status Authorize(HttpRequest& request, const Route& route) override;

 private:
  // A failed authentication: recorded, or past the address's limit refused
  // with resource_exhausted (429) and recorded once per window.
  Status Refuse(AuditService& audit, AuditRecord attempt, const HttpRequest& request, Status why);

  ApiContext& ctx_;
  AuthFailureLimiter failures_;
};

// The open session, or unavailable "sealed" (the appliance sealed mid-request).
Result<std::shared_ptr<Session>> RequireSession(ApiContext& ctx);

// The requester of an HTTP request, for audit events.
Requester RequesterOf(const HttpRequest& request);

// A handler's JSON request body: {} when empty, an object otherwise.
Result<Json> JsonBody(const HttpRequest& request);

// invalid_argument unless `environment` is "*" or an environment of the appliance.
Status CheckEnvironment(Session& session, const std::string& environment);
// A role from its name, or invalid_argument naming `field` and the roles.
Result<Role> RoleField(const std::string& name, const std::string& field);
// A time parameter (query or body field `name`) as the ledger writes times
// (FormatTimestamp: UTC, six fractional digits), from any RFC 3339 date-time
// (ParseRfc3339: any offset, optional fraction). A fraction finer than a
// microsecond is rounded up when `round_up` (a lower bound) and down
// otherwise, so the bound keeps exactly the events it names. "" stays "".
// invalid_argument naming `name` (details {"parameter": name}) otherwise.
Result<std::string> TimeParameter(const std::string& name, const std::string& value, bool round_up);
// A promotion id or automation version id given in full or by a unique
// prefix of at least 8 characters, as git takes abbreviated names: the full
// id; not_found when nothing matches; conflict "ambiguous_id" listing the
// candidates (details {"candidates"}) when several do.
Result<std::string> ResolvePromotionId(Session& session, const std::string& text);
Result<std::string> ResolveVersionId(Session& session, const std::string& text);
// A timestamp or other optional text as JSON: null when empty.
inline Json OrNull(const std::string& text) { return text.empty() ? Json() : Json(text); }
// [{"role": ..., "environment": ...}]
Json RoleBindingsJson(const std::vector<RoleBinding>& bindings);
// permission_denied "forbidden" naming the roles one of which `request`
// needs in `environment`, recorded as an auth.authorize denial.
Status Deny(ApiContext& ctx, const HttpRequest& request, const std::vector<Role>& required,
            const std::string& environment);
// For a route whose environments come from the query rather than the path:
// permission_denied "forbidden" (and an auth.authorize denial in the ledger)
// unless the principal holds one of `roles` in `environment`.
Status RequireRoleIn(ApiContext& ctx, const HttpRequest& request, const std::vector<Role>& roles,
                     const std::string& environment);
// Whether the principal is an admin in every environment.
bool IsAdminEverywhere(const Principal& principal);
// The roles the principal holds in `environment` (admin first when held).
std::vector<std::string> RolesIn(const Principal& principal, const std::string& environment);

// The current name of a stored user id (the id itself for ids that name no
// user), for outputs that show people: the session's name directory.
std::function<std::string(const std::string&)> NamesFor(const std::shared_ptr<Session>& session);
// The governance services over the open session (which the caller keeps
// alive while it uses them), and the name resolver their outputs use.
struct Governance {
  explicit Governance(const promotion::ServiceDeps& d)
      : deps(d), automations(deps), environments(deps), pipelines(deps), promotions(deps) {}
  promotion::ServiceDeps deps;
  promotion::AutomationService automations;
  promotion::EnvironmentService environments;
  promotion::PipelineService pipelines;
  promotion::PromotionService promotions;
};

// The services of one unsealed session: built once at its unseal by the
// factory cloisterd gives the Appliance (MakeSessionServices), and destroyed
// with the session. Thread-safe: each holds only references to thread-safe
// collaborators.
struct SessionServices {
  SessionServices(const promotion::ServiceDeps& deps, UserService users, SessionService sessions,
                  std::unique_ptr<runtime::RunWorkers> workers,
                  const runtime::RuntimeOptions& runtime_options)
      : governance(deps),
        users(std::move(users)),
        sessions(std::move(sessions)),
        workers(std::move(workers)),
        runs(governance.deps, runtime_options,
             [w = this->workers.get()] {
               if (w) w->Wake();
             }),
        scheduler(governance.deps, runs, governance.promotions, runtime_options,
                  Logger("scheduler")) {}
  Governance governance;
  UserService users;
  SessionService sessions;
  // The session's run workers (null when no resolver was wired): started
  // once the unseal is recorded, stopped before the seal is (see
  // StartSessionWork and StopSessionWork).
  std::unique_ptr<runtime::RunWorkers> workers;
  runtime::RunService runs;
  // Schedules, scheduled promotions and retention; runs with the workers.
  runtime::Scheduler scheduler;
};

// The hooks cloisterd gives Appliance::SetSessionHooks: start the session's
// run workers once its unseal is recorded, and stop them (letting each
// finish the step it runs) before the seal is recorded.
void StartSessionWork(Session& session);
void StopSessionWork(Session& session);

// The factory the wiring gives Appliance::SetServicesFactory: the session's
// governance and identity services, over its store and audit service, with
// `ctx`'s clock, randomness, policies and options (`ctx` must outlive the
// appliance's sessions). People's names are looked up once per user id and
// kept for the session (names never change once created).
SessionServicesFactory MakeSessionServices(ApiContext& ctx);

// The open session's services. RequireSession guarantees they exist.
Governance& GovernanceFor(ApiContext& ctx, const std::shared_ptr<Session>& session);
// The requester of `request` for promotion events, with the roles held in `environment`.
promotion::Caller CallerOf(const HttpRequest& request, const std::string& environment);

// The event template of `request`'s requester (actor, request id and
// address, token used), the `by` the identity services take.
AuditRecord EventTemplateOf(const HttpRequest& request);
// The identity services of the open session.
UserService& UserServiceFor(ApiContext& ctx, const std::shared_ptr<Session>& session);
SessionService& SessionServiceFor(ApiContext& ctx, const std::shared_ptr<Session>& session);
runtime::RunService& RunServiceFor(ApiContext& ctx, const std::shared_ptr<Session>& session);

// The policy set in force, with the stored documents loaded for `session`.
std::shared_ptr<const policy::PolicySet> PolicySetFor(ApiContext& ctx,
                                                      const std::shared_ptr<Session>& session);
// Applies the api.request policy bindings to an authorized request (see
// docs/policy-language.md). Records the decision when any binding applies;
// adds advisory failures to request.warnings; permission_denied
// "policy_denied" (or "policy_override_required") with the explanation when
// the decision blocks. Policy management and login routes are exempt, so a
// policy can never lock its own administrators out.
Status CheckRequestPolicy(ApiContext& ctx, HttpRequest& request, const std::string& environment);

}  // namespace cloister
