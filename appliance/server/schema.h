// The appliance's schema: every module's migration parts, joined in the
// order of storage's layout (appliance/storage/schema_layout.h). This is the
// one place that sees every module's tables, so it lives with the wiring;
// cloisterd gives the result to SealManager through StorageOptions.
#pragma once

#include <vector>

#include "appliance/core/status.h"
#include "appliance/storage/migrator.h"
#include "appliance/storage/schema_layout.h"

namespace cloister {

// Every module's parts, module by module.
std::vector<MigrationPart> ApplianceMigrationParts();

// The appliance's migrations, versions 1..n. internal when a module's parts
// and the layout disagree (a program error, which the schema's tests catch).
Result<std::vector<Migration>> ApplianceMigrations();

}  // namespace cloister
