// What the API handlers share: the seal manager (and through it the store),
// the injected clock, randomness, metrics and logger, and facts about this
// server. Built by appliance/server; handlers hold it by reference.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/metrics.h"
#include "appliance/core/random.h"
#include "appliance/http/dispatcher.h"
#include "appliance/storage/seal_manager.h"

namespace cloister {

struct ServerInfo {
  std::string version = CLOISTER_VERSION;
  std::chrono::steady_clock::time_point started;
  std::string tls_fingerprint;                  // SHA-256 of the serving certificate
  std::string default_appliance_name;           // used by init when none is given
  std::vector<std::string> default_environments = {"dev", "test", "prod"};
};

struct ApiContext {
  SealManager& seal;
  const Clock& clock;
  Random& random;
  Metrics& metrics;
  const Logger& logger;
  ServerInfo info;
};

// The RequestGate of the running appliance: sealed unless a store is open;
// tokens checked against the database.
class ApplianceGate final : public RequestGate {
 public:
  explicit ApplianceGate(ApiContext& ctx) : ctx_(ctx) {}
  bool Sealed() const override;
  Result<Principal> Authenticate(std::string_view bearer_token) override;

 private:
  ApiContext& ctx_;
};

// The open store, or unavailable "sealed" (the appliance sealed mid-request).
Result<std::shared_ptr<Store>> RequireStore(ApiContext& ctx);

// A handler's JSON request body: {} when empty, an object otherwise.
Result<Json> JsonBody(const HttpRequest& request);

}  // namespace cloister
