// GET /metrics: Prometheus text exposition of the appliance's metrics.
#include "appliance/api/routes.h"

namespace cloister {

void AddMetricsRoutes(Router& router, ApiContext& ctx) {
  router.Add({"GET", "/metrics", Access::kAuthenticated, false, [&ctx](HttpRequest&) -> Result<HttpResponse> {
                const SealStatus s = ctx.appliance.seal_status();
                const auto session = ctx.appliance.session();
                ctx.metrics.Set("cloister_audit_ledger_intact",
                                session && session->audit->ledger().compromised() ? 0 : 1);
                ctx.metrics.Set("cloister_sealed", s.sealed ? 1 : 0);
                ctx.metrics.Set("cloister_initialized", s.initialized ? 1 : 0);
                ctx.metrics.Set("cloister_uptime_seconds",
                                std::chrono::duration<double>(ctx.clock.Monotonic() - ctx.info.started).count());
                return HttpResponse::FromText(200, ctx.metrics.Render(), "text/plain; version=0.0.4; charset=utf-8");
              }});
}

}  // namespace cloister
