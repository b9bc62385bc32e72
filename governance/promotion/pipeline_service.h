// Pipelines (docs/promotion-guide.md): storing versions of them and reading
// the ones in force. Behind /v1/pipelines.
//
// Thread-safe: the service holds only references to thread-safe collaborators.
#pragma once

#include <string>
#include <vector>

#include "governance/promotion/gate.h"
#include "governance/promotion/pipeline_store.h"
#include "governance/promotion/service_support.h"

namespace cloister::promotion {

struct PutPipelineResult {
  std::string name;
  int64_t version = 0;
  std::string digest;
  bool created = false;  // false: the latest version has this content already
};

struct PipelineDocument {
  Pipeline pipeline;  // version 0: the built-in default
  std::string source;
};

class PipelineService {
 public:
  explicit PipelineService(const ServiceDeps& deps) : deps_(deps) {}

  // Parses and stores a new version (unless the latest has the same
  // content), recording "pipeline.put". invalid_argument when it does not
  // parse, names another pipeline, or requires a promotion policy that is
  // not loaded.
  Result<PutPipelineResult> Put(const Caller& caller, const std::string& name, const std::string& source);
  // Every pipeline in force.
  Result<std::vector<Pipeline>> List();
  // Version `version` (0: the latest) of `name`; the built-in default for
  // "default" when none is stored. not_found otherwise.
  Result<PipelineDocument> Get(const std::string& name, int64_t version);
  Result<std::vector<StoredPipeline>> Versions(const std::string& name);
  // The pipeline-bound policies that gate promotions of `automation` into
  // `environment`, as the gate binds them (for what-if evaluation).
  Result<PipelinePolicies> PoliciesFor(const std::string& automation, const std::string& environment);

 private:
  ServiceDeps deps_;
};

}  // namespace cloister::promotion
