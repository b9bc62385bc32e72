#include "appliance/identity/identity_events.h"

namespace cloister {

Json RoleBindingsToJson(const std::vector<RoleBinding>& bindings) {
  Json out = Json::array();
  for (const auto& b : bindings)
    out.push_back({{"role", RoleName(b.role)}, {"environment", b.environment}});
  return out;
}

AuditRecord EventBy(const AuditRecord& by, std::string action, std::string outcome) {
  AuditRecord r;
  r.action = std::move(action);
  r.actor = by.actor;
  r.outcome = std::move(outcome);
  r.request_id = by.request_id;
  r.request_ip = by.request_ip;
  r.via_token = by.via_token;
  return r;
}

AuditRecord UserEvent(const AuditRecord& by, std::string action, const User& user) {
  AuditRecord event = EventBy(by, std::move(action));
  event.target_kind = "user";
  event.target_id = user.id;
  event.details = {{"name", user.name}};
  return event;
}

AuditRecord LoginDenial(const AuditRecord& by, std::string_view method) {
  AuditRecord event = EventBy(by, "auth.login", "denied");
  event.details = {{"method", method}};
  return event;
}

AuditRecord LockoutEvent(const AuditRecord& event, const std::string& kind, const std::string& key,
                         int64_t failures, const std::string& locked_until) {
  AuditRecord lock = event;
  lock.action = "auth.lockout";
  lock.outcome = "success";
  lock.reason = std::to_string(failures) + " failed logins";
  lock.target_kind = kind;
  lock.target_id = key;  // accounts by HMAC: one that does not exist is never named in clear
  lock.details = {{"failures", failures}, {"locked_until", locked_until}};
  return lock;
}

}  // namespace cloister
