#include "governance/automation/automation_version_store.h"

namespace cloister::automation {
namespace {

constexpr const char* kColumns = "id, automation, canonical, source, author, created_at, seq";

StoredVersion Decode(const Row& row) {
  return {row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5), row.Int(6)};
}

}  // namespace

Result<std::optional<StoredVersion>> AutomationVersionStore::Find(ReadView db, const std::string& id) {
  return db.Select("automation_versions", std::string("SELECT ") + kColumns + " FROM automation_versions WHERE id = ?")
      .Bind(1, id)
      .ReadOne(Decode);
}

Result<std::vector<StoredVersion>> AutomationVersionStore::VersionsOf(ReadView db, const std::string& automation) {
  return db
      .Select("automation_versions",
              std::string("SELECT ") + kColumns + " FROM automation_versions WHERE automation = ? ORDER BY seq")
      .Bind(1, automation)
      .ReadAll(Decode);
}

Result<std::vector<AutomationSummary>> AutomationVersionStore::Summaries(ReadView db) {
  return db
      .Select("automation_versions",
              "SELECT automation, COUNT(*), MAX(created_at) FROM automation_versions GROUP BY automation "
              "ORDER BY automation")
      .ReadAll([](const Row& row) { return AutomationSummary{row.Text(0), row.Int(1), row.Text(2)}; });
}

Result<Definition> AutomationVersionStore::DefinitionOf(ReadView db, const std::string& id) {
  CL_ASSIGN_OR_RETURN(auto v, Find(db, id));
  if (!v) return Status::NotFound("no version " + id);
  return FromCanonical(v->canonical, v->id);
}

Status AutomationVersionStore::Insert(Transaction& tx, const StoredVersion& v) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT INTO automation_versions (id, automation, seq, canonical, "
                                                "source, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  return s->Bind(1, v.id).Bind(2, v.automation).Bind(3, v.seq).Bind(4, v.canonical).Bind(5, v.source)
      .Bind(6, v.author).Bind(7, v.created_at).Run();
}

}  // namespace cloister::automation
