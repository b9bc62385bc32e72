// Roles, bound to principals per environment. `admin` holds every role;
// `auditor` reads and exports the audit ledger and nothing else.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister {

enum class Role { kAdmin, kAuthor, kApprover, kOperator, kAuditor };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// A role in one environment, or in every environment ("*").
struct RoleBinding {
  Role role;
  std::string environment;
};

// Whether `bindings` grant any of `roles` in `environment`. An empty
// environment means the request concerns no single environment: a binding
// in any environment counts. admin grants every role in its scope.
bool Grants(const std::vector<RoleBinding>& bindings, const std::vector<Role>& roles, std::string_view environment);

// What remains of `bindings` under a token's restriction to `roles` and
// `environments` (either empty: no restriction of that kind). admin counts
// as every role and "*" as every environment, so an admin on "*" restricted
// to {auditor} in {prod} keeps exactly auditor in prod. A restriction never
// adds anything the bindings lack.
std::vector<RoleBinding> RestrictBindings(const std::vector<RoleBinding>& bindings, const std::vector<Role>& roles,
                                          const std::vector<std::string>& environments);

}  // namespace cloister
