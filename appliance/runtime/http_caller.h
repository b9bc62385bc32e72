// The outbound HTTP(S) client of runtime steps, under egress control
// (egress.h). For each connection (the first and every redirect) it:
//   - checks the URL's host against the environment's egress_allow;
//   - resolves the name once and checks every address it resolves to (one
//     refused address refuses the call: whoever controls the DNS answer could
//     mix a good address with a bad one);
//   - connects to a checked address (never a second lookup, so DNS
//     rebinding cannot switch it), trying them in order;
//   - for https, verifies the certificate against the call's CA bundle (or
//     the system's trust store) and the URL's host name (or IP literal),
//     sending the host name as SNI although the TCP connection goes to the
//     pinned address.
// Proxy settings (http_proxy, https_proxy, ...) are never read. Every call has
// one deadline covering resolution, connects, TLS, sending and receiving, for
// all redirects together.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "appliance/core/mutex.h"
#include "appliance/core/status.h"
#include "appliance/runtime/egress.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace cloister::runtime {

struct HttpCall {
  std::string method = "GET";
  std::string url;  // http:// or https://; user info ("user@") is refused
  // Sent as given, after Host, and Content-Length (when there is a body or the
  // method is POST, PUT or PATCH), which the caller may not set, nor Connection
  // or Transfer-Encoding. Authorization, Proxy-Authorization, Cookie and the
  // headers named in `credential_headers` are dropped when a redirect leads
  // to another scheme, host or port.
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> credential_headers;  // names, any case: headers that carry secrets
  std::string body;
  // The whole call: resolution, connect, TLS, send and receive, all
  // redirects together.
  std::chrono::milliseconds timeout{30000};
  std::string ca_bundle_pem;            // PEM certificates to trust; "" = the system's trust store
  size_t max_response_bytes = 1 << 20;  // longer bodies are cut here and `truncated` set
  int max_redirects = 5;
};

struct HttpAnswer {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool truncated = false;
  std::string address;  // "address:port" (IPv6 in brackets) the final answer came from
  std::vector<std::string> redirects;  // URLs followed, in order
};

class HttpCaller {
 public:
  // `resolver` must outlive the caller and be thread-safe.
  HttpCaller(EgressPolicy policy, Resolver& resolver);
  ~HttpCaller();
  HttpCaller(const HttpCaller&) = delete;
  HttpCaller& operator=(const HttpCaller&) = delete;

  // Makes one call. Follows 301, 302, 303, 307 and 308 (with a Location) when
  // the target passes the same checks: 303, and 301/302 after a POST, become
  // a GET without body; 307 and 308 keep method and body. A redirect from
  // https to http is refused (failed_precondition).
  //
  // Errors:
  //   permission_denied, reason "egress_denied": a host or address refused,
  //     the first one or a redirect's (naming that host and the rule);
  //   invalid_argument: "bad URL ...", a bad method or header, a CA bundle
  //     without certificates;
  //   failed_precondition: "too many redirects" (more than max_redirects);
  //   unavailable, reason "timeout": the deadline passed;
  //   unavailable, reason "tls_failed": the server's certificate was not
  //     accepted (untrusted, expired, wrong name);
  //   unavailable, reason "connection_failed": resolution failed, connection
  //     refused or reset, another TLS handshake failure, the body ended early;
  //     the message says which;
  //   unavailable, reason "bad_response": the answer is not HTTP, or a
  //     redirect names an unusable URL (another scheme, a bad host).
  // Which of these are worth retrying is the caller's choice.
  //
  // Thread-safe: calls may run concurrently.
  Result<HttpAnswer> Call(const HttpCall& call);

 private:
  // The client TLS context trusting `ca_bundle_pem`, made once per bundle text.
  Result<std::shared_ptr<SSL_CTX>> ContextFor(const std::string& ca_bundle_pem);

  const EgressPolicy policy_;
  Resolver& resolver_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<SSL_CTX>> contexts_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister::runtime
