// The environments module's tables (environments, environment_variables,
// environment_secrets and environment_settings) as its parts of the
// appliance's migrations (appliance/storage/schema_layout.h).
//
// Shipped parts never change: each migration's checksum is computed over
// its parts joined in the layout's order, and a database recording another
// checksum is refused. A new table or change is a part for a new version,
// appended here and given its place in SchemaLayout().
#pragma once

#include <vector>

#include "appliance/storage/schema_layout.h"

namespace cloister {

// This module's parts (module "environments"), in version order; two parts
// of one version in the order the layout joins them.
std::vector<MigrationPart> EnvironmentsMigrationParts();

}  // namespace cloister
