// The runtime's tables (runs and run_steps) as its parts of the appliance's
// migrations (appliance/storage/schema_layout.h). Shipped parts never
// change; a change is a part for a new version.
#pragma once

#include <vector>

#include "appliance/storage/schema_layout.h"

namespace cloister::runtime {

// This module's parts (module "runtime"), in version order.
std::vector<MigrationPart> RuntimeMigrationParts();

}  // namespace cloister::runtime
