// Runs one attempt of one step (docs/runtime.md, "Steps"): http calls through
// the egress-checked caller, transform and condition through the policy
// language, and a clear step_type_unavailable for the step types this
// appliance cannot run yet (llm, approval, notify). Keeps one HTTP caller
// (and its TLS contexts) per egress allow-list; thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/mutex.h"
#include "appliance/runtime/egress.h"
#include "appliance/runtime/http_caller.h"
#include "appliance/runtime/templating.h"
#include "governance/environments/environment_config.h"
#include "governance/policy/program.h"

namespace cloister::runtime {

struct StepInput {
  std::string run_id;
  const Json& step;       // the step as defined
  const Json& all_steps;  // every step of the version (condition targets)
  const RunScope& scope;  // inputs, vars, secrets this step references, earlier outputs
  const EnvironmentSettings& settings;
};

struct StepResult {
  bool ok = false;
  Json output;             // on success
  int status = 0;          // HTTP status, 0 for none
  std::string error_code;  // e.g. egress_denied, timeout, unexpected_status, template_error
  std::string error_message;
  bool retryable = false;                    // a connection error, 429 or 5xx
  std::chrono::milliseconds retry_after{0};  // from a Retry-After header
  std::string request_sha256, response_sha256;
  std::optional<int> next_step;  // condition steps: where the run goes on
  Json event_details;            // extra audit details (the egress rule and host)
};

// Step-level defaults.
inline constexpr int kDefaultStepTimeoutSeconds = 30;
inline constexpr int kDefaultHttpRetries = 2;

class StepRunner {
 public:
  // `resolver` must outlive this.
  // `own_addresses`: this machine's addresses (LocalInterfaceAddresses),
  // which with `own_port` are the appliance's own listener.
  StepRunner(Resolver& resolver, uint16_t own_port, std::vector<std::string> own_addresses,
             policy::EvalLimits limits)
      : resolver_(resolver),
        own_port_(own_port),
        own_addresses_(std::move(own_addresses)),
        limits_(limits) {}

  StepResult Run(const StepInput& in) const;

  // The attempts a step gets: 1 + its "retries" (http defaults to kDefaultHttpRetries).
  static int MaxAttempts(const Json& step);
  static std::chrono::seconds Timeout(const Json& step);

 private:
  StepResult Http(const StepInput& in) const;
  StepResult Transform(const StepInput& in) const;
  StepResult Condition(const StepInput& in) const;
  std::shared_ptr<HttpCaller> CallerFor(const std::vector<std::string>& allow) const
      CL_EXCLUDES(mu_);

  Resolver& resolver_;
  const uint16_t own_port_;
  const std::vector<std::string> own_addresses_;
  const policy::EvalLimits limits_;
  mutable Mutex mu_;
  mutable std::map<std::vector<std::string>, std::shared_ptr<HttpCaller>> callers_
      CL_GUARDED_BY(mu_);
};

}  // namespace cloister::runtime
