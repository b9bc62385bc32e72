#include "governance/promotion/environment_service.h"

#include "governance/automation/automation_version_store.h"

namespace cloister::promotion {

using automation::AutomationVersionStore;

Result<std::vector<LiveAutomation>> EnvironmentService::Live(const std::string& environment) {
  return deps_.reads.Read<std::vector<LiveAutomation>>([&](ReadView db) -> Result<std::vector<LiveAutomation>> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, environment));
    CL_ASSIGN_OR_RETURN(auto live, DeploymentStore::LiveIn(db, environment));
    std::vector<LiveAutomation> out;
    for (auto& d : live) {
      CL_ASSIGN_OR_RETURN(auto v, AutomationVersionStore::Find(db, d.version));
      out.push_back({std::move(d), v ? std::optional<int64_t>(v->seq) : std::nullopt});
    }
    return out;
  });
}

Result<std::vector<Deployment>> EnvironmentService::Deployments(const std::string& environment,
                                                                const std::string& automation) {
  return deps_.reads.Read<std::vector<Deployment>>([&](ReadView db) -> Result<std::vector<Deployment>> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, environment));
    return DeploymentStore::History(db, environment, automation, 500);
  });
}

Result<EnvironmentDiff> EnvironmentService::Diff(const std::string& from, const std::string& to) {
  return deps_.reads.Read<EnvironmentDiff>([&](ReadView db) -> Result<EnvironmentDiff> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, from));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, to));
    CL_ASSIGN_OR_RETURN(auto source, DeploymentStore::LiveIn(db, from));
    CL_ASSIGN_OR_RETURN(const ConfigNames target_names, NamesIn(db, to));
    CL_ASSIGN_OR_RETURN(const ConfigNames source_names, NamesIn(db, from));
    EnvironmentDiff out{from, to, {}, Missing(source_names.variables, target_names.variables),
                        Missing(source_names.secrets, target_names.secrets)};
    for (const auto& d : source) {
      CL_ASSIGN_OR_RETURN(auto target, DeploymentStore::LiveOne(db, to, d.automation));
      CL_ASSIGN_OR_RETURN(automation::Definition def, AutomationVersionStore::DefinitionOf(db, d.version));
      AutomationDifference item{d.automation, d.version, std::nullopt, "", Json::array(), {}, {}};
      if (target) item.to_version = target->version;
      if (target && target->version == d.version) {
        item.status = "same";
      } else {
        item.status = target ? "differs" : "new";
        Json before = Json::object();
        if (target) {
          CL_ASSIGN_OR_RETURN(automation::Definition old, AutomationVersionStore::DefinitionOf(db, target->version));
          before = old.document;
        }
        item.changes = automation::Diff(before, def.document);
      }
      item.missing_variables = Missing(def.variables, target_names.variables);
      item.missing_secrets = Missing(def.secrets, target_names.secrets);
      out.automations.push_back(std::move(item));
    }
    return out;
  });
}

}  // namespace cloister::promotion
