#include "appliance/storage/migrator.h"

#include <cassert>
#include <map>

#include "appliance/core/encoding.h"
#include "appliance/storage/rows.h"

namespace cloister {
namespace {

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applied_at TEXT NOT NULL)";

struct Recorded {
  std::string name;
  std::string checksum;
};

Result<std::map<int, Recorded>> ReadRecorded(Connection& conn) {
  CL_RETURN_IF_ERROR(conn.Exec(kCreateTable));
  std::map<int, Recorded> out;
  CL_RETURN_IF_ERROR(ReadView(conn)
                         .Select("schema_migrations", "SELECT version, name, checksum FROM schema_migrations")
                         .ForEach([&](const Row& row) {
                           out[static_cast<int>(row.Int(0))] = {row.Text(1), row.Text(2)};
                           return true;
                         }));
  return out;
}

Status ApplyOne(Connection& conn, const Migration& m, const Clock& clock) {
  CL_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  Status st = conn.Exec(m.sql);
  if (st.ok()) {
    auto insert = conn.Prepare("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
    st = insert.ok() ? (*insert)->Bind(1, int64_t{m.version}).Bind(2, m.name).Bind(3, Sha256Hex(m.sql))
                           .Bind(4, FormatTimestamp(clock.Now())).Run()
                     : insert.status();
  }
  if (st.ok()) st = conn.Exec("COMMIT");
  if (!st.ok()) {
    conn.Exec("ROLLBACK");  // best effort: the error that matters is st
    return st.Annotate("migration " + std::to_string(m.version) + " (" + m.name + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<AppliedMigration>> Migrate(Connection& conn, const std::vector<Migration>& migrations,
                                              const Clock& clock) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    assert(migrations[i].version == static_cast<int>(i) + 1 && "migrations must be numbered 1..n");
  }
  CL_ASSIGN_OR_RETURN(auto recorded, ReadRecorded(conn));
  for (const auto& [version, rec] : recorded) {
    if (version < 1 || version > static_cast<int>(migrations.size())) {
      return Status::FailedPrecondition(
                 conn.path() + " has schema migration " + std::to_string(version) + " (" + rec.name +
                 "), newer than this cloisterd knows (" + std::to_string(migrations.size()) +
                 "); run the cloisterd that wrote it, or a later one")
          .WithReason("schema_too_new");
    }
    const Migration& m = migrations[static_cast<size_t>(version - 1)];
    if (rec.checksum != Sha256Hex(m.sql)) {
      return Status::Corruption(conn.path() + " recorded migration " + std::to_string(version) + " (" +
                                rec.name + ") with a different checksum than this cloisterd's");
    }
  }
  std::vector<AppliedMigration> applied;
  for (const Migration& m : migrations) {
    if (recorded.count(m.version)) continue;
    CL_RETURN_IF_ERROR(ApplyOne(conn, m, clock));
    applied.push_back({m.version, m.name});
  }
  return applied;
}

Result<int> SchemaVersion(Connection& conn) {
  CL_ASSIGN_OR_RETURN(auto recorded, ReadRecorded(conn));
  return recorded.empty() ? 0 : recorded.rbegin()->first;
}

}  // namespace cloister
