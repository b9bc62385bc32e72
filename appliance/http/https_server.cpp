#include "appliance/http/https_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "appliance/http/http_reactor.h"
#include "appliance/http/tls_context.h"

namespace cloister {

const char kTlsCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

namespace {

// A bound, listening, non-blocking socket on host:port (IPv4 preferred when
// the name has both), and the port it got.
Result<int> Listen(const std::string& host, uint16_t port, uint16_t* bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    return Status::InvalidArgument(std::string("cannot resolve the address: ") + gai_strerror(rc));
  }
  const addrinfo* pick = found;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  const int fd = ::socket(pick->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  const bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                  ::bind(fd, pick->ai_addr, pick->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0;
  const int error = errno;
  freeaddrinfo(found);
  if (!ok) {
    if (fd >= 0) ::close(fd);
    return Status::InvalidArgument(std::string("cannot listen: ") + std::strerror(error));
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                                 : reinterpret_cast<sockaddr_in&>(addr).sin_port);
  return fd;
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

HttpsServer::HttpsServer(Dispatcher& dispatcher, ListenerOptions options)
    : dispatcher_(dispatcher), options_(std::move(options)) {}

HttpsServer::~HttpsServer() { Stop(); }

Status HttpsServer::Start() {
  const std::string where = "HTTPS listener " + options_.host + ":" + std::to_string(options_.port);
  auto tls = TlsContext::ForServer(options_.cert_file, options_.key_file, options_.client_ca_file);
  if (!tls.ok()) {
    return Status::InvalidArgument(
        where + " (certificate " + options_.cert_file +
        (options_.client_ca_file.empty() ? "" : ", client CA " + options_.client_ca_file) +
        "): " + tls.status().message());
  }
  tls_ = std::move(tls).value();
  ReactorOptions reactor_options;
  reactor_options.head_timeout = std::chrono::milliseconds(options_.head_timeout_ms);
  reactor_options.idle_timeout = std::chrono::seconds(options_.idle_timeout_seconds);
  reactor_options.max_connections_per_address = options_.max_connections_per_address;
  reactor_options.max_threads = options_.max_threads;
  reactor_options.max_queued = options_.max_queued;
  reactor_ = std::make_unique<HttpReactor>(dispatcher_, tls_.get(), reactor_options);

  auto https = Listen(options_.host, options_.port, &port_);
  if (!https.ok()) return Status::InvalidArgument(where + ": " + https.status().message());
  reactor_->AddListener(*https, true);
  if (options_.plain_http) {
    if (!IsLoopbackHost(options_.plain_host)) {
      return Status::InvalidArgument("plain HTTP may only listen on loopback, not " +
                                     options_.plain_host);
    }
    auto plain = Listen(options_.plain_host, options_.plain_port, &plain_port_);
    if (!plain.ok()) {
      return Status::InvalidArgument("plain HTTP listener " + options_.plain_host + ":" +
                                     std::to_string(options_.plain_port) + ": " +
                                     plain.status().message());
    }
    reactor_->AddListener(*plain, false);
  }
  return reactor_->Start();
}

void HttpsServer::Stop() {
  if (reactor_) reactor_->Stop();
  reactor_.reset();
}

}  // namespace cloister
