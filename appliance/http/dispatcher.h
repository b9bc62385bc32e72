// The request pipeline, in order: request id -> body limit -> route (404,
// 405) -> seal gate (503 "sealed") -> authentication (401) -> authorization
// (403 "forbidden") -> content type (415) -> handler -> error envelope -> security headers -> metrics and one
// access-log line. Independent of POCO so it can be tested with plain values.
//
// The pipeline's own refusals (404, 405, 413, 415, 401 without credentials,
// 503 "sealed", 500 for a handler that throws) have fixed codes; a failed
// Status from the gate or a handler is rendered by
// DispatcherOptions::error_response, which the server sets to the API's
// table of client error codes.
//
// Thread-safe: Handle may run on many server threads at once.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/metrics.h"
#include "appliance/core/random.h"
#include "appliance/http/router.h"

namespace cloister {

// What a request presented to prove who sent it.
struct Credentials {
  std::string bearer;          // Authorization: Bearer <...> (an API token or a session secret)
  std::string session_cookie;  // the session cookie, when no bearer was sent
};

// What the pipeline asks of the rest of the appliance.
class RequestGate {
 public:
  virtual ~RequestGate() = default;
  // True while the appliance cannot serve data (sealed or not initialized).
  virtual bool Sealed() const = 0;
  // The principal `credentials` stand for, or unauthenticated (401); or
  // permission_denied (403) for a cookie-authenticated unsafe request
  // without the session's CSRF token.
  virtual Result<Principal> Authenticate(const HttpRequest& request, const Credentials& credentials) = 0;
  // OK when request.principal may call `route`; otherwise permission_denied
  // with reason "forbidden" naming the roles it lacks.
  virtual Status Authorize(HttpRequest& request, const Route& route) = 0;
};

// Renders a failed Status as the client's answer. Called on server threads
// at once, so it must be thread-safe.
using ErrorRenderer = std::function<HttpResponse(const Status&)>;

struct DispatcherOptions {
  size_t max_body_bytes = 1 << 20;
  std::string session_cookie = "cloister_session";  // the cookie that carries a session
  // Renders the gate's and the handlers' failed Statuses. The default (also
  // used when it is empty) is ErrorResponse of http_types: the Status's
  // reason as the code, so the HTTP layer works on its own.
  ErrorRenderer error_response = [](const Status& status) { return ErrorResponse(status); };
};

class Dispatcher {
 public:
  // Everything passed by reference must outlive the dispatcher.
  Dispatcher(const Router& router, RequestGate& gate, Metrics& metrics, Random& random, const Clock& clock,
             const Logger& logger, DispatcherOptions options);

  HttpResponse Handle(HttpRequest& request);

  const DispatcherOptions& options() const { return options_; }
  // The registry requests are counted in; the server counts refused connections there too.
  Metrics& metrics() { return metrics_; }

 private:
  HttpResponse Process(HttpRequest& request, std::string& route_label);
  void Finish(const HttpRequest& request, HttpResponse& response);

  const Router& router_;
  RequestGate& gate_;
  Metrics& metrics_;
  Random& random_;
  const Clock& clock_;
  Logger logger_;
  const DispatcherOptions options_;
};

// Declares the HTTP metric families on `metrics`.
void DescribeHttpMetrics(Metrics& metrics);
// The method as a metric label: the standard methods by name, anything else
// "other", so clients cannot create unbounded series.
std::string MethodLabel(const std::string& method);

}  // namespace cloister
