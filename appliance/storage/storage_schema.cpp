#include "appliance/storage/storage_schema.h"

namespace cloister {
namespace {

// Migration 1: the one row naming the appliance.
constexpr char kApplianceTable[] = R"sql(CREATE TABLE appliance (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  appliance_id TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by_version TEXT NOT NULL
);
)sql";

}  // namespace

std::vector<MigrationPart> StorageMigrationParts() {
  return {
      {1, "storage", kApplianceTable},
  };
}

}  // namespace cloister
