// Stored pipeline documents (table pipeline_documents), versioned per name
// like policy documents. Reads take a ReadView; writes a Transaction.
#pragma once

#include <string>
#include <vector>

#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"
#include "governance/promotion/pipeline.h"

namespace cloister::promotion {

struct StoredPipeline {
  std::string name, source, digest, created_at;
  std::string created_by;  // user id
  int64_t version = 0;
};

class PipelineStore {
 public:
  // Every version of `name`, oldest first.
  static Result<std::vector<StoredPipeline>> Versions(ReadView db, const std::string& name);
  // The latest version of every stored pipeline, by name.
  static Result<std::vector<StoredPipeline>> Latest(ReadView db);
  // Every pipeline in force: the latest stored ones, and the built-in
  // default unless one named "default" is stored. failed_precondition when
  // a stored pipeline no longer loads against `environments`.
  static Result<std::vector<Pipeline>> InForce(ReadView db, const std::vector<std::string>& environments);

  static Status Insert(Transaction& tx, const StoredPipeline& pipeline);
};

// The pipeline that governs `automation`: the one whose globs match it, or
// "default". failed_precondition when two non-default pipelines match.
Result<Pipeline> PipelineFor(const std::vector<Pipeline>& pipelines, const std::string& automation);

}  // namespace cloister::promotion
