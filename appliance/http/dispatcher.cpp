#include "appliance/http/dispatcher.h"

#include <chrono>
#include <cstdio>

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

bool ValidClientRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsJsonContentType(const std::string& value) {
  // "application/json" optionally followed by parameters ("; charset=utf-8").
  const std::string media = value.substr(0, value.find(';'));
  std::string trimmed;
  for (char c : media) {
    if (c != ' ' && c != '\t') trimmed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return trimmed == "application/json";
}

std::string BearerToken(const std::string& authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return "";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return "";
    }
  }
  return authorization.substr(kScheme.size());
}

// The decoded path as it may appear in a log line: control characters (an
// encoded newline could forge a line) become \xNN.
std::string LoggablePath(const std::string& path) {
  std::string out;
  for (unsigned char c : path.substr(0, 512)) {
    if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

DispatcherOptions WithDefaultRenderer(DispatcherOptions options) {
  if (!options.error_response) options.error_response = DispatcherOptions().error_response;
  return options;
}

}  // namespace

std::string MethodLabel(const std::string& method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return method;
  }
  return "other";
}

void DescribeHttpMetrics(Metrics& metrics) {
  metrics.DescribeCounter("cloister_http_requests_total", "HTTP requests by route pattern, method and status.");
  metrics.DescribeHistogram("cloister_http_request_duration_seconds", "HTTP request latency by route pattern.",
                            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  metrics.DescribeCounter("cloister_http_connections_closed_total",
                          "Connections the server closed before serving them, by reason (head_timeout, "
                          "body_timeout, header_too_large, body_too_large, per_address_limit, "
                          "queue_full, fd_limit).");
}

Dispatcher::Dispatcher(const Router& router, RequestGate& gate, Metrics& metrics, Random& random,
                       const Clock& clock, const Logger& logger, DispatcherOptions options)
    : router_(router), gate_(gate), metrics_(metrics), random_(random), clock_(clock), logger_(logger),
      options_(WithDefaultRenderer(std::move(options))) {}

HttpResponse Dispatcher::Handle(HttpRequest& request) {
  const auto started = clock_.Monotonic();
  const std::string client_id = request.Header("x-request-id");
  if (ValidClientRequestId(client_id)) {
    request.request_id = client_id;
  } else {
    uint8_t raw[16];
    request.request_id = random_.Fill(raw, sizeof raw).ok() ? HexEncode(raw, sizeof raw) : "unavailable";
  }

  std::string route_label = "unmatched";
  HttpResponse response = Process(request, route_label);
  Finish(request, response);

  const double seconds = std::chrono::duration<double>(clock_.Monotonic() - started).count();
  metrics_.Increment("cloister_http_requests_total", {{"route", route_label},
                                                     {"method", MethodLabel(request.method)},
                                                     {"status", std::to_string(response.status)}});
  metrics_.Observe("cloister_http_request_duration_seconds", seconds, {{"route", route_label}});
  char line[128];
  std::snprintf(line, sizeof line, " %d %zuB %.3fms", response.status, response.body.size(), seconds * 1000);
  logger_.Info("rid=" + request.request_id + " " + request.remote_ip + " " + request.method + " " + LoggablePath(request.path) +
               line + (request.principal ? " by=" + request.principal->id : ""));
  return response;
}

HttpResponse Dispatcher::Process(HttpRequest& request, std::string& route_label) {
  if (request.body_too_large) {
    return ErrorResponse(413, "payload_too_large",
                         "request body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes",
                         {{"limit_bytes", options_.max_body_bytes}});
  }
  Router::Match match = router_.Find(request.method, request.path);
  if (!match.route) {
    if (match.allowed_methods.empty()) {
      return ErrorResponse(404, "not_found", "no route for " + request.path);
    }
    std::string allow;
    for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse r = ErrorResponse(405, "method_not_allowed",
                                   request.method + " is not allowed on " + request.path + "; allowed: " + allow,
                                   {{"allowed", match.allowed_methods}});
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  const Route& route = *match.route;
  route_label = route.pattern;
  request.path_params = std::move(match.params);
  request.route_pattern = route.pattern;

  if (!route.while_sealed && gate_.Sealed()) {
    return ErrorResponse(503, "sealed", "the appliance is sealed; unseal it first (POST /v1/sys/unseal)");
  }
  if (route.access == Access::kAuthenticated) {
    Credentials credentials;
    credentials.bearer = BearerToken(request.Header("authorization"));
    if (credentials.bearer.empty()) credentials.session_cookie = request.Cookie(options_.session_cookie);
    if (credentials.bearer.empty() && credentials.session_cookie.empty()) {
      HttpResponse r = ErrorResponse(401, "unauthenticated",
                                     "this endpoint needs credentials: log in (POST /v1/auth/login) or send "
                                     "Authorization: Bearer <token>");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    auto principal = gate_.Authenticate(request, credentials);
    if (!principal.ok()) {
      HttpResponse r = options_.error_response(principal.status());
      if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      const Json& details = principal.status().details();
      if (r.status == 429 && details.is_object() && details.contains("retry_after_seconds")) {
        r.headers.emplace_back("Retry-After", details["retry_after_seconds"].dump());
      }
      return r;
    }
    request.principal = std::move(principal).value();
    if (Status allowed = gate_.Authorize(request, route); !allowed.ok()) return options_.error_response(allowed);
  }
  if (!request.body.empty() && !IsJsonContentType(request.Header("content-type"))) {
    return ErrorResponse(415, "unsupported_media_type",
                         "request body must be application/json, got \"" + request.Header("content-type") + "\"");
  }
  try {
    Result<HttpResponse> result = route.handler(request);
    if (!result.ok()) return options_.error_response(result.status());
    return std::move(result).value();
  } catch (const std::exception& e) {
    logger_.Error("rid=" + request.request_id + " handler threw: " + e.what());
    return ErrorResponse(500, "internal", "internal error; see the server log for request " + request.request_id);
  }
}

void Dispatcher::Finish(const HttpRequest& request, HttpResponse& response) {
  auto& h = response.headers;
  h.emplace_back("X-Request-Id", request.request_id);
  h.emplace_back("Cache-Control", "no-store");
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  h.emplace_back("Referrer-Policy", "no-referrer");
  h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  h.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  if (request.secure) h.emplace_back("Strict-Transport-Security", "max-age=63072000");
  for (const std::string& w : request.warnings) {
    std::string value = w.substr(0, 500);
    for (char& c : value) {
      if (c == '\r' || c == '\n' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    h.emplace_back("Cloister-Policy-Warning", value);
  }
}

}  // namespace cloister
