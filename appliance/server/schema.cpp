#include "appliance/server/schema.h"

#include "appliance/identity/identity_schema.h"
#include "appliance/runtime/runtime_schema.h"
#include "appliance/storage/storage_schema.h"
#include "audit/audit_schema.h"
#include "governance/automation/automation_schema.h"
#include "governance/environments/environments_schema.h"
#include "governance/policy/policy_schema.h"
#include "governance/promotion/promotion_schema.h"

namespace cloister {

std::vector<MigrationPart> ApplianceMigrationParts() {
  std::vector<MigrationPart> parts;
  for (auto module_parts :
       {StorageMigrationParts(), AuditMigrationParts(), IdentityMigrationParts(),
        EnvironmentsMigrationParts(), policy::PolicyMigrationParts(),
        automation::AutomationMigrationParts(), promotion::PromotionMigrationParts(),
        runtime::RuntimeMigrationParts()}) {
    for (MigrationPart& part : module_parts) parts.push_back(std::move(part));
  }
  return parts;
}

Result<std::vector<Migration>> ApplianceMigrations() {
  return AssembleMigrations(SchemaLayout(), ApplianceMigrationParts());
}

}  // namespace cloister
