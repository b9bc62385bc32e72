// An HTTPS client for the appliance's API, used by cloisterctl and by the
// integration tests. TLS 1.2+, the server verified against a given CA file
// (the appliance's own certificate by default) or the system store.
//
// Not thread-safe: one client per thread. Keeps its connection alive.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "appliance/core/json.h"
#include "appliance/core/status.h"

namespace Poco::Net {
class HTTPClientSession;
}

namespace cloister {

struct ClientOptions {
  std::string address = "https://127.0.0.1:8443";  // https:// or http:// (loopback plain HTTP)
  std::string ca_cert;                             // PEM file; empty: the system CA store
  std::string token;                               // sent as Authorization: Bearer
  std::string client_cert, client_key;             // PEM files of a TLS client certificate, or ""
  int timeout_seconds = 30;
  std::map<std::string, std::string> headers;      // sent with every request (e.g. If-Match)
};

struct ApiResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased

  // The body as JSON; null when it is not JSON.
  Json json() const;
  // "<code>: <message>" from the error envelope, or the status line.
  std::string ErrorText() const;
};

class ApiClient {
 public:
  explicit ApiClient(ClientOptions options);
  ~ApiClient();

  // Sends one request. `body` is sent as-is with `content_type` when not
  // empty. unavailable when the server cannot be reached or TLS fails.
  Result<ApiResponse> Send(const std::string& method, const std::string& path, const std::string& body = "",
                           const std::string& content_type = "application/json",
                           const std::map<std::string, std::string>& headers = {});
  Result<ApiResponse> Get(const std::string& path) { return Send("GET", path); }
  Result<ApiResponse> PostJson(const std::string& path, const Json& body) {
    return Send("POST", path, body.dump());
  }

  // GET `path`; a 2xx body is streamed into `file` (mode 0600, replaced
  // atomically) and not kept in the response.
  Result<ApiResponse> Download(const std::string& path, const std::string& file);

  void set_token(std::string token) { options_.token = std::move(token); }

 private:
  Status Connect();

  ClientOptions options_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

}  // namespace cloister
