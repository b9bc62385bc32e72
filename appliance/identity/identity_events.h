// The identity module's audit events, built in one place per action family
// (docs/audit-format.md names their fields). Each starts from `by`, the
// event template of whoever acts: only its actor, request_id, request_ip and
// via_token are copied; the builders set the rest. Names a login attempt
// might reveal (a password typed into the user name field) appear only in
// HMAC form, as the caller passes them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "appliance/identity/roles.h"
#include "appliance/identity/user_store.h"
#include "audit/audit_record.h"

namespace cloister {

// [{"role": ..., "environment": ...}], as events and answers show bindings.
Json RoleBindingsToJson(const std::vector<RoleBinding>& bindings);

// `action` with `outcome` by `by`; no target, no details.
AuditRecord EventBy(const AuditRecord& by, std::string action, std::string outcome = "success");

// user.* and role.*: the user as target, details {"name"}.
AuditRecord UserEvent(const AuditRecord& by, std::string action, const User& user);

// auth.login, denied (a successful login sets its own outcome and actor):
// details {"method": "password" | "certificate"}.
AuditRecord LoginDenial(const AuditRecord& by, std::string_view method);

// auth.lockout after `event` (a failed check) locked `key` of `kind`
// ("account", by HMAC, or "address"): details {"failures", "locked_until"}.
AuditRecord LockoutEvent(const AuditRecord& event, const std::string& kind, const std::string& key,
                         int64_t failures, const std::string& locked_until);

}  // namespace cloister
