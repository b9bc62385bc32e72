#include "appliance/api/permissions.h"

namespace cloister {

const std::vector<PermissionEntry>& PermissionTable() {
  static const std::vector<PermissionEntry> kTable = {
      {"GET", "/v1/sys/health", "public", ""},
      {"GET", "/v1/sys/seal-status", "public", ""},
      {"POST", "/v1/sys/init", "public", ""},
      {"POST", "/v1/sys/unseal", "public", ""},
      {"POST", "/v1/sys/seal", "admin", "*"},
      {"POST", "/v1/sys/backups", "admin", "*"},
      {"GET", "/v1/sys/backups", "admin", "*"},
      {"GET", "/v1/sys/backups/{name}", "admin", "*"},
      {"GET", "/v1/environments", "author, approver, operator", ""},
      {"GET", "/metrics", "operator", "*"},
      {"GET", "/v1/audit/events", "auditor", "*"},
      {"GET", "/v1/audit/checkpoints", "auditor", "*"},
      {"GET", "/v1/audit/checkpoints/latest", "auditor", "*"},
      {"GET", "/v1/audit/proofs/inclusion", "auditor", "*"},
      {"GET", "/v1/audit/proofs/consistency", "auditor", "*"},
      {"GET", "/v1/audit/public-key", "auditor", "*"},
      {"POST", "/v1/audit/hash", "auditor", "*"},
      {"POST", "/v1/audit/exports", "auditor", "*"},
      {"GET", "/v1/audit/verify", "auditor", "*"},
      {"POST", "/v1/auth/login", "public", ""},
      {"POST", "/v1/auth/logout", "authenticated", ""},
      {"GET", "/v1/auth/whoami", "authenticated", ""},
      {"POST", "/v1/auth/password", "authenticated", ""},
      {"POST", "/v1/auth/tokens", "authenticated", ""},
      {"GET", "/v1/auth/tokens", "authenticated", ""},
      {"DELETE", "/v1/auth/tokens/{id}", "authenticated", ""},
      {"GET", "/v1/auth/lockouts", "admin", "*"},
      {"DELETE", "/v1/auth/lockouts/{kind}/{key}", "admin", "*"},
      {"POST", "/v1/users", "admin", "*"},
      {"GET", "/v1/users", "admin", "*"},
      {"GET", "/v1/users/{name}", "admin", "*"},
      {"POST", "/v1/users/{name}/disable", "admin", "*"},
      {"POST", "/v1/users/{name}/enable", "admin", "*"},
      {"POST", "/v1/users/{name}/reset-password", "admin", "*"},
      {"PUT", "/v1/users/{name}/certificate", "admin", "*"},
      {"GET", "/v1/users/{name}/roles", "admin", "*"},
      {"POST", "/v1/users/{name}/roles", "admin", "*"},
      {"DELETE", "/v1/users/{name}/roles/{role}/{environment}", "admin", "*"},
      {"GET", "/v1/policies", "author, approver, operator, auditor", ""},
      {"GET", "/v1/policies/{name}", "author, approver, operator, auditor", ""},
      {"GET", "/v1/policies/{name}/versions", "author, approver, operator, auditor", ""},
      {"PUT", "/v1/policies/{name}", "admin", "*"},
      {"DELETE", "/v1/policies/{name}", "admin", "*"},
      {"GET", "/v1/policy-bindings", "author, approver, operator, auditor", ""},
      {"GET", "/v1/policy-bindings/{name}", "author, approver, operator, auditor", ""},
      {"GET", "/v1/policy-bindings/{name}/versions", "author, approver, operator, auditor", ""},
      {"PUT", "/v1/policy-bindings/{name}", "admin", "*"},
      {"DELETE", "/v1/policy-bindings/{name}", "admin", "*"},
      {"POST", "/v1/policy/evaluate", "author, approver, operator, auditor", ""},
      {"POST", "/v1/policy/reload", "admin", "*"},
      {"GET", "/v1/automations", "author, approver, operator, auditor", ""},
      {"POST", "/v1/automations/validate", "author", ""},
      {"GET", "/v1/automations/{name}", "author, approver, operator, auditor", ""},
      {"PUT", "/v1/automations/{name}", "author", ""},
      {"GET", "/v1/automations/{name}/versions/{id}", "author, approver, operator, auditor", ""},
      {"GET", "/v1/automations/{name}/diff", "author, approver, operator, auditor", ""},
      {"GET", "/v1/environments/{env}/live", "author, approver, operator, auditor", "env"},
      {"GET", "/v1/environments/{env}/deployments", "author, approver, operator, auditor", "env"},
      {"GET", "/v1/environment-diff", "author, approver, operator, auditor", ""},
      {"GET", "/v1/environments/{env}/variables", "author, approver, operator, auditor", "env"},
      {"PUT", "/v1/environments/{env}/variables/{name}", "operator", "env"},
      {"DELETE", "/v1/environments/{env}/variables/{name}", "operator", "env"},
      {"GET", "/v1/environments/{env}/secrets", "author, approver, operator, auditor", "env"},
      {"PUT", "/v1/environments/{env}/secrets/{name}", "operator", "env"},
      {"DELETE", "/v1/environments/{env}/secrets/{name}", "operator", "env"},
      {"GET", "/v1/environments/{env}/settings", "author, approver, operator, auditor", "env"},
      {"PUT", "/v1/environments/{env}/settings", "admin", "*"},
      {"POST", "/v1/environments/{env}/rollbacks", "operator", "env"},
      {"GET", "/v1/pipelines", "author, approver, operator, auditor", ""},
      {"GET", "/v1/pipelines/{name}", "author, approver, operator, auditor", ""},
      {"GET", "/v1/pipelines/{name}/versions", "author, approver, operator, auditor", ""},
      {"PUT", "/v1/pipelines/{name}", "admin", "*"},
      {"POST", "/v1/environments/{env}/automations/{name}/runs", "operator", "env"},
      {"GET", "/v1/runs", "author, approver, operator, auditor", ""},
      {"POST", "/v1/hooks/{env}/{name}", "public", ""},
      {"GET", "/v1/runs/{id}", "author, approver, operator, auditor", ""},
      {"POST", "/v1/runs/{id}/cancel", "operator", ""},
      {"POST", "/v1/promotions", "author, operator", ""},
      {"GET", "/v1/promotions", "author, approver, operator, auditor", ""},
      {"GET", "/v1/promotions/{id}", "author, approver, operator, auditor", ""},
      {"POST", "/v1/promotions/{id}/approve", "authenticated", ""},
      {"POST", "/v1/promotions/{id}/reject", "authenticated", ""},
      {"POST", "/v1/promotions/{id}/cancel", "author, operator", ""},
      {"POST", "/v1/promotions/{id}/override", "approver, operator", ""},
      {"POST", "/v1/promotions/{id}/deploy", "operator", ""},
      {"POST", "/v1/promotions/{id}/review", "approver", ""},
  };
  return kTable;
}

Status ApplyPermissionTable(Router& router) {
  for (Route& route : router.mutable_routes()) {
    const PermissionEntry* entry = nullptr;
    for (const auto& e : PermissionTable()) {
      if (e.method == route.method && e.pattern == route.pattern) entry = &e;
    }
    const std::string name = route.method + " " + route.pattern;
    if (!entry) return Status::Internal("route " + name + " has no entry in the permission table");
    const bool is_public = entry->needs == "public";
    if (is_public != (route.access == Access::kPublic)) {
      return Status::Internal("route " + name +
                              " and the permission table disagree on whether it is public");
    }
    route.roles.clear();
    route.env_param = entry->env_param;
    if (is_public || entry->needs == "authenticated") continue;
    size_t start = 0;
    while (start <= entry->needs.size()) {
      const size_t comma = entry->needs.find(", ", start);
      const std::string name_part = entry->needs.substr(
          start, comma == std::string::npos ? std::string::npos : comma - start);
      const auto role = ParseRole(name_part);
      if (!role)
        return Status::Internal("permission table names unknown role \"" + name_part + "\"");
      route.roles.push_back(*role);
      if (comma == std::string::npos) break;
      start = comma + 2;
    }
  }
  return Status::Ok();
}

}  // namespace cloister
