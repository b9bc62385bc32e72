// The appliance's schema. Append new migrations at the end; never edit or
// reorder a migration that has shipped (its checksum is recorded).
#include "appliance/storage/migrator.h"

namespace cloister {

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "appliance_environments_tokens", R"sql(
CREATE TABLE appliance (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  appliance_id TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by_version TEXT NOT NULL
);
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  environment TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT
);
)sql"},
      {2, "audit_ledger", R"sql(
CREATE TABLE audit_events (
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
)sql"},
  };
  return kMigrations;
}

}  // namespace cloister
