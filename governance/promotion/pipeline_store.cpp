#include "governance/promotion/pipeline_store.h"

namespace cloister::promotion {
namespace {

StoredPipeline Decode(const Row& row) {
  return {row.Text(0), row.Text(2), row.Text(3), row.Text(4), row.Text(5), row.Int(1)};
}

Result<std::vector<StoredPipeline>> Select(ReadView db, const std::string& name) {
  return db
      .Select("pipeline_documents",
              "SELECT name, version, source, digest, created_at, created_by FROM pipeline_documents p WHERE (?1 = '' "
              "AND version = (SELECT MAX(version) FROM pipeline_documents m WHERE m.name = p.name)) OR name = ?1 "
              "ORDER BY name, version")
      .Bind(1, name)
      .ReadAll(Decode);
}

}  // namespace

Result<std::vector<StoredPipeline>> PipelineStore::Versions(ReadView db, const std::string& name) {
  if (name.empty()) return std::vector<StoredPipeline>{};
  return Select(db, name);
}

Result<std::vector<StoredPipeline>> PipelineStore::Latest(ReadView db) { return Select(db, ""); }

Result<std::vector<Pipeline>> PipelineStore::InForce(ReadView db, const std::vector<std::string>& envs) {
  CL_ASSIGN_OR_RETURN(auto stored, Latest(db));
  std::vector<Pipeline> out;
  bool has_default = false;
  for (const auto& row : stored) {
    auto p = ParsePipeline(row.source, envs);
    if (!p.ok()) {
      return Status::FailedPrecondition("stored pipeline " + row.name + " v" + std::to_string(row.version) +
                                        " no longer loads: " + p.status().message());
    }
    p->version = row.version;
    has_default = has_default || p->name == "default";
    out.push_back(std::move(*p));
  }
  if (!has_default) {
    CL_ASSIGN_OR_RETURN(Pipeline d, ParsePipeline(DefaultPipelineSource(envs), envs));
    out.push_back(std::move(d));
  }
  return out;
}

Status PipelineStore::Insert(Transaction& tx, const StoredPipeline& p) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT INTO pipeline_documents (name, version, source, digest, "
                                                "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)"));
  return s->Bind(1, p.name).Bind(2, p.version).Bind(3, p.source).Bind(4, p.digest).Bind(5, p.created_at)
      .Bind(6, p.created_by).Run();
}

Result<Pipeline> PipelineFor(const std::vector<Pipeline>& pipelines, const std::string& automation) {
  const Pipeline* chosen = nullptr;
  const Pipeline* fallback = nullptr;
  for (const auto& p : pipelines) {
    if (p.name == "default") {
      fallback = &p;
    } else if (p.Matches(automation)) {
      if (chosen != nullptr) {
        return Status::FailedPrecondition("automation " + automation + " matches pipelines " + chosen->name + " and " +
                                          p.name + "; narrow their \"automations\" so one applies");
      }
      chosen = &p;
    }
  }
  if (chosen == nullptr) chosen = fallback;
  if (chosen == nullptr) return Status::Internal("no default pipeline");
  return *chosen;
}

}  // namespace cloister::promotion
