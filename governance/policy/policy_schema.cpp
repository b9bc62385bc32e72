#include "governance/policy/policy_schema.h"

namespace cloister::policy {
namespace {

// Migration 4: stored policy and binding documents, versioned per name.
constexpr char kPolicyDocuments[] = R"sql(CREATE TABLE policy_documents (
  kind TEXT NOT NULL CHECK (kind IN ('Policy', 'PolicyBinding')),
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  source TEXT,
  digest TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (kind, name, version)
) WITHOUT ROWID;
)sql";

}  // namespace

std::vector<MigrationPart> PolicyMigrationParts() {
  return {
      {4, "policy", kPolicyDocuments},
  };
}

}  // namespace cloister::policy
