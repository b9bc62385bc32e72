#include "governance/promotion/pipeline_service.h"

#include "governance/promotion/promotion_events.h"

namespace cloister::promotion {

Result<PutPipelineResult> PipelineService::Put(const Caller& caller, const std::string& name,
                                               const std::string& source) {
  return deps_.writer.Write<PutPipelineResult>([&](Transaction& tx) -> Result<PutPipelineResult> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(tx.view()));
    CL_ASSIGN_OR_RETURN(Pipeline p, ParsePipeline(source, envs));
    if (p.name != name) {
      return Status::InvalidArgument("metadata.name is \"" + p.name + "\" but the path names \"" + name + "\"");
    }
    const auto set = deps_.policies();
    for (const auto& [env, stage] : p.stages) {
      for (const auto& policy : stage.policies) {
        if (!set->policies().count(policy) || set->policies().at(policy).hook != "promotion") {
          return Status::InvalidArgument("stages." + env + ".policies: no promotion policy named \"" + policy +
                                         "\" is loaded");
        }
      }
    }
    CL_ASSIGN_OR_RETURN(auto versions, PipelineStore::Versions(tx.view(), name));
    if (!versions.empty() && versions.back().digest == p.digest) {
      return PutPipelineResult{name, versions.back().version, p.digest, false};
    }
    const int64_t version = static_cast<int64_t>(versions.size()) + 1;
    CL_RETURN_IF_ERROR(PipelineStore::Insert(
        tx, {name, source, p.digest, FormatTimestamp(deps_.clock.Now()), caller.user(), version}));
    CL_RETURN_IF_ERROR(
        deps_.ledger.Append(tx, PipelinePutEvent(caller.audit, name, version, p.digest, p.ToJson())).status());
    return PutPipelineResult{name, version, p.digest, true};
  });
}

Result<std::vector<Pipeline>> PipelineService::List() {
  return deps_.reads.Read<std::vector<Pipeline>>([&](ReadView db) -> Result<std::vector<Pipeline>> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    return PipelineStore::InForce(db, envs);
  });
}

Result<PipelineDocument> PipelineService::Get(const std::string& name, int64_t version) {
  return deps_.reads.Read<PipelineDocument>([&](ReadView db) -> Result<PipelineDocument> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    CL_ASSIGN_OR_RETURN(auto versions, PipelineStore::Versions(db, name));
    std::string source;
    int64_t found = 0;
    for (const auto& v : versions) {
      if (version == 0 || v.version == version) {
        source = v.source;
        found = v.version;
      }
    }
    if (found == 0 && (version != 0 || name != "default")) {
      return Status::NotFound(version ? "pipeline " + name + " has no version " + std::to_string(version)
                                      : "no pipeline named " + name);
    }
    if (found == 0) source = DefaultPipelineSource(envs);
    CL_ASSIGN_OR_RETURN(Pipeline p, ParsePipeline(source, envs));
    p.version = found;
    return PipelineDocument{std::move(p), std::move(source)};
  });
}

Result<std::vector<StoredPipeline>> PipelineService::Versions(const std::string& name) {
  return deps_.reads.Read<std::vector<StoredPipeline>>(
      [&](ReadView db) -> Result<std::vector<StoredPipeline>> { return PipelineStore::Versions(db, name); });
}

Result<PipelinePolicies> PipelineService::PoliciesFor(const std::string& automation, const std::string& environment) {
  return deps_.reads.Read<PipelinePolicies>([&](ReadView db) -> Result<PipelinePolicies> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(db));
    CL_ASSIGN_OR_RETURN(auto pipelines, PipelineStore::InForce(db, envs));
    CL_ASSIGN_OR_RETURN(Pipeline pipeline, PipelineFor(pipelines, automation));
    return BindPipelinePolicies(pipeline, environment, *deps_.policies());
  });
}

}  // namespace cloister::promotion
