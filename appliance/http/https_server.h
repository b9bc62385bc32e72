// The POCO HTTPS listener (and an optional plain-HTTP listener, loopback
// only) in front of the Dispatcher. TLS 1.2 and 1.3 only, with a modern
// AEAD cipher list for TLS 1.2 (TLS 1.3 suites are all AEAD).
//
// Start/Stop from one thread; requests are served on POCO's thread pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "appliance/http/dispatcher.h"

namespace Poco::Net {
class HTTPServer;
}

namespace cloister {

struct ListenerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8443;  // 0 picks a free port (tests)
  std::string cert_file;
  std::string key_file;
  // PEM bundle of CAs whose client certificates are accepted; "" asks for
  // none. A presented certificate that does not verify ends the handshake.
  std::string client_ca_file;
  bool plain_http = false;  // only with a loopback plain_host
  std::string plain_host = "127.0.0.1";
  uint16_t plain_port = 8080;
  int max_threads = 16;
  int max_queued = 256;
  int idle_timeout_seconds = 60;
};

// TLS 1.2 ciphers offered; ECDHE key exchange and AEAD only.
extern const char kTlsCipherList[];

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

class HttpsServer {
 public:
  HttpsServer(Dispatcher& dispatcher, ListenerOptions options);
  ~HttpsServer();

  // Binds and starts serving; invalid_argument naming the address or the
  // certificate on failure.
  Status Start();
  void Stop();

  uint16_t port() const { return port_; }
  uint16_t plain_port() const { return plain_port_; }

 private:
  Dispatcher& dispatcher_;
  const ListenerOptions options_;
  std::unique_ptr<Poco::Net::HTTPServer> https_;
  std::unique_ptr<Poco::Net::HTTPServer> plain_;
  uint16_t port_ = 0;
  uint16_t plain_port_ = 0;
};

}  // namespace cloister
