// /v1/sys: health, seal status, init, unseal, seal. These (but seal) answer
// while the appliance is sealed and without a token, as in Vault.
#include <chrono>

#include "appliance/api/routes.h"
#include "appliance/core/encoding.h"
#include "appliance/core/secure_bytes.h"
#include "appliance/identity/password_hasher.h"
#include "appliance/identity/user_service.h"
#include "appliance/identity/user_store.h"
#include "appliance/storage/appliance_info.h"
#include "appliance/storage/migrator.h"
#include "audit/audit_keys.h"
#include "governance/environments/environment_store.h"

namespace cloister {
namespace {

Json SealStatusJson(const SealStatus& s, const ServerInfo& info) {
  Json j = {{"initialized", s.initialized}, {"sealed", s.sealed}, {"version", info.version}};
  if (s.initialized) {
    j["type"] = SealTypeName(s.seal_type);
    j["shares"] = s.shares;
    j["threshold"] = s.threshold;
    j["progress"] = s.progress;
    j["appliance_id"] = s.appliance_id;
  }
  return j;
}

// The writer's state while unsealed: "ok", or "failing" from the first
// batch that could not be committed until one commits again.
Json WriterHealthJson(const Writer& writer) {
  const std::optional<WriterFault> fault = writer.LastFault();
  if (!fault) return {{"state", "ok"}};
  return {{"state", "failing"},
          {"error", fault->error.message()},
          {"since", FormatTimestamp(fault->since)},
          {"last_failure", FormatTimestamp(fault->last)},
          {"failed_commits", fault->failed_commits}};
}

// A failing writer leaves the status code alone (200 while unsealed) and
// shows in "writer": a load balancer that took the appliance out of service
// would also cut off the reads (audit export, status) an operator needs to
// investigate, and there is no other node to send the traffic to; the fault
// clears only when a commit succeeds, which needs the appliance in service.
// Monitoring alerts on writer.state or cloister_writer_failed_commits_total.
Result<HttpResponse> Health(ApiContext& ctx) {
  const SealStatus s = ctx.appliance.seal_status();
  const auto session = ctx.appliance.session();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.Monotonic() - ctx.info.started);
  Json body = {{"initialized", s.initialized},
                     {"sealed", s.sealed},
                     {"version", ctx.info.version},
                     {"uptime_seconds", uptime.count()},
                     {"server_time", FormatTimestamp(ctx.clock.Now())}};
  if (s.initialized) body["seal_type"] = std::string(SealTypeName(s.seal_type));
  if (session && session->audit->ledger().compromised()) {
    body["ledger_integrity"] = {{"ok", false}, {"problem", session->audit->ledger().integrity_failure()}};
  }
  if (session && session->store) body["writer"] = WriterHealthJson(session->store->writer());
  // As Vault: 200 unsealed, 503 sealed, 501 not initialized.
  const int status = !s.initialized ? 501 : s.sealed ? 503 : 200;
  return HttpResponse::FromJson(status, body);
}

struct InitBody {
  InitRequest request;
  std::string appliance_name;
  std::string admin_username;
  std::vector<std::string> environments;
};

Result<InitBody> ParseInitBody(const HttpRequest& http, const ApiContext& ctx) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(
      CheckKnownFields(body, {"shares", "threshold", "key_file", "appliance_name", "environments", "admin_username"}));
  InitBody out;
  CL_ASSIGN_OR_RETURN(auto key_file, OptionalString(body, "key_file"));
  CL_ASSIGN_OR_RETURN(auto shares, OptionalInt(body, "shares", 1, 255));
  CL_ASSIGN_OR_RETURN(auto threshold, OptionalInt(body, "threshold", 1, 255));
  CL_ASSIGN_OR_RETURN(auto name, OptionalString(body, "appliance_name"));
  CL_ASSIGN_OR_RETURN(auto admin, OptionalString(body, "admin_username"));
  out.admin_username = admin.value_or("admin");
  CL_RETURN_IF_ERROR(ValidateUserName(out.admin_username));
  if (key_file) {
    if (shares || threshold) {
      return Status::InvalidArgument("give either key_file or shares/threshold, not both");
    }
    out.request.seal_type = SealType::kKeyFile;
    out.request.key_file = *key_file;
  } else {
    out.request.seal_type = SealType::kShamir;
    out.request.shares = static_cast<int>(shares.value_or(5));
    out.request.threshold = static_cast<int>(threshold.value_or(3));
  }
  out.appliance_name = name.value_or(ctx.info.default_appliance_name);
  CL_RETURN_IF_ERROR(ValidateApplianceName(out.appliance_name));
  out.environments = ctx.info.default_environments;
  if (body.contains("environments")) {
    const Json& envs = body["environments"];
    if (!envs.is_array()) return Status::InvalidArgument("field \"environments\" must be a list of names");
    out.environments.clear();
    for (const Json& e : envs) {
      if (!e.is_string()) return Status::InvalidArgument("field \"environments\" must be a list of names");
      out.environments.push_back(e.get<std::string>());
    }
  }
  CL_RETURN_IF_ERROR(ValidateEnvironmentNames(out.environments));
  return out;
}

Result<HttpResponse> Init(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(InitBody body, ParseInitBody(http, ctx));
  // The first admin's password: generated, shown once, no change forced
  // (only the operator who ran init has seen it).
  CL_ASSIGN_OR_RETURN(SecureBytes raw_password, SecureBytes::Generate(ctx.random, 15));
  const std::string password = Base64UrlEncode(raw_password.view());
  CL_ASSIGN_OR_RETURN(const std::string password_hash,
                      HashPassword(password, ctx.random, ctx.auth.scrypt));
  IssuedToken token;
  User admin_user;
  // The database's first transaction: identity, environments, the first
  // admin and their token, the audit keys, and the ledger's first event
  // recording it all.
  const Bootstrap bootstrap = [&](Transaction& tx, const std::string& appliance_id) -> Status {
    CL_RETURN_IF_ERROR(WriteApplianceInfo(
        tx, {appliance_id, body.appliance_name, FormatTimestamp(ctx.clock.Now()), ctx.info.version}));
    CL_RETURN_IF_ERROR(CreateEnvironments(tx, body.environments, ctx.clock));
    CL_ASSIGN_OR_RETURN(InitialAdmin admin,
                        UserService::CreateInitialAdmin(tx, ctx.random, ctx.clock,
                                                        body.admin_username, password_hash));
    admin_user = admin.user;
    token = admin.token;
    CL_RETURN_IF_ERROR(EnsureAuditKeys(tx, ctx.random, ctx.clock));
    CL_ASSIGN_OR_RETURN(AuditKeys keys, LoadAuditKeys(tx.view()));
    AuditRecord event = RecordFor(RequesterOf(http), "system.init");
    event.details = {{"appliance_id", appliance_id},
                     {"appliance_name", body.appliance_name},
                     {"seal_type", SealTypeName(body.request.seal_type)},
                     {"environments", body.environments},
                     {"initial_admin_user", {{"id", admin_user.id}, {"name", admin_user.name}}},
                     {"initial_admin_token_id", AuditHmac(keys.hmac_key, token.id)},
                     {"version", ctx.info.version},
                     {"schema_version", ctx.appliance.seal_manager().schema_version()}};
    if (body.request.seal_type == SealType::kShamir) {
      event.details["shares"] = body.request.shares;
      event.details["threshold"] = body.request.threshold;
    }
    AuditLedger ledger(ctx.clock);
    return ledger.Append(tx, event).status();
  };
  auto initialized = ctx.appliance.seal_manager().Initialize(body.request, bootstrap);
  if (!initialized.ok()) {
    // A refused init of a running appliance is recorded (while sealed or
    // before the first init there is no ledger to write to).
    if (auto session = ctx.appliance.session()) {
      AuditRecord refused = RecordFor(RequesterOf(http), "system.init", "denied");
      refused.reason = initialized.status().message();
      if (Status st = session->audit->Record(refused); !st.ok()) return st;
    }
    return initialized.status();
  }
  InitResult result = std::move(initialized).value();
  Json out = {{"appliance_id", result.appliance_id},
              {"appliance_name", body.appliance_name},
              {"seal_type", SealTypeName(body.request.seal_type)},
              {"environments", body.environments},
              {"initial_admin_user", admin_user.name},
              {"initial_admin_password", password},
              {"initial_admin_token", token.secret},
              {"initial_admin_token_id", token.id},
              {"tls_fingerprint", ctx.info.tls_fingerprint}};
  if (body.request.seal_type == SealType::kShamir) {
    out["shares"] = result.shares;
    out["threshold"] = body.request.threshold;
  } else {
    out["key_file"] = result.key_file;
  }
  ctx.logger.Info("rid=" + http.request_id + " initialized appliance " + result.appliance_id + " (\"" +
                  body.appliance_name + "\"); initial admin token " + token.id);
  return HttpResponse::FromJson(200, out);
}

Result<HttpResponse> Unseal(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"share", "reset"}));
  CL_ASSIGN_OR_RETURN(auto reset, OptionalBool(body, "reset"));
  CL_ASSIGN_OR_RETURN(auto share, OptionalString(body, "share"));
  if (reset.value_or(false)) return HttpResponse::FromJson(200, SealStatusJson(ctx.appliance.ResetProgress(), ctx.info));
  const SealStatus now = ctx.appliance.seal_status();
  if (!now.initialized) {
    return Status::FailedPrecondition("the appliance is not initialized (POST /v1/sys/init)")
        .WithReason("not_initialized");
  }
  if (!now.sealed) return HttpResponse::FromJson(200, SealStatusJson(now, ctx.info));  // as Vault: status only
  Result<SealStatus> after = Status::Internal("unreachable");
  if (now.seal_type == SealType::kKeyFile) {
    if (share) return Status::InvalidArgument("this appliance unseals with its key file; send no share");
    after = ctx.appliance.UnsealWithKeyFile(RequesterOf(http));
  } else {
    if (!share || share->empty()) {
      return Status::InvalidArgument("field \"share\" is required: one unseal share per request");
    }
    after = ctx.appliance.SubmitShare(*share, RequesterOf(http));
  }
  if (!after.ok()) {
    ctx.logger.Warning("rid=" + http.request_id + " unseal attempt refused: " + after.status().reason());
    const SealStatus s = ctx.appliance.seal_status();
    Json details = after.status().details().is_object() ? after.status().details() : Json::object();
    details["progress"] = s.progress;
    details["threshold"] = s.threshold;
    return after.status().WithDetails(details);
  }
  return HttpResponse::FromJson(200, SealStatusJson(*after, ctx.info));
}

Result<HttpResponse> Seal(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {}));
  CL_RETURN_IF_ERROR(ctx.appliance.Seal(RequesterOf(http)));
  ctx.logger.Info("rid=" + http.request_id + " sealed by " + http.principal->id);
  return HttpResponse::FromJson(200, SealStatusJson(ctx.appliance.seal_status(), ctx.info));
}

}  // namespace

void AddSysRoutes(Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/sys/health", Access::kPublic, true, [&ctx](HttpRequest&) { return Health(ctx); }});
  router.Add({"GET", "/v1/sys/seal-status", Access::kPublic, true, [&ctx](HttpRequest&) -> Result<HttpResponse> {
                return HttpResponse::FromJson(200, SealStatusJson(ctx.appliance.seal_status(), ctx.info));
              }});
  router.Add({"POST", "/v1/sys/init", Access::kPublic, true, [&ctx](HttpRequest& r) { return Init(ctx, r); }});
  router.Add({"POST", "/v1/sys/unseal", Access::kPublic, true, [&ctx](HttpRequest& r) { return Unseal(ctx, r); }});
  router.Add({"POST", "/v1/sys/seal", Access::kAuthenticated, false, [&ctx](HttpRequest& r) { return Seal(ctx, r); }});
}

}  // namespace cloister
