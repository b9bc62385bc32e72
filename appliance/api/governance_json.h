// The JSON the API answers with for automations, environments' live views,
// pipelines and promotions (docs/api.md). The governance services return
// typed results; this file alone shapes them. People are stored by user id
// and shown by name: "<field>" holds the current name and "<field>_id" the
// id, resolved through `names`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "governance/promotion/automation_service.h"
#include "governance/promotion/environment_service.h"
#include "governance/promotion/pipeline_service.h"
#include "governance/promotion/promotion_service.h"

namespace cloister::api_json {

using NameOf = std::function<std::string(const std::string& id)>;

Json SavedAutomationJson(const promotion::SavedAutomation& saved);
Json AutomationListJson(const std::vector<promotion::AutomationListing>& items);
Json AutomationViewJson(const promotion::AutomationView& view, const NameOf& names);
Json VersionDiffJson(const promotion::VersionDiff& diff);

Json DeploymentJson(const promotion::Deployment& d, const NameOf& names);
Json LiveJson(const std::string& environment, const std::vector<promotion::LiveAutomation>& live, const NameOf& names);
Json DeploymentsJson(const std::string& environment, const std::vector<promotion::Deployment>& deployments,
                     const NameOf& names);
Json EnvironmentDiffJson(const promotion::EnvironmentDiff& diff);

Json PutPipelineJson(const promotion::PutPipelineResult& put);
Json PipelineListJson(const std::vector<promotion::Pipeline>& pipelines);
Json PipelineDocumentJson(const promotion::PipelineDocument& doc);
Json PipelineVersionsJson(const std::string& name, const std::vector<promotion::StoredPipeline>& versions,
                          const NameOf& names);

Json PromotionPageJson(const promotion::PromotionPage& page, const NameOf& names);
Json PromotionListJson(const std::vector<promotion::PromotionRecord>& promotions, const NameOf& names);

}  // namespace cloister::api_json
