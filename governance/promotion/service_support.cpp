#include "governance/promotion/service_support.h"

#include <algorithm>

#include "governance/environments/environment_config.h"
#include "governance/environments/environment_store.h"

namespace cloister::promotion {

bool Caller::Holds(const std::vector<std::string>& any_of) const {
  for (const auto& r : roles) {
    if (r == "admin" || std::find(any_of.begin(), any_of.end(), r) != any_of.end()) return true;
  }
  return false;
}

Result<std::vector<std::string>> EnvironmentNames(ReadView db) {
  CL_ASSIGN_OR_RETURN(auto envs, ListEnvironments(db));
  std::vector<std::string> out;
  for (const auto& e : envs) out.push_back(e.name);
  return out;
}

Status CheckEnvironmentName(const std::vector<std::string>& envs, const std::string& env) {
  if (std::find(envs.begin(), envs.end(), env) == envs.end()) {
    std::string list;
    for (const auto& e : envs) list += (list.empty() ? "" : ", ") + e;
    return Status::InvalidArgument("\"" + env + "\" is not an environment (" + list + ")");
  }
  return Status::Ok();
}

Result<ConfigNames> NamesIn(ReadView db, const std::string& environment) {
  ConfigNames out;
  CL_ASSIGN_OR_RETURN(auto vars, ListVariables(db, environment));
  CL_ASSIGN_OR_RETURN(auto secrets, ListSecrets(db, environment));
  for (const auto& v : vars) out.variables.insert(v.name);
  for (const auto& s : secrets) out.secrets.insert(s.name);
  return out;
}

std::vector<std::string> Missing(const std::set<std::string>& wanted, const std::set<std::string>& have) {
  std::vector<std::string> out;
  for (const auto& n : wanted) {
    if (!have.count(n)) out.push_back(n);
  }
  return out;
}

}  // namespace cloister::promotion
