// Numbered, transactional, recorded schema migrations. Each migration runs in
// its own transaction together with the row that records it in
// schema_migrations (version, name, SHA-256 of its SQL, time), so a crash
// leaves it either wholly applied or not at all.
//
// A database that records a migration this binary does not know (a newer
// schema) or whose recorded checksum differs from the code's is refused: it
// was written by another build, and guessing would risk the data.
//
// The migrator knows no table of its own but schema_migrations: the
// appliance's migrations are assembled from every module's parts
// (schema_layout.h) and given to it.
#pragma once

#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/status.h"
#include "appliance/storage/connection.h"

namespace cloister {

struct Migration {
  int version;       // 1, 2, 3, ... without gaps
  std::string name;  // short snake_case description
  std::string sql;   // one or more statements
};

struct AppliedMigration {
  int version;
  std::string name;
};

// Applies every migration in `migrations` that `conn` has not recorded yet and
// returns those it applied. Must run before the writer thread takes `conn`.
Result<std::vector<AppliedMigration>> Migrate(Connection& conn, const std::vector<Migration>& migrations,
                                              const Clock& clock);

// The highest recorded version, 0 for a fresh database.
Result<int> SchemaVersion(Connection& conn);

}  // namespace cloister
