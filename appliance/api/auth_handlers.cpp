// /v1/auth: login, logout, whoami, password change and the brute-force
// lockouts. A failed login answers the same, in the same time, whether the
// user is unknown, disabled or gave a wrong password: an unknown user's
// attempt is checked against a dummy hash with the same parameters.
#include <map>
#include <memory>
#include <optional>
#include <semaphore>
#include <thread>

#include "appliance/api/routes.h"
#include "appliance/core/encoding.h"
#include "appliance/http/client_address.h"
#include "appliance/identity/identity_events.h"
#include "appliance/identity/session_service.h"
#include "appliance/identity/user_store.h"

namespace cloister {
namespace {

// What logins share: the dummy hash for unknown users, and a bound on
// concurrent scrypt runs (each takes 32 MiB at the default parameters).
struct LoginState {
  std::string dummy_hash;
  AttemptSlots slots;
  // Logins refused before any password check, per address (see RecordRefusal).
  std::unique_ptr<AuthFailureLimiter> refusals;
  std::counting_semaphore<64> hashing{std::clamp<std::ptrdiff_t>(std::thread::hardware_concurrency(), 1, 64)};

  Result<bool> Verify(std::string_view password, const std::string& stored) {
    hashing.acquire();
    Result<bool> matched = VerifyPassword(password, stored.empty() ? dummy_hash : stored);
    hashing.release();
    return stored.empty() ? Result<bool>(false) : matched;
  }
};

std::string SessionCookie(const std::string& value, int64_t max_age) {
  return std::string(kSessionCookie) + "=" + value + "; Path=/; Max-Age=" + std::to_string(max_age) +
         "; HttpOnly; Secure; SameSite=Strict";
}

HttpResponse InvalidCredentials() {
  return ErrorResponse(401, "invalid_credentials", "the user name or password is wrong");
}

HttpResponse TooManyAttempts(int64_t wait_seconds) {
  HttpResponse r = ErrorResponse(429, "too_many_attempts",
                                 "too many failed logins; try again in " + std::to_string(wait_seconds) + " seconds",
                                 {{"retry_after_seconds", wait_seconds}});
  r.headers.emplace_back("Retry-After", std::to_string(wait_seconds));
  return r;
}

// Records a login refused before any password check (locked, a check in
// progress, an unknown certificate). Past auth.failed_auth from one address
// in a window, only the window's first further refusal is recorded, as
// auth.rate_limited with the count, so a locked address cannot grow the
// ledger without bound.
Status RecordRefusal(Session& session, LoginState& state, const AuditRecord& event, const std::string& address) {
  const AuthFailureLimiter::Verdict v = state.refusals->Fail(address);
  if (!v.refuse) return session.audit->Record(event);
  if (!v.record_refusal) return Status::Ok();
  AuditRecord limited = event;
  limited.action = "auth.rate_limited";
  limited.reason = "more than " + std::to_string(state.refusals->limit().max_failures) +
                   " refused logins from this address within " + std::to_string(state.refusals->limit().window.count()) +
                   " s; further refusals in this window are not recorded";
  limited.details["refusals"] = v.failures;
  limited.details["refused_unrecorded_in_previous_window"] = v.refused_in_previous_window;
  return session.audit->Record(limited);
}

// The attempt slots a password login holds while its password is checked
// (AttemptSlots): taken before the check, given back once any failure is
// recorded.
class SlotGuard {
 public:
  SlotGuard(AttemptSlots& slots, std::vector<AttemptSlots::Key> keys) : slots_(slots), keys_(std::move(keys)) {}
  ~SlotGuard() {
    if (taken_) slots_.Release(keys_);
  }
  Result<AttemptSlots::Outcome> Take(Session& session, const ApiContext& ctx) {
    auto out = slots_.Take(
        keys_,
        [&](const AttemptSlots::Key& k) {
          return session.store->reads().Read<LoginFailures>([&](ReadView c) {
            return CurrentLoginFailures(c, k.kind, k.key, ctx.auth.lockout, ctx.clock);
          });
        },
        ctx.clock);
    taken_ = out.ok() && out->taken;
    return out;
  }

 private:
  AttemptSlots& slots_;
  std::vector<AttemptSlots::Key> keys_;
  bool taken_ = false;
};

struct LoginRequest {
  std::string username, password;  // both empty for a certificate login
  bool by_certificate = false;
  bool return_token = false;
};

Result<LoginRequest> ParseLogin(const HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"username", "password", "return_token"}));
  CL_ASSIGN_OR_RETURN(auto username, OptionalString(body, "username"));
  CL_ASSIGN_OR_RETURN(auto password, OptionalString(body, "password"));
  CL_ASSIGN_OR_RETURN(auto return_token, OptionalBool(body, "return_token"));
  LoginRequest out;
  out.by_certificate = !username && !password;
  out.return_token = return_token.value_or(false);
  if (out.by_certificate) {
    if (http.client_subject.empty()) {
      return Status::InvalidArgument(
          "give \"username\" and \"password\", or present a client certificate");
    }
    return out;
  }
  if (!username || !password) {
    return Status::InvalidArgument("fields \"username\" and \"password\" are both required");
  }
  if (username->size() > 256 || password->size() > 1024) {
    return Status::InvalidArgument("the user name is limited to 256 bytes and the password to 1024");
  }
  out.username = *username;
  out.password = *password;
  return out;
}

// What checking a login's credentials came to: the user they prove, or the
// answer to refuse with (the refusal already recorded).
struct Checked {
  std::optional<User> user;
  HttpResponse refusal;
};

Result<Checked> CheckCertificate(Session& session, LoginState& state, const AuditRecord& by,
                                 const HttpRequest& http) {
  // TLS verified the chain; the subject must belong to an enabled user.
  auto found = session.store->reads().Read<User>(
      [&](ReadView c) { return FindUserByCertificate(c, http.client_subject); });
  if (found.ok() && !found->disabled()) return Checked{std::move(found).value(), {}};
  AuditRecord event = LoginDenial(by, "certificate");
  event.details["certificate_subject"] = http.client_subject;
  event.reason = found.ok() ? "user_disabled" : "unknown_certificate";
  if (found.ok()) {
    event.target_kind = "user";
    event.target_id = found->id;
  }
  CL_RETURN_IF_ERROR(RecordRefusal(session, state, event, AddressKey(http.remote_ip)));
  return Checked{std::nullopt,
                 ErrorResponse(401, "invalid_credentials",
                               "the client certificate does not belong to an enabled user")};
}

Result<Checked> CheckPassword(ApiContext& ctx, Session& session, LoginState& state,
                              SessionService& identity, const AuditRecord& by,
                              const HttpRequest& http, const LoginRequest& login,
                              const std::string& account) {
  // The slot first, then the check: concurrent attempts cannot outrun the count.
  SlotGuard slot(state.slots,
                 {{"account", account, ctx.auth.lockout.account_threshold},
                  {"address", AddressKey(http.remote_ip), ctx.auth.lockout.address_threshold}});
  CL_ASSIGN_OR_RETURN(const AttemptSlots::Outcome taken, slot.Take(session, ctx));
  if (!taken.taken) {
    // Locked, or as many checks already running as the key has attempts left.
    const int64_t wait = std::max<int64_t>(taken.locked_seconds, 1);
    AuditRecord event = LoginDenial(by, "password");
    event.reason = taken.locked_seconds > 0 ? "locked" : "attempt_in_progress";
    event.details["retry_after_seconds"] = wait;
    event.details["attempted_user"] = account;
    CL_RETURN_IF_ERROR(RecordRefusal(session, state, event, AddressKey(http.remote_ip)));
    return Checked{std::nullopt, TooManyAttempts(wait)};
  }
  auto found =
      session.store->reads().Read<User>([&](ReadView c) { return FindUser(c, login.username); });
  if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
  CL_ASSIGN_OR_RETURN(const bool matched,
                      state.Verify(login.password, found.ok() ? found->password_hash : ""));
  if (found.ok() && matched && !found->disabled()) return Checked{std::move(found).value(), {}};
  const std::string reason = !found.ok() ? "unknown_user"
                             : !matched  ? "wrong_password"
                                         : "user_disabled";
  CL_RETURN_IF_ERROR(identity.RecordFailedLogin(
      by, {reason, found.ok() ? found->id : "", account, AddressKey(http.remote_ip)}));
  return Checked{std::nullopt, InvalidCredentials()};
}

Result<HttpResponse> Login(ApiContext& ctx, LoginState& state, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const LoginRequest login, ParseLogin(http));
  SessionService& identity = SessionServiceFor(ctx, session);
  const AuditRecord by = EventTemplateOf(http);
  const std::string account = login.by_certificate ? "" : identity.AccountKey(login.username);
  CL_ASSIGN_OR_RETURN(Checked checked, login.by_certificate
                                           ? CheckCertificate(*session, state, by, http)
                                           : CheckPassword(ctx, *session, state, identity, by, http,
                                                           login, account));
  if (!checked.user) return std::move(checked.refusal);
  const User& user = *checked.user;

  LoginGrant grant;
  grant.user = user;
  grant.method = login.by_certificate ? "certificate" : "password";
  grant.password = login.password;
  grant.account = account;
  grant.certificate_subject = login.by_certificate ? http.client_subject : "";
  grant.remote_ip = http.remote_ip;
  // Never adopt a session the client brings (fixation): a new one is
  // issued, and one presented with the login is ended.
  if (auto old = AuthenticateSession(session->store->reads(), http.Cookie(kSessionCookie), ctx.clock,
                                     ctx.auth.sessions);
      old.ok()) {
    grant.presented_session = old->session_id;
  }
  CL_ASSIGN_OR_RETURN(const IssuedSession issued, identity.Login(by, grant));

  Json out = {{"user", {{"id", user.id}, {"name", user.name}}},
              {"roles", RoleBindingsJson(user.roles)},
              {"session", {{"id", issued.id},
                           {"expires_at", issued.expires_at},
                           {"idle_timeout_seconds", ctx.auth.sessions.idle.count()}}},
              {"csrf_token", issued.csrf_token},
              {"password_change_required", user.must_change_password}};
  if (login.return_token) {
    out["token"] = issued.secret;
    return HttpResponse::FromJson(200, out);
  }
  HttpResponse response = HttpResponse::FromJson(200, out);
  response.headers.emplace_back("Set-Cookie", SessionCookie(issued.secret, ctx.auth.sessions.absolute.count()));
  return response;
}

Result<HttpResponse> Logout(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const Principal& p = *http.principal;
  if (p.session_id.empty()) {
    return Status::InvalidArgument(
        "logout ends a login session, and this request used an API token; revoke a token with DELETE "
        "/v1/auth/tokens/{id}");
  }
  CL_RETURN_IF_ERROR(
      SessionServiceFor(ctx, session).Logout(EventTemplateOf(http), p.user_id, p.session_id));
  HttpResponse response = HttpResponse::FromJson(200, {{"logged_out", true}});
  response.headers.emplace_back("Set-Cookie", SessionCookie("", 0));
  return response;
}

Result<HttpResponse> WhoAmI(ApiContext&, HttpRequest& http) {
  const Principal& p = *http.principal;
  Json out = {{"kind", p.kind},
              {"user", p.user_id.empty() ? Json() : Json{{"id", p.user_id}, {"name", p.user_name}}},
              {"roles", RoleBindingsJson(p.bindings)},
              {"password_change_required", p.password_change_required}};
  if (p.kind == "token") out["token"] = {{"id", p.id}, {"name", p.name}};
  if (!p.session_id.empty()) {
    out["session"] = {{"id", p.session_id}};
    out["csrf_token"] = p.csrf_token;
  }
  return HttpResponse::FromJson(200, out);
}

Result<HttpResponse> ChangePassword(ApiContext& ctx, LoginState& state, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const Principal& p = *http.principal;
  if (p.user_id.empty()) return Status::InvalidArgument("this token belongs to no user, so it has no password");
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"current_password", "new_password"}));
  CL_ASSIGN_OR_RETURN(auto current, OptionalString(body, "current_password"));
  CL_ASSIGN_OR_RETURN(auto next, OptionalString(body, "new_password"));
  if (!current || !next) return Status::InvalidArgument("fields \"current_password\" and \"new_password\" are required");
  if (current->size() > 1024 || next->size() > 1024) return Status::InvalidArgument("passwords are limited to 1024 bytes");
  CL_RETURN_IF_ERROR(CheckPasswordPolicy(*next));
  if (*next == *current) return Status::InvalidArgument("the new password must differ from the current one");

  SessionService& identity = SessionServiceFor(ctx, session);
  const std::string account = identity.AccountKey(p.user_name);
  SlotGuard slot(state.slots, {{"account", account, ctx.auth.lockout.account_threshold},
                               {"address", AddressKey(http.remote_ip), ctx.auth.lockout.address_threshold}});
  CL_ASSIGN_OR_RETURN(const AttemptSlots::Outcome taken, slot.Take(*session, ctx));
  if (!taken.taken) return TooManyAttempts(std::max<int64_t>(taken.locked_seconds, 1));
  CL_ASSIGN_OR_RETURN(User user, session->store->reads().Read<User>(
                                     [&](ReadView c) { return FindUserById(c, p.user_id); }));
  CL_ASSIGN_OR_RETURN(const bool matched, state.Verify(*current, user.password_hash));
  if (!matched) {
    return identity.RefuseWrongPassword(EventTemplateOf(http), user.id, account,
                                        AddressKey(http.remote_ip));
  }
  // Every session of the user ends; the one that asked gets a new session
  // (none when the request came with a token).
  CL_ASSIGN_OR_RETURN(
      const IssuedSession issued,
      identity.ChangePassword(EventTemplateOf(http),
                              {user.id, *next, !p.session_id.empty(), http.remote_ip}));
  Json out = {{"changed", true}};
  if (!issued.id.empty()) {
    out["session"] = {{"id", issued.id}, {"expires_at", issued.expires_at}};
    out["csrf_token"] = issued.csrf_token;
    if (!p.by_cookie) out["token"] = issued.secret;
  }
  HttpResponse response = HttpResponse::FromJson(200, out);
  if (p.by_cookie && !issued.id.empty()) {
    response.headers.emplace_back("Set-Cookie", SessionCookie(issued.secret, ctx.auth.sessions.absolute.count()));
  }
  return response;
}

// Accounts are keyed by HMAC; those that belong to a user are shown with
// the user's name, the rest (names that exist nowhere, or a password typed
// into the name field) only as the HMAC.
Result<HttpResponse> ListLockouts(ApiContext& ctx, HttpRequest&) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(auto entries,
                      session->store->reads().Read<std::vector<LoginFailures>>([&](ReadView c) {
                        return ListLoginFailures(c, ctx.auth.lockout, ctx.clock);
                      }));
  CL_ASSIGN_OR_RETURN(auto users, session->store->reads().Read<std::vector<User>>(ListUsers));
  const SessionService& identity = SessionServiceFor(ctx, session);
  std::map<std::string, std::string> user_by_key;
  for (const auto& u : users) user_by_key[identity.AccountKey(u.name)] = u.name;
  Json list = Json::array();
  for (const auto& f : entries) {
    const auto user = f.kind == "account" ? user_by_key.find(f.key) : user_by_key.end();
    list.push_back({{"kind", f.kind},
                    {"key", f.key},
                    {"user", user == user_by_key.end() ? Json() : Json(user->second)},
                    {"failures", f.failures},
                    {"last_failure_at", f.last_failure_at},
                    {"locked_until", OrNull(f.locked_until)}});
  }
  const LockoutPolicy& l = ctx.auth.lockout;
  return HttpResponse::FromJson(200, {{"lockouts", list},
                                      {"policy", {{"account_threshold", l.account_threshold},
                                                  {"address_threshold", l.address_threshold},
                                                  {"base_delay_seconds", l.base_delay.count()},
                                                  {"max_delay_seconds", l.max_delay.count()},
                                                  {"reset_after_seconds", l.reset_after.count()}}}});
}

Result<HttpResponse> ClearLockout(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string kind = http.path_params.at("kind");
  if (kind != "account" && kind != "address") {
    return Status::InvalidArgument("a lockout is of an \"account\" or an \"address\", not \"" + kind + "\"");
  }
  // An account is named by its user name (or by the HMAC a listing shows).
  const std::string& given = http.path_params.at("key");
  const bool is_hmac = given.rfind("hmac-sha256:", 0) == 0;
  SessionService& identity = SessionServiceFor(ctx, session);
  const std::string key =
      kind == "account" ? (is_hmac ? given : identity.AccountKey(given)) : AddressKey(given);
  CL_RETURN_IF_ERROR(identity.ClearLockout(EventTemplateOf(http), kind, key));
  return HttpResponse::FromJson(200, {{"kind", kind}, {"key", key}, {"cleared", true}});
}

}  // namespace

void AddAuthRoutes(Router& router, ApiContext& ctx) {
  auto state = std::make_shared<LoginState>();
  state->refusals = std::make_unique<AuthFailureLimiter>(ctx.clock, ctx.auth.failed_auth);
  // Made now, at start, so the first unknown-user login costs what any other does.
  auto dummy = HashPassword("cloister dummy password", ctx.random, ctx.auth.scrypt);
  state->dummy_hash = dummy.ok() ? *dummy : "";
  router.Add({"POST", "/v1/auth/login", Access::kPublic, false,
              [&ctx, state](HttpRequest& r) { return Login(ctx, *state, r); }});
  router.Add({"POST", "/v1/auth/logout", Access::kAuthenticated, false, [&ctx](HttpRequest& r) { return Logout(ctx, r); }});
  router.Add({"GET", "/v1/auth/whoami", Access::kAuthenticated, false, [&ctx](HttpRequest& r) { return WhoAmI(ctx, r); }});
  router.Add({"POST", "/v1/auth/password", Access::kAuthenticated, false,
              [&ctx, state](HttpRequest& r) { return ChangePassword(ctx, *state, r); }});
  router.Add({"GET", "/v1/auth/lockouts", Access::kAuthenticated, false,
              [&ctx](HttpRequest& r) { return ListLockouts(ctx, r); }});
  router.Add({"DELETE", "/v1/auth/lockouts/{kind}/{key}", Access::kAuthenticated, false,
              [&ctx](HttpRequest& r) { return ClearLockout(ctx, r); }});
}

}  // namespace cloister
