// /v1/environments: the environments chosen at initialization, in promotion order.
#include "appliance/api/routes.h"
#include "governance/environments/environment_store.h"

namespace cloister {

void AddEnvironmentRoutes(Router& router, ApiContext& ctx) {
  router.Add({"GET", "/v1/environments", Access::kAuthenticated, false, [&ctx](HttpRequest&) -> Result<HttpResponse> {
                CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
                CL_ASSIGN_OR_RETURN(auto envs, session->store->reads().Read<std::vector<Environment>>(ListEnvironments));
                Json list = Json::array();
                for (const auto& e : envs) list.push_back({{"name", e.name}, {"position", e.position}});
                return HttpResponse::FromJson(200, {{"environments", list}});
              }});
}

}  // namespace cloister
