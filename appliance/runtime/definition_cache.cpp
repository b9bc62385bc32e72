#include "appliance/runtime/definition_cache.h"

#include "governance/automation/automation_version_store.h"

namespace cloister::runtime {

Result<std::shared_ptr<const automation::Definition>> DefinitionCache::Get(
    ReadView db, const std::string& version) {
  {
    MutexLock lock(mu_);
    if (auto it = entries_.find(version); it != entries_.end()) return it->second;
  }
  CL_ASSIGN_OR_RETURN(automation::Definition def,
                      automation::AutomationVersionStore::DefinitionOf(db, version));
  auto shared = std::make_shared<const automation::Definition>(std::move(def));
  MutexLock lock(mu_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_[version] = shared;
  return shared;
}

}  // namespace cloister::runtime
