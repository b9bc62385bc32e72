// Parsed automation versions, by version id. Versions never change, so a
// definition read once (and checked against its id) stays valid; the cache
// keeps the runtime from parsing a version for every run and step.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "appliance/core/mutex.h"
#include "appliance/storage/rows.h"
#include "governance/automation/automation.h"

namespace cloister::runtime {

class DefinitionCache {
 public:
  // The definition of `version`, read through `db` on a miss (not_found, or
  // corruption when its stored bytes were altered: never cached).
  Result<std::shared_ptr<const automation::Definition>> Get(ReadView db, const std::string& version)
      CL_EXCLUDES(mu_);

 private:
  static constexpr size_t kMaxEntries = 256;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<const automation::Definition>> entries_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister::runtime
