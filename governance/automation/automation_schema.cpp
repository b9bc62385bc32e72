#include "governance/automation/automation_schema.h"

namespace cloister::automation {
namespace {

// Migration 5, first: the immutable versions of automations.
constexpr char kAutomationVersions[] = R"sql(CREATE TABLE automation_versions (
  id TEXT PRIMARY KEY,
  automation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  canonical TEXT NOT NULL,
  source TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (automation, seq)
);
)sql";

}  // namespace

std::vector<MigrationPart> AutomationMigrationParts() {
  return {
      {5, "automation", kAutomationVersions},
  };
}

}  // namespace cloister::automation
