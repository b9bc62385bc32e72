#include "governance/policy/policy_store.h"

#include "appliance/core/encoding.h"

namespace cloister::policy {
namespace {

constexpr const char* kColumns = "kind, name, version, COALESCE(source, ''), digest, created_at, created_by";

StoredDocument DecodeDocument(const Row& row) {
  return {row.Text(0), row.Text(1), row.Int(2), row.Text(3), row.Text(4), row.Text(5), row.Text(6)};
}

}  // namespace

Result<int64_t> AddDocumentVersion(Transaction& tx, const std::string& kind, const std::string& name,
                                   const std::string& source, const std::string& actor, const Clock& clock) {
  struct Latest {
    int64_t version;
    bool live;
  };
  CL_ASSIGN_OR_RETURN(const std::optional<Latest> latest,
                      tx.view()
                          .Select("policy_documents", "SELECT version, source IS NULL FROM policy_documents "
                                                      "WHERE kind = ? AND name = ? ORDER BY version DESC LIMIT 1")
                          .Bind(1, kind)
                          .Bind(2, name)
                          .ReadOne([](const Row& row) { return Latest{row.Int(0), row.Int(1) == 0}; }));
  const int64_t version = latest ? latest->version + 1 : 1;
  const bool live = latest && latest->live;
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

Result<std::vector<StoredDocument>> CurrentDocuments(ReadView db) {
  return db.Select("policy_documents", std::string("SELECT ") + kColumns +
                                           " FROM policy_documents d WHERE version = (SELECT MAX(version) FROM "
                                           "policy_documents m WHERE m.kind = d.kind AND m.name = d.name) AND "
                                           "source IS NOT NULL ORDER BY kind, name")
      .ReadAll(DecodeDocument);
}

Result<std::vector<StoredDocument>> DocumentVersions(ReadView db, const std::string& kind,
                                                     const std::string& name) {
  return db.Select("policy_documents", std::string("SELECT ") + kColumns +
                                           " FROM policy_documents WHERE kind = ? AND name = ? ORDER BY version")
      .Bind(1, kind)
      .Bind(2, name)
      .ReadAll(DecodeDocument);
}

}  // namespace cloister::policy
