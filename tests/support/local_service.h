// A local HTTP(S) service that the automations of a test call: scripted
// answers per path (a status, a body, headers, a delay), and a record of
// every request it received. HTTPS uses a self-signed certificate for
// localhost and 127.0.0.1, whose PEM is the CA bundle to trust. Port 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cloister::testing {

struct ServiceAnswer {
  int status = 200;
  std::string body = "{}";
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
  std::chrono::milliseconds delay{0};  // before answering (a slow or hanging service)
};

struct ServiceRequest {
  std::string method, target, body;            // target: path and query
  std::map<std::string, std::string> headers;  // names lowercased
};

class LocalService {
 public:
  // Serves HTTPS when `tls`, with its key and certificate written in `dir`.
  explicit LocalService(const std::string& dir, bool tls = true);
  ~LocalService();
  LocalService(const LocalService&) = delete;
  LocalService& operator=(const LocalService&) = delete;

  uint16_t port() const;
  // "https://localhost:PORT" + path (http:// without TLS).
  std::string Url(const std::string& path) const;
  // The certificate (PEM), to trust as the environment's ca_bundle.
  std::string CaPem() const;

  // The answers for `path` (the target without its query), in order; the
  // last one repeats. Unscripted paths answer 404.
  void Script(const std::string& path, std::vector<ServiceAnswer> answers);
  // The requests received for `path` (every path when empty), in order.
  std::vector<ServiceRequest> Requests(const std::string& path = "") const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cloister::testing
