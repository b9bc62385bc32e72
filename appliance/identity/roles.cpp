#include "appliance/identity/roles.h"

#include <algorithm>

namespace cloister {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kAuthor: return "author";
    case Role::kApprover: return "approver";
    case Role::kOperator: return "operator";
    case Role::kAuditor: return "auditor";
  }
  return "admin";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kAuthor, Role::kApprover, Role::kOperator, Role::kAuditor}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

bool Grants(const std::vector<RoleBinding>& bindings, const std::vector<Role>& roles, std::string_view environment) {
  for (const RoleBinding& b : bindings) {
    const bool in_scope = environment.empty() || b.environment == "*" || b.environment == environment;
    if (!in_scope) continue;
    if (b.role == Role::kAdmin || std::find(roles.begin(), roles.end(), b.role) != roles.end()) return true;
  }
  return false;
}

}  // namespace cloister
