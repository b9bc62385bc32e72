// Every route the appliance serves. Each resource has its own Add*Routes in
// its handler file; BuildRouter puts them together.
#pragma once

#include "appliance/api/api_context.h"
#include "appliance/http/router.h"

namespace cloister {

void AddSysRoutes(Router& router, ApiContext& ctx);
void AddBackupRoutes(Router& router, ApiContext& ctx);
void AddEnvironmentRoutes(Router& router, ApiContext& ctx);
void AddMetricsRoutes(Router& router, ApiContext& ctx);
void AddAuditRoutes(Router& router, ApiContext& ctx);
void AddTokenRoutes(Router& router, ApiContext& ctx);
void AddAuthRoutes(Router& router, ApiContext& ctx);
void AddUserRoutes(Router& router, ApiContext& ctx);
void AddPolicyRoutes(Router& router, ApiContext& ctx);
void AddAutomationRoutes(Router& router, ApiContext& ctx);
void AddPromotionRoutes(Router& router, ApiContext& ctx);
void AddRunRoutes(Router& router, ApiContext& ctx);

Router BuildRouter(ApiContext& ctx);

// Declares every metric family the API, HTTP layer and writer record.
void DescribeApplianceMetrics(Metrics& metrics);

}  // namespace cloister
