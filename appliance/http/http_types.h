// Requests and responses as the appliance's handlers see them, independent
// of POCO: the server adapter converts at the edge, so handlers and the
// dispatcher are plain functions of values. Status becomes an HTTP status
// and the JSON error envelope here and nowhere else:
//   {"error": {"code": "...", "message": "...", "details": {...}}}
// Which code a client sees for a Status is the API's choice: the server
// renders failures through the table of appliance/api/error_codes.h, which
// builds its answers with these functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "appliance/identity/principal.h"

namespace cloister {

struct HttpRequest {
  std::string method;
  std::string path;                           // decoded, without the query
  std::map<std::string, std::string> query;   // decoded query parameters
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  bool body_too_large = false;  // set by the server adapter; the body is then empty
  std::string remote_ip;
  bool secure = true;  // arrived over TLS
  std::string client_subject;  // RFC 4514 subject of a verified TLS client certificate, or ""

  // Filled by the dispatcher.
  std::string request_id;
  std::string route_pattern;  // e.g. "/v1/auth/tokens/{id}": the path without its values
  std::map<std::string, std::string> path_params;
  std::optional<Principal> principal;
  // Set by the gate: advisory policy failures, sent back as
  // Cloister-Policy-Warning headers.
  std::vector<std::string> warnings;

  // Header value or "" (name in lowercase).
  std::string Header(const std::string& name) const;
  // The value of cookie `name` in the Cookie header, or "".
  std::string Cookie(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file's content, streamed (large downloads).
  std::string body_file;

  static HttpResponse FromJson(int status, const Json& body);
  static HttpResponse FromText(int status, std::string body, std::string content_type);
};

// The HTTP status for a Status code (400, 401, 403, 404, 409, 412, 500, 503...).
int HttpStatusFor(const Status& status);
// The JSON error envelope for a failed Status. Both forms add
// "Retry-After: 1" to an answer with code "overloaded" (a full queue).
HttpResponse ErrorResponse(const Status& status);
// An error the HTTP layer itself produces (404, 405, 413, 415, ...).
HttpResponse ErrorResponse(int http_status, const std::string& code, const std::string& message,
                           const Json& details = nullptr);

}  // namespace cloister
