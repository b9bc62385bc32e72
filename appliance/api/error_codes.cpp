#include "appliance/api/error_codes.h"

#include <array>

namespace cloister {
namespace {

using S = StatusCode;

// Grouped: generic codes, the HTTP layer's own, then domain reasons by area.
// Each HTTP status here is the one HttpStatusFor gives its StatusCode, or the
// HTTP layer's fixed one; error_codes_test checks both.
constexpr std::array kErrorCodes = {
    // Generic: the StatusCode names, for a Status without a reason.
    ErrorCode{"invalid_argument", S::kInvalidArgument, 400,
              "a field of the request is wrong; the message names it"},
    ErrorCode{"not_found", S::kNotFound, 404, "no such route or object"},
    ErrorCode{"already_exists", S::kAlreadyExists, 409,
              "the name, subject, binding or token name is taken; the message names it"},
    ErrorCode{"permission_denied", S::kPermissionDenied, 403, "the caller may not do this"},
    ErrorCode{"unauthenticated", S::kUnauthenticated, 401,
              "the endpoint needs a credential and none was sent"},
    ErrorCode{"failed_precondition", S::kFailedPrecondition, 412,
              "the appliance or the object is not in the state the action needs"},
    ErrorCode{"conflict", S::kConflict, 409,
              "the action conflicts with the object's current state"},
    ErrorCode{"resource_exhausted", S::kResourceExhausted, 429, "too many attempts; try later"},
    ErrorCode{"unavailable", S::kUnavailable, 503,
              "the appliance cannot serve this now; retry later"},
    ErrorCode{"corruption", S::kCorruption, 500, "stored data failed a check"},
    ErrorCode{"internal", S::kInternal, 500,
              "an unexpected failure; the server log has the request id"},

    // The HTTP layer's own answers.
    ErrorCode{"malformed_request", S::kInvalidArgument, 400,
              "the HTTP request itself is malformed (request line, headers, URI or chunked body)"},
    ErrorCode{"method_not_allowed", std::nullopt, 405,
              "the path takes other methods; Allow lists them"},
    ErrorCode{"payload_too_large", std::nullopt, 413,
              "the request body exceeds the limit (details.limit_bytes)"},
    ErrorCode{"unsupported_media_type", std::nullopt, 415,
              "a request body that is not application/json"},
    ErrorCode{"header_too_large", std::nullopt, 431,
              "the request head exceeds 16 KiB; the connection is closed"},
    ErrorCode{"overloaded", S::kUnavailable, 503,
              "too many requests or changes are waiting; nothing was done (Retry-After: 1)"},
    ErrorCode{"sealed", S::kUnavailable, 503,
              "the appliance is sealed (or sealed while the request ran)"},

    // Identity: logins, sessions, tokens, users.
    ErrorCode{"invalid_credentials", S::kUnauthenticated, 401,
              "login: the user name or password is wrong, or the certificate is no enabled user's"},
    ErrorCode{"invalid_token", S::kUnauthenticated, 401,
              "the API token is invalid, expired or revoked"},
    ErrorCode{"invalid_session", S::kUnauthenticated, 401, "the session has ended or is invalid"},
    ErrorCode{"too_many_attempts", S::kResourceExhausted, 429,
              "login backoff; Retry-After says how long"},
    ErrorCode{"too_many_failures", S::kResourceExhausted, 429,
              "too many failed authentications from this address; Retry-After says how long"},
    ErrorCode{"forbidden", S::kPermissionDenied, 403,
              "the caller lacks the role (details.required_roles)"},
    ErrorCode{"csrf_failed", S::kPermissionDenied, 403,
              "a cookie-authenticated change without the session's CSRF token"},
    ErrorCode{"password_change_required", S::kPermissionDenied, 403,
              "the password was reset; change it first"},
    ErrorCode{"wrong_password", S::kPermissionDenied, 403,
              "the current password given to change it is wrong"},
    ErrorCode{"weak_password", S::kInvalidArgument, 400, "the new password is too short"},
    ErrorCode{"user_not_found", S::kNotFound, 404, "no such user"},
    ErrorCode{"last_admin", S::kFailedPrecondition, 412,
              "the change would leave no enabled admin on every environment"},
    ErrorCode{"already_disabled", S::kFailedPrecondition, 412, "the user is already disabled"},
    ErrorCode{"already_enabled", S::kFailedPrecondition, 412, "the user is already enabled"},

    // Initialization, sealing, keys and storage.
    ErrorCode{"already_initialized", S::kAlreadyExists, 409,
              "the appliance is already initialized"},
    ErrorCode{"not_initialized", S::kFailedPrecondition, 412,
              "the appliance is not initialized (POST /v1/sys/init)"},
    ErrorCode{"wrong_seal_type", S::kFailedPrecondition, 412,
              "shares sent to a key-file appliance, or the reverse"},
    ErrorCode{"invalid_share", S::kInvalidArgument, 400,
              "an unseal share fails its checksum or was not issued here"},
    ErrorCode{"duplicate_share", S::kInvalidArgument, 400,
              "this unseal share was already provided"},
    ErrorCode{"wrong_appliance", S::kInvalidArgument, 400,
              "an unseal share belongs to another appliance"},
    ErrorCode{"shares_needed", S::kInvalidArgument, 400,
              "fewer unseal shares than the keyring's threshold"},
    ErrorCode{"invalid_key_file", S::kInvalidArgument, 400,
              "the key file does not hold a key (64 hex digits)"},
    ErrorCode{"key_mismatch", S::kPermissionDenied, 403,
              "the key does not unwrap this appliance's data key"},
    ErrorCode{"key_file_exposed", S::kPermissionDenied, 403,
              "the key file is readable by group or others"},
    ErrorCode{"keyring_damaged", S::kCorruption, 500, "the keyring file is damaged"},
    ErrorCode{"database_undecryptable", S::kCorruption, 500,
              "the database does not decrypt with the unwrapped key"},
    ErrorCode{"schema_too_new", S::kFailedPrecondition, 412,
              "the database was migrated by a later cloisterd"},
    ErrorCode{"locked", S::kUnavailable, 503, "the data directory is in use by another process"},
    ErrorCode{"ambiguous_id", S::kConflict, 409,
              "an id prefix matches several objects (details.candidates)"},
    ErrorCode{"malformed_json", S::kInvalidArgument, 400,
              "the body is not a JSON object, repeats a key or holds an unrepresentable number"},

    // Audit ledger and backups.
    ErrorCode{"ledger_integrity", S::kUnavailable, 503,
              "the audit ledger failed verification; changes are refused"},
    ErrorCode{"audit_unavailable", S::kUnavailable, 503,
              "the unseal could not be recorded in the ledger; the appliance stays sealed"},
    ErrorCode{"checkpoint_pending", S::kFailedPrecondition, 412,
              "the ledger's head has no signed checkpoint yet"},
    ErrorCode{"backup_invalid", S::kInvalidArgument, 400,
              "the backup file or its manifest is damaged or does not verify"},
    ErrorCode{"backup_ledger_invalid", S::kFailedPrecondition, 412,
              "the backup's audit ledger does not verify or does not match its manifest"},

    // Automations, policies and promotions.
    ErrorCode{"invalid_definition", S::kInvalidArgument, 400,
              "the automation definition fails validation (details)"},
    ErrorCode{"stale", S::kConflict, 409, "If-Match names a version that is no longer live"},
    ErrorCode{"version_integrity", S::kCorruption, 500, "a stored version does not hash to its id"},
    ErrorCode{"policy_denied", S::kPermissionDenied, 403,
              "a policy denied the action; the explanation is attached"},
    ErrorCode{"policy_override_required", S::kPermissionDenied, 403,
              "a policy denied the action; an allowed role may override it"},
    ErrorCode{"policy_in_use", S::kConflict, 409,
              "the stored policy or pipeline is still referenced"},
    ErrorCode{"promotion_open", S::kConflict, 409,
              "the automation already has an open promotion to that environment"},
    ErrorCode{"promotion_state", S::kConflict, 409,
              "the promotion is not in a state that allows the action"},
    ErrorCode{"not_live_in_source", S::kFailedPrecondition, 412,
              "the version is not live in the environment it would be promoted from"},
    ErrorCode{"break_glass_not_allowed", S::kPermissionDenied, 403,
              "the caller lacks a break-glass role of the stage"},
    ErrorCode{"version_mismatch", S::kConflict, 409,
              "an approval names a version other than the promotion's"},
    ErrorCode{"invalid_inputs", S::kInvalidArgument, 400,
              "a run's inputs do not fit the automation (details.problems)"},
    ErrorCode{"not_live", S::kNotFound, 404,
              "no version of the automation is live in that environment"},
    ErrorCode{"queue_full", S::kResourceExhausted, 429,
              "the automation's run queue in that environment is full; try later"},
    ErrorCode{"idempotency_conflict", S::kConflict, 409,
              "the idempotency key already started a run with other inputs (details.run)"},
    ErrorCode{"run_finished", S::kFailedPrecondition, 412, "the run has ended; it cannot change"},
    ErrorCode{"not_a_webhook", S::kFailedPrecondition, 412,
              "the automation is not triggered by webhooks"},
    ErrorCode{"webhook_secret_missing", S::kFailedPrecondition, 412,
              "the automation's webhook key is not set as a secret in that environment"},
    ErrorCode{"webhook_signature", S::kUnauthenticated, 401,
              "a webhook without a valid X-Cloister-Signature over its timestamp and body"},
    ErrorCode{
        "webhook_expired", S::kUnauthenticated, 401,
        "a webhook whose X-Cloister-Timestamp is more than 5 minutes from the appliance's time"},
    ErrorCode{"webhook_replayed", S::kConflict, 409,
              "this webhook delivery was seen before (details.run)"},
    // Outbound calls of steps: a run's error.code, and an attempt's.
    ErrorCode{"egress_denied", S::kPermissionDenied, 403,
              "a step's connection was refused by the environment's egress rules (details: host, "
              "address, rule)"},
    ErrorCode{"connection_failed", S::kUnavailable, 503,
              "a step could not resolve, connect to or read from the service (retried)"},
    ErrorCode{"timeout", S::kUnavailable, 503,
              "a step's call did not finish within its timeout_seconds"},
    ErrorCode{"tls_failed", S::kUnavailable, 503,
              "the service's certificate was not accepted (untrusted by the environment's "
              "ca_bundle, expired, "
              "wrong name)"},
    ErrorCode{"bad_response", S::kUnavailable, 503, "the service's answer was not HTTP"},
    ErrorCode{"self_approval", S::kPermissionDenied, 403,
              "the author or requester may not approve the promotion"},
    ErrorCode{"not_an_eligible_approver", S::kPermissionDenied, 403,
              "no approval rule of the stage admits the caller"},
    ErrorCode{"already_decided", S::kConflict, 409,
              "the caller already approved or rejected this promotion"},
    ErrorCode{"not_the_requester", S::kPermissionDenied, 403,
              "only the requester or an admin may cancel"},
    ErrorCode{"no_override_needed", S::kConflict, 409,
              "the policy gate is not waiting for an override"},
    ErrorCode{"override_not_allowed", S::kPermissionDenied, 403,
              "the caller lacks a role that may override"},
    ErrorCode{"scheduled", S::kConflict, 409, "the promotion is scheduled for later"},
    ErrorCode{"deny_window", S::kConflict, 409, "a deployment window denies deploying now"},
    ErrorCode{"deploy_failed", S::kConflict, 409,
              "the deployment's gate failed; the promotion's new state is named"},
    ErrorCode{"reviewed", S::kConflict, 409, "the break-glass promotion was already reviewed"},
    ErrorCode{"self_review", S::kPermissionDenied, 403,
              "the requester of a break-glass promotion may not review it"},
};

}  // namespace

std::span<const ErrorCode> ErrorCodes() { return kErrorCodes; }

const ErrorCode* FindErrorCode(std::string_view code) {
  for (const ErrorCode& e : kErrorCodes) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

UnlistedReasonLog::UnlistedReasonLog(Logger logger) : logger_(std::move(logger)) {}

bool UnlistedReasonLog::Report(const Status& status) {
  const std::string reason = status.reason();
  {
    MutexLock lock(mu_);
    if (!reported_.insert(reason).second) return false;
  }
  logger_.Error("internal inconsistency: error reason \"" + reason + "\" (" +
                std::string(StatusCodeName(status.code())) +
                ") is not in the client error table (appliance/api/error_codes.cpp); clients are "
                "answered \"" +
                std::string(StatusCodeName(status.code())) +
                "\"; first seen with: " + status.message());
  return true;
}

bool UnlistedReasonLog::Reported(const std::string& reason) const {
  MutexLock lock(mu_);
  return reported_.count(reason) > 0;
}

HttpResponse ClientErrorResponse(const Status& status, UnlistedReasonLog& unlisted) {
  std::string code = status.reason();
  if (FindErrorCode(code) == nullptr) {
    unlisted.Report(status);
    code = std::string(StatusCodeName(status.code()));
  }
  return ErrorResponse(HttpStatusFor(status), code, status.message(), status.details());
}

}  // namespace cloister
