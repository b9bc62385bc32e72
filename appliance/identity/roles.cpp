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

std::vector<RoleBinding> RestrictBindings(const std::vector<RoleBinding>& bindings, const std::vector<Role>& roles,
                                          const std::vector<std::string>& environments) {
  std::vector<RoleBinding> by_role;
  for (const RoleBinding& b : bindings) {
    if (roles.empty()) {
      by_role.push_back(b);
    } else if (b.role == Role::kAdmin) {
      for (Role r : roles) by_role.push_back({r, b.environment});
    } else if (std::find(roles.begin(), roles.end(), b.role) != roles.end()) {
      by_role.push_back(b);
    }
  }
  if (environments.empty()) return by_role;
  std::vector<RoleBinding> out;
  for (const RoleBinding& b : by_role) {
    for (const std::string& env : environments) {
      if (env == "*") {
        out.push_back(b);
      } else if (b.environment == "*" || b.environment == env) {
        out.push_back({b.role, env});
      }
    }
  }
  return out;
}

}  // namespace cloister
