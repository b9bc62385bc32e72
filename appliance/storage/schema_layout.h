// The appliance schema's layout: which migrations exist, what each is
// called, and in which order the modules' parts of each are joined.
//
// Each module declares the SQL of its own tables beside its stores, as
// MigrationParts (audit/audit_schema.h, appliance/identity/identity_schema.h,
// ...). Storage includes no module above it, so it holds only this layout
// and the assembly; the server's wiring gathers every module's parts and
// assembles them into the list of Migrations that SealManager applies.
//
// A migration's SQL is a newline followed by its parts, joined in the
// layout's order, and its checksum (migrator.h) is the SHA-256 of that text.
// So a shipped migration keeps its checksum only if its parts and their
// order stay byte for byte what they were: never edit, move or reorder a
// shipped part, only append new versions.
#pragma once

#include <string>
#include <vector>

#include "appliance/core/status.h"
#include "appliance/storage/migrator.h"

namespace cloister {

// One module's slice of one migration.
struct MigrationPart {
  int version;         // the migration it belongs to
  std::string module;  // as the layout names it: "storage", "audit", "identity", ...
  std::string sql;     // whole statements, each ending with ";\n"
};

// One migration as the layout declares it.
struct MigrationLayout {
  int version;
  std::string name;  // short snake_case description, recorded with the migration
  // The modules whose parts make up the migration, in the order they are
  // joined. A module named twice contributes two parts, taken in the order
  // the module lists them.
  std::vector<std::string> modules;
};

// The appliance's migrations, versions 1..n in order. Append only.
const std::vector<MigrationLayout>& SchemaLayout();

// Joins `parts` into migrations as `layout` orders them. internal when the
// two disagree: a layout version out of sequence, a module the layout names
// that gave no part for that version, or a part the layout has no place for.
Result<std::vector<Migration>> AssembleMigrations(const std::vector<MigrationLayout>& layout,
                                                  const std::vector<MigrationPart>& parts);

}  // namespace cloister
