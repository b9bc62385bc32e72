#include "appliance/identity/session_service.h"

#include "appliance/identity/identity_events.h"

namespace cloister {
namespace {

// An event prepared before its unit runs, so the writer only finishes it;
// a malformed event fails here, before anything is written.
Result<PreparedEvent> Prepared(const AuditRecord& event) { return PreparedEvent::Prepare(event); }

// OK for not_found: an ending or clearing that found nothing to end.
Status IgnoreNotFound(const Status& st) {
  return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
}

}  // namespace

std::string SessionService::AccountKey(std::string_view user_name) const {
  return hmac_(UserNameKey(user_name));
}

Result<IssuedSession> SessionService::Login(const AuditRecord& by, const LoginGrant& grant) {
  const bool by_password = grant.method == "password";
  std::string rehashed;
  if (by_password && NeedsRehash(grant.user.password_hash, options_.scrypt)) {
    CL_ASSIGN_OR_RETURN(rehashed, HashPassword(grant.password, random_, options_.scrypt));
  }
  AuditRecord event = LoginDenial(by, grant.method);
  event.outcome = "success";
  event.actor = {"user", grant.user.id, grant.user.name};
  event.target_kind = "user";
  event.target_id = grant.user.id;
  if (!by_password) event.details["certificate_subject"] = grant.certificate_subject;
  if (!grant.presented_session.empty()) {
    event.details["replaced_session"] = hmac_(grant.presented_session);
  }
  if (!rehashed.empty()) event.details["password_rehashed"] = true;
  const User& user = grant.user;
  return writer_.Write<IssuedSession>([&](Transaction& tx) -> Result<IssuedSession> {
    CL_ASSIGN_OR_RETURN(IssuedSession issued,
                        CreateSession(tx, random_, clock_, options_.sessions, user.id, grant.method,
                                      grant.remote_ip));
    CL_RETURN_IF_ERROR(RecordLogin(tx, user.id, clock_));
    if (by_password) {
      CL_RETURN_IF_ERROR(IgnoreNotFound(ClearLoginFailures(tx, "account", grant.account)));
    }
    if (!rehashed.empty()) {
      CL_RETURN_IF_ERROR(SetPassword(tx, user.id, rehashed, user.must_change_password, clock_));
    }
    if (!grant.presented_session.empty()) {
      CL_RETURN_IF_ERROR(IgnoreNotFound(RevokeSession(tx, grant.presented_session, clock_)));
    }
    AuditRecord done = event;
    done.details["session"] = hmac_(issued.id);
    CL_RETURN_IF_ERROR(ledger_.Append(tx, done).status());
    return issued;
  });
}

Status SessionService::RecordFailure(Transaction& tx, const AuditRecord& event,
                                     const std::string& account, const std::string& address) {
  CL_RETURN_IF_ERROR(ledger_.Append(tx, event).status());
  for (const auto& [kind, key] :
       {std::pair<std::string, std::string>{"account", account}, {"address", address}}) {
    CL_ASSIGN_OR_RETURN(LoginFailures after,
                        RecordLoginFailure(tx, kind, key, options_.lockout, clock_));
    if (after.locked_until.empty()) continue;
    CL_RETURN_IF_ERROR(
        ledger_.Append(tx, LockoutEvent(event, kind, key, after.failures, after.locked_until))
            .status());
  }
  return Status::Ok();
}

Status SessionService::RecordFailedLogin(const AuditRecord& by, const FailedLogin& failure) {
  AuditRecord event = LoginDenial(by, "password");
  event.reason = failure.reason;
  if (!failure.user_id.empty()) {
    event.target_kind = "user";
    event.target_id = failure.user_id;
  } else {
    event.details["attempted_user"] = failure.account;
  }
  return writer_.Write(
      [&](Transaction& tx) { return RecordFailure(tx, event, failure.account, failure.address); });
}

Status SessionService::RefuseWrongPassword(const AuditRecord& by, const std::string& user_id,
                                           const std::string& account, const std::string& address) {
  AuditRecord event = EventBy(by, "user.password.change", "denied");
  event.reason = "wrong_password";
  event.target_kind = "user";
  event.target_id = user_id;
  CL_RETURN_IF_ERROR(
      writer_.Write([&](Transaction& tx) { return RecordFailure(tx, event, account, address); }));
  return Status::PermissionDenied("the current password is wrong").WithReason("wrong_password");
}

Result<IssuedSession> SessionService::ChangePassword(const AuditRecord& by,
                                                     const PasswordChange& change) {
  CL_ASSIGN_OR_RETURN(const std::string hash,
                      HashPassword(change.new_password, random_, options_.scrypt));
  AuditRecord event = EventBy(by, "user.password.change");
  event.target_kind = "user";
  event.target_id = change.user_id;
  return writer_.Write<IssuedSession>([&](Transaction& tx) -> Result<IssuedSession> {
    CL_RETURN_IF_ERROR(SetPassword(tx, change.user_id, hash, false, clock_));
    CL_ASSIGN_OR_RETURN(const int64_t ended, RevokeUserSessions(tx, change.user_id, clock_));
    IssuedSession issued;
    if (change.new_session) {
      CL_ASSIGN_OR_RETURN(issued, CreateSession(tx, random_, clock_, options_.sessions,
                                                change.user_id, "password", change.remote_ip));
    }
    AuditRecord done = event;
    done.details = {{"sessions_ended", ended}};
    CL_RETURN_IF_ERROR(ledger_.Append(tx, done).status());
    return issued;
  });
}

Status SessionService::Logout(const AuditRecord& by, const std::string& user_id,
                              const std::string& session_id) {
  AuditRecord event = EventBy(by, "auth.logout");
  event.target_kind = "user";
  event.target_id = user_id;
  event.details = {{"session", hmac_(session_id)}};
  CL_ASSIGN_OR_RETURN(const PreparedEvent prepared, Prepared(event));
  return writer_.Write([&](Transaction& tx) -> Status {
    CL_RETURN_IF_ERROR(RevokeSession(tx, session_id, clock_));
    return ledger_.Append(tx, prepared).status();
  });
}

Status SessionService::ClearLockout(const AuditRecord& by, const std::string& kind,
                                    const std::string& key) {
  AuditRecord event = EventBy(by, "auth.lockout.clear");
  event.target_kind = kind;
  event.target_id = key;
  CL_ASSIGN_OR_RETURN(const PreparedEvent prepared, Prepared(event));
  return writer_.Write([&](Transaction& tx) -> Status {
    CL_RETURN_IF_ERROR(ClearLoginFailures(tx, kind, key));
    return ledger_.Append(tx, prepared).status();
  });
}

Result<IssuedToken> SessionService::CreateToken(const AuditRecord& by, const NewToken& spec) {
  Json roles = Json::array();
  for (Role r : spec.roles) roles.push_back(RoleName(r));
  return writer_.Write<IssuedToken>([&](Transaction& tx) -> Result<IssuedToken> {
    CL_ASSIGN_OR_RETURN(const User owner, FindUserById(tx.view(), spec.owner_id));
    if (owner.disabled()) return Status::FailedPrecondition("user " + owner.name + " is disabled");
    CL_ASSIGN_OR_RETURN(IssuedToken token, cloister::CreateToken(tx, random_, clock_, spec));
    AuditRecord event = EventBy(by, "token.create");
    event.target_kind = "token";
    event.target_id = hmac_(token.id);
    event.details = {{"name", spec.name},
                     {"owner", {{"id", owner.id}, {"name", owner.name}}},
                     {"roles", roles},
                     {"environments", spec.environments},
                     {"expires_at", spec.expires_at}};
    CL_RETURN_IF_ERROR(ledger_.Append(tx, event).status());
    return token;
  });
}

Status SessionService::RevokeToken(const AuditRecord& by, const std::string& id,
                                   const std::function<bool(const TokenInfo&)>& may_revoke) {
  AuditRecord event = EventBy(by, "token.revoke");
  event.target_kind = "token";
  event.target_id = hmac_(id);
  CL_ASSIGN_OR_RETURN(const PreparedEvent prepared, Prepared(event));
  const Status revoked = writer_.Write([&](Transaction& tx) -> Status {
    // Another user's token is "not found" to whoever may not revoke it: ids
    // are not secrets, but whether one exists is none of their business.
    CL_ASSIGN_OR_RETURN(const TokenInfo token, FindToken(tx.view(), id));
    if (!may_revoke(token)) return Status::NotFound("no active API token " + id);
    CL_RETURN_IF_ERROR(cloister::RevokeToken(tx, id, clock_));
    return ledger_.Append(tx, prepared).status();
  });
  if (revoked.code() != StatusCode::kNotFound) return revoked;
  // The refusal is recorded too; its reason never names the id in clear.
  AuditRecord refused = event;
  refused.outcome = "denied";
  refused.reason = "no active API token the requester may revoke has this id";
  CL_ASSIGN_OR_RETURN(const PreparedEvent denial, Prepared(refused));
  CL_RETURN_IF_ERROR(
      writer_.Write([&](Transaction& tx) { return ledger_.Append(tx, denial).status(); }));
  return revoked;
}

}  // namespace cloister
