// The storage module's own table, `appliance` (the appliance's identity,
// appliance_info.h), as its part of the appliance's migrations
// (schema_layout.h). The migrator keeps its bookkeeping table,
// schema_migrations, itself (migrator.h).
//
// Shipped parts never change: each migration's checksum is computed over
// its parts joined in the layout's order, and a database recording another
// checksum is refused. A new table or change is a part for a new version,
// appended here and given its place in SchemaLayout().
#pragma once

#include <vector>

#include "appliance/storage/schema_layout.h"

namespace cloister {

// This module's parts (module "storage"), in version order; two parts
// of one version in the order the layout joins them.
std::vector<MigrationPart> StorageMigrationParts();

}  // namespace cloister
