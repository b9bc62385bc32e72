#include "appliance/api/api_context.h"

#include "appliance/identity/token_store.h"

namespace cloister {

bool ApplianceGate::Sealed() const { return ctx_.seal.store() == nullptr; }

Result<Principal> ApplianceGate::Authenticate(std::string_view bearer_token) {
  CL_ASSIGN_OR_RETURN(auto store, RequireStore(ctx_));
  return AuthenticateToken(store->reads(), bearer_token, ctx_.clock);
}

Result<std::shared_ptr<Store>> RequireStore(ApiContext& ctx) {
  std::shared_ptr<Store> store = ctx.seal.store();
  if (!store) return Status::Unavailable("the appliance is sealed; unseal it first").WithReason("sealed");
  return store;
}

Result<Json> JsonBody(const HttpRequest& request) {
  if (request.body.empty()) return Json::object();
  return ParseJsonObject(request.body);
}

}  // namespace cloister
