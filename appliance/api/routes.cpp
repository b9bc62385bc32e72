#include "appliance/api/routes.h"

#include <cassert>

#include "appliance/api/permissions.h"
#include "appliance/storage/group_commit_writer.h"

namespace cloister {

Router BuildRouter(ApiContext& ctx) {
  Router router;
  AddSysRoutes(router, ctx);
  AddBackupRoutes(router, ctx);
  AddEnvironmentRoutes(router, ctx);
  AddMetricsRoutes(router, ctx);
  AddAuditRoutes(router, ctx);
  AddTokenRoutes(router, ctx);
  AddAuthRoutes(router, ctx);
  AddUserRoutes(router, ctx);
  AddPolicyRoutes(router, ctx);
  AddAutomationRoutes(router, ctx);
  AddPromotionRoutes(router, ctx);
  AddRunRoutes(router, ctx);
  // A route the table misses is a programming error the tests catch.
  const Status st = ApplyPermissionTable(router);
  assert(st.ok() && "every route needs a permission table entry");
  (void)st;
  return router;
}

void DescribeApplianceMetrics(Metrics& metrics) {
  DescribeHttpMetrics(metrics);
  DescribeWriterMetrics(metrics);
  runtime::DescribeRuntimeMetrics(metrics);
  metrics.DescribeGauge("cloister_sealed",
                        "1 while the appliance is sealed (or not initialized), 0 when unsealed.");
  metrics.DescribeCounter(
      "cloister_auth_rate_limited_total",
      "Failed authentications refused with 429 because their address passed auth.failed_auth.");
  metrics.DescribeGauge("cloister_initialized", "1 once the appliance is initialized.");
  metrics.DescribeGauge("cloister_uptime_seconds", "Seconds since cloisterd started.");
  metrics.DescribeGauge(
      "cloister_audit_ledger_intact",
      "0 when the audit ledger failed verification (writes are refused), 1 otherwise.");
}

}  // namespace cloister
