#include "appliance/http/http_types.h"

namespace cloister {

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Cookie(std::string_view name) const {
  const std::string header = Header("cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + pos, end - pos);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    pos = end + 1;
  }
  return "";
}

HttpResponse HttpResponse::FromJson(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  // Replace rather than throw on invalid UTF-8 (e.g. echoed from a bad request).
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  return r;
}

HttpResponse HttpResponse::FromText(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict: return 409;
    case StatusCode::kFailedPrecondition: return 412;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kCorruption:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message,
                           const Json& details) {
  Json error = {{"code", code}, {"message", message}};
  error["details"] = details.is_null() ? Json::object() : details;
  HttpResponse r = HttpResponse::FromJson(http_status, {{"error", error}});
  // A full queue (the writer's or the request threads') drains in moments.
  if (code == "overloaded") r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse ErrorResponse(const Status& status) {
  return ErrorResponse(HttpStatusFor(status), status.reason(), status.message(), status.details());
}

}  // namespace cloister
