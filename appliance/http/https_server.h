// The HTTPS listener (and an optional plain-HTTP listener, loopback only)
// in front of the Dispatcher. TLS 1.2 and 1.3 only, with a modern AEAD
// cipher list for TLS 1.2 (TLS 1.3 suites are all AEAD).
//
// Slow or silent clients hold no request thread: an event-driven reactor
// (HttpReactor) accepts, handshakes and reads whole requests (head and
// body) under a deadline, and hands complete requests to a fixed pool of
// request threads.
//
// Start/Stop from one thread; requests are served on the server's threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "appliance/http/dispatcher.h"

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
  int max_threads = 16;           // request threads
  int max_queued = 256;           // complete requests waiting for a thread; more are answered 503
  int idle_timeout_seconds = 60;  // a keep-alive connection waiting for its next request
  // From accept to a complete request head (TLS handshake included), and
  // from the first byte of a later request on a kept-alive connection to the
  // same point; slower connections are closed. A body then has
  // BodyAllowance: this long, or the time its length takes at 64 KiB/s.
  int head_timeout_ms = 5000;
  // Open connections from one client address; more are closed at accept.
  int max_connections_per_address = 64;
};

// TLS 1.2 ciphers offered; ECDHE key exchange and AEAD only.
extern const char kTlsCipherList[];

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

class HttpReactor;
class TlsContext;

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
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<HttpReactor> reactor_;
  uint16_t port_ = 0;
  uint16_t plain_port_ = 0;
};

}  // namespace cloister
