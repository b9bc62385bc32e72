#include "appliance/http/http_exchange.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <fstream>

#include "appliance/http/http_parser.h"

namespace cloister {
namespace {

constexpr size_t kSlice = 64 * 1024;

Deadline After(std::chrono::steady_clock::duration d) {
  return std::chrono::steady_clock::now() + d;
}

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 423:
      return "Locked";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

// The status line and headers. `length` < 0: no Content-Length.
std::string ResponseHead(const HttpResponse& response, int64_t length, bool keep_alive,
                         bool http10) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  if (!response.content_type.empty() && !HasLineBreak(response.content_type)) {
    out += "Content-Type: " + response.content_type + "\r\n";
  }
  if (length >= 0) out += "Content-Length: " + std::to_string(length) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    if (HasLineBreak(name) || HasLineBreak(value))
      continue;  // never let a value start a header of its own
    out += name + ": " + value + "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (http10) {
    out += "Connection: keep-alive\r\n";
  }
  return out + "\r\n";
}

bool NoBodyAllowed(int status) { return status < 200 || status == 204 || status == 304; }

bool WriteResponse(HttpConnection& conn, const HttpResponse& response, bool keep_alive, bool http10,
                   bool head_only) {
  if (!response.body_file.empty()) {
    std::ifstream file(response.body_file, std::ios::binary | std::ios::ate);
    if (!file) {
      // The 500 says Connection: close, so the connection must close even
      // when it was written.
      const HttpResponse error = ErrorResponse(500, "internal", "the response body is unavailable");
      WriteResponse(conn, error, false, http10, head_only);
      return false;
    }
    const int64_t size = file.tellg();
    file.seekg(0);
    if (!conn.WriteAll(ResponseHead(response, size, keep_alive, http10), After(kWriteTimeout)))
      return false;
    if (head_only) return true;
    std::string slice(kSlice, '\0');
    int64_t sent = 0;
    while (sent < size && file.read(slice.data(), static_cast<std::streamsize>(
                                                      std::min<int64_t>(kSlice, size - sent)))) {
      const auto n = static_cast<size_t>(file.gcount());
      if (!conn.WriteAll(std::string_view(slice).substr(0, n), After(kWriteTimeout))) return false;
      sent += static_cast<int64_t>(n);
    }
    return sent == size;  // a file that shrank leaves the framing wrong: close
  }
  const bool no_body = NoBodyAllowed(response.status);
  std::string head = ResponseHead(
      response, no_body ? -1 : static_cast<int64_t>(response.body.size()), keep_alive, http10);
  std::string_view body =
      no_body || head_only ? std::string_view() : std::string_view(response.body);
  if (body.size() <= kSlice) {
    return conn.WriteAll(head.append(body), After(kWriteTimeout));
  }
  if (!conn.WriteAll(head, After(kWriteTimeout))) return false;
  for (size_t at = 0; at < body.size(); at += kSlice) {
    if (!conn.WriteAll(body.substr(at, kSlice), After(kWriteTimeout))) return false;
  }
  return true;
}

HttpRequest ToRequest(const HttpConnection& conn, const RequestHead& head) {
  HttpRequest request;
  request.secure = conn.secure();
  request.client_subject = conn.ClientSubject();
  request.method = head.method;
  request.remote_ip = conn.remote_ip();
  for (const auto& [name, value] : head.headers) request.headers[name] = value;
  return request;
}

}  // namespace

std::string ResponseBytesForClose(const HttpResponse& response) {
  return ResponseHead(response, static_cast<int64_t>(response.body.size()), false, false) +
         response.body;
}

bool ServeRequest(HttpConnection& conn, const RequestHead& head, std::string body,
                  Dispatcher& dispatcher, bool closing) {
  HttpRequest request = ToRequest(conn, head);
  request.body = std::move(body);
  bool readable = true;
  try {
    const Poco::URI uri(head.target);
    request.path = uri.getPath();
    for (const auto& [k, v] : uri.getQueryParameters()) request.query[k] = v;
  } catch (const Poco::Exception&) {
    readable = false;
  }
  const bool http10 = head.minor_version == 0;
  HttpResponse response =
      readable ? dispatcher.Handle(request)
               : ErrorResponse(400, "malformed_request", "the request URI is malformed");
  const bool keep_alive = head.keep_alive && !closing;
  return WriteResponse(conn, response, keep_alive, http10, head.method == "HEAD") && keep_alive;
}

}  // namespace cloister
