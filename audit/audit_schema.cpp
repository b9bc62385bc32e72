#include "audit/audit_schema.h"

namespace cloister {
namespace {

// Migration 2: the ledger's events, its stored Merkle subtrees, its signed
// checkpoints, and the keys that sign it and key its HMACs.
constexpr char kLedger[] = R"sql(CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  data BLOB NOT NULL,
  chain_hash BLOB NOT NULL
);
CREATE TABLE audit_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE appliance_keys (
  name TEXT PRIMARY KEY,
  material BLOB NOT NULL,
  created_at TEXT NOT NULL
);
)sql";

}  // namespace

std::vector<MigrationPart> AuditMigrationParts() {
  return {
      {2, "audit", kLedger},
  };
}

}  // namespace cloister
