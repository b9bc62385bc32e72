#include "governance/policy/policy_store.h"

#include "appliance/core/encoding.h"

namespace cloister::policy {
namespace {

constexpr const char* kColumns = "kind, name, version, COALESCE(source, ''), digest, created_at, created_by";

StoredDocument Row(const Statement& s) {
  return {s.ColumnText(0), s.ColumnText(1), s.ColumnInt(2), s.ColumnText(3),
          s.ColumnText(4), s.ColumnText(5), s.ColumnText(6)};
}

Result<std::vector<StoredDocument>> Rows(Statement* stmt) {
  std::vector<StoredDocument> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, stmt->Step());
    if (!row) return out;
    out.push_back(Row(*stmt));
  }
}

}  // namespace

Result<int64_t> AddDocumentVersion(Transaction& tx, const std::string& kind, const std::string& name,
                                   const std::string& source, const std::string& actor, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * latest,
                      tx.Prepare("SELECT version, source IS NULL FROM policy_documents WHERE kind = ? AND name = ? "
                                 "ORDER BY version DESC LIMIT 1"));
  CL_ASSIGN_OR_RETURN(const bool exists, latest->Bind(1, kind).Bind(2, name).Step());
  const int64_t version = exists ? latest->ColumnInt(0) + 1 : 1;
  const bool live = exists && latest->ColumnInt(1) == 0;
  if (source.empty() && !live) return Status::NotFound("no " + kind + " named " + name);
  CL_ASSIGN_OR_RETURN(Statement * insert,
                      tx.Prepare("INSERT INTO policy_documents (kind, name, version, source, digest, created_at, "
                                 "created_by) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  insert->Bind(1, kind).Bind(2, name).Bind(3, version);
  if (source.empty()) {
    insert->BindNull(4);
  } else {
    insert->Bind(4, source);
  }
  CL_RETURN_IF_ERROR(insert->Bind(5, source.empty() ? std::string() : Sha256Hex(source))
                         .Bind(6, FormatTimestamp(clock.Now()))
                         .Bind(7, actor)
                         .Run());
  return version;
}

Result<std::vector<StoredDocument>> CurrentDocuments(Connection& conn) {
  CL_ASSIGN_OR_RETURN(Statement * stmt,
                      conn.Cached(std::string("SELECT ") + kColumns +
                                  " FROM policy_documents d WHERE version = (SELECT MAX(version) FROM "
                                  "policy_documents m WHERE m.kind = d.kind AND m.name = d.name) AND source IS NOT "
                                  "NULL ORDER BY kind, name"));
  return Rows(stmt);
}

Result<std::vector<StoredDocument>> DocumentVersions(Connection& conn, const std::string& kind,
                                                     const std::string& name) {
  CL_ASSIGN_OR_RETURN(Statement * stmt, conn.Cached(std::string("SELECT ") + kColumns +
                                                    " FROM policy_documents WHERE kind = ? AND name = ? ORDER BY "
                                                    "version"));
  stmt->Bind(1, kind).Bind(2, name);
  return Rows(stmt);
}

}  // namespace cloister::policy
