#include "appliance/runtime/http_caller.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

namespace cloister::runtime {
namespace {

// Network deadlines are real time: they bound waits on sockets, which a
// manual clock could not shorten.
using SteadyClock = std::chrono::steady_clock;

int RemainingMs(SteadyClock::time_point until) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

Status ConnectionFailed(const std::string& message) {
  return Status::Unavailable(message).WithReason("connection_failed");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// OpenSSL's reasons queued on this thread ("unknown" if none); clears them.
std::string TakeOpenSslErrors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown" : out;
}

// ---- URLs -------------------------------------------------------------------

struct Url {
  bool https = false;
  std::string host;  // lower case; IPv6 without brackets
  uint16_t port = 0;
  std::string target;  // path and query, starting with "/"

  std::string Authority() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (https ? 443 : 80)) out += ":" + std::to_string(port);
    return out;
  }
  std::string Origin() const { return (https ? "https://" : "http://") + Authority(); }
  std::string ToString() const { return Origin() + target; }
};

Status BadUrl(const std::string& why) { return Status::InvalidArgument("bad URL: " + why); }

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

Status ParseAuthority(std::string_view authority, Url& url) {
  if (authority.find('@') != std::string_view::npos) return BadUrl("user info is not supported");
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return BadUrl("unclosed [ in the host");
    url.host = Lower(authority.substr(1, close - 1));
    if (url.host.find(':') == std::string::npos || !IsIpLiteral(url.host)) {
      return BadUrl("[" + url.host + "] is not an IPv6 address");
    }
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return BadUrl("unexpected text after the IPv6 address");
    has_port = !rest.empty();
    if (has_port) port_text = rest.substr(1);
  } else {
    const size_t colon = authority.find(':');
    url.host = Lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) return BadUrl("no host");
    if (!std::all_of(url.host.begin(), url.host.end(), IsHostNameChar)) {
      return BadUrl("the host \"" + url.host + "\" has characters a host name cannot have");
    }
  }
  url.port = url.https ? 443 : 80;
  if (has_port && !port_text.empty()) {
    uint32_t v = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || v > 65535)
        return BadUrl("the port is not a number from 1 to 65535");
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v == 0 || v > 65535) return BadUrl("the port is not a number from 1 to 65535");
    url.port = static_cast<uint16_t>(v);
  }
  return Status::Ok();
}

Result<Url> ParseUrl(std::string_view text) {
  if (text.size() > 8192) return BadUrl("longer than 8192 characters");
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7f) return BadUrl("it contains a space or a control character");
  }
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return BadUrl("no scheme (http:// or https://)");
  const std::string scheme = Lower(text.substr(0, sep));
  if (scheme != "http" && scheme != "https") return BadUrl("the scheme must be http or https");
  Url url;
  url.https = scheme == "https";
  const std::string_view rest = text.substr(sep + 3);
  const size_t end = rest.find_first_of("/?#");
  CL_RETURN_IF_ERROR(ParseAuthority(rest.substr(0, end), url));
  std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  tail = tail.substr(0, tail.find('#'));  // a fragment is never sent
  url.target = (tail.empty() || tail[0] != '/') ? "/" + std::string(tail) : std::string(tail);
  return url;
}

// The absolute URL a Location header names, relative to `base` (RFC 3986
// reference resolution, without removing dot segments: the server does that).
std::string ResolveLocation(const Url& base, const std::string& location) {
  const size_t colon = location.find(':');
  const size_t delim = location.find_first_of("/?#");
  if (colon != std::string::npos && colon > 0 && (delim == std::string::npos || colon < delim)) {
    return location;  // has a scheme; ParseUrl accepts http and https only
  }
  if (location.rfind("//", 0) == 0) return (base.https ? "https:" : "http:") + location;
  if (!location.empty() && location[0] == '/') return base.Origin() + location;
  const std::string path = base.target.substr(0, base.target.find('?'));
  if (location.empty() || location[0] == '#') return base.ToString();
  if (location[0] == '?') return base.Origin() + path + location;
  return base.Origin() + path.substr(0, path.rfind('/') + 1) + location;
}

// ---- Requests ---------------------------------------------------------------

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}
bool IsToken(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), IsTokenChar);
}

Status CheckRequest(const HttpCall& call) {
  if (!IsToken(call.method))
    return Status::InvalidArgument("bad HTTP method \"" + call.method + "\"");
  for (const auto& [name, value] : call.headers) {
    if (!IsToken(name)) return Status::InvalidArgument("bad header name \"" + name + "\"");
    const std::string lower = Lower(name);
    if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" ||
        lower == "connection") {
      return Status::InvalidArgument("header " + name + " is set by the caller itself");
    }
    if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      return Status::InvalidArgument("header " + name + " has a line break or NUL in its value");
    }
  }
  if (call.max_redirects < 0) return Status::InvalidArgument("max_redirects is negative");
  return Status::Ok();
}

// The request a redirect turns into.
struct Request {
  std::string method;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::string> credential_headers;  // lowercased
};

void DropHeaders(Request& request, std::initializer_list<const char*> names) {
  std::erase_if(request.headers, [&](const auto& h) {
    const std::string lower = Lower(h.first);
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return lower == n; });
  });
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// ---- Sockets ----------------------------------------------------------------

Status WaitFor(int fd, short events, SteadyClock::time_point until, const std::string& what) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int ms = RemainingMs(until);
    if (ms == 0) return Status::Unavailable("timed out " + what).WithReason("timeout");
    const int rc = poll(&p, 1, ms);
    if (rc > 0) return Status::Ok();
    if (rc < 0 && errno != EINTR) return ConnectionFailed(what + ": poll: " + std::strerror(errno));
  }
}

// A non-blocking TCP connection to the numeric `address`: no name lookup.
Result<int> Connect(const std::string& address, uint16_t port, SteadyClock::time_point until,
                    const std::string& label) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  const int rc = getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &ai);
  if (rc != 0) return ConnectionFailed("connecting to " + label + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(ai, freeaddrinfo);
  const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0)
    return ConnectionFailed("connecting to " + label + ": socket: " + std::strerror(errno));
  int err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    Status waited = WaitFor(fd, POLLOUT, until, "connecting to " + label);
    if (!waited.ok()) {
      ::close(fd);
      return waited;
    }
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  }
  if (err != 0) {
    ::close(fd);
    return ConnectionFailed("connecting to " + label + ": " + std::strerror(err));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
  return fd;
}

// A connected non-blocking socket, optionally carrying TLS through memory
// BIOs, whose reads and writes end at the call's deadline. Poco's
// HTTPClientSession frames the exchange over it; a failure is recorded in
// failure() before the Poco exception unwinds through Poco's streams.
// Owned by the Poco StreamSocket it is given to; one thread at a time.
class PinnedSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  PinnedSocketImpl(int fd, std::string label, SteadyClock::time_point until)
      : StreamSocketImpl(fd), label_(std::move(label)), until_(until) {}

  Status StartTls(SSL_CTX* ctx, const std::string& host);

  using StreamSocketImpl::receiveBytes;
  using StreamSocketImpl::sendBytes;
  int sendBytes(const void* buffer, int length, int flags) override;
  int receiveBytes(void* buffer, int length, int flags) override;
  void close() override;

  const Status& failure() const { return failure_; }

 protected:
  ~PinnedSocketImpl() override { FreeSsl(); }

 private:
  void FreeSsl() {
    if (ssl_) SSL_free(ssl_);  // frees both BIOs
    ssl_ = nullptr;
  }
  [[noreturn]] void Throw(Status status) {
    failure_ = std::move(status);
    throw Poco::Net::NetException(failure_.message());
  }
  Status SendAll(const char* data, size_t len);
  Result<size_t> ReceiveSome(char* buffer, size_t len);  // 0 at end of stream
  Status FlushTls();
  Status FillTls();
  Result<int> DriveTls(const std::function<int()>& op, const std::string& what);

  const std::string label_;  // "host (address:port)"
  const SteadyClock::time_point until_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> TLS; owned by ssl_
  BIO* wbio_ = nullptr;  // TLS -> network; owned by ssl_
  bool peer_closed_ = false;
  Status failure_;
};

Status PinnedSocketImpl::SendAll(const char* data, size_t len) {
  while (len > 0) {
    const ssize_t n = ::send(sockfd(), data, len, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      CL_RETURN_IF_ERROR(WaitFor(sockfd(), POLLOUT, until_, "sending to " + label_));
    } else {
      return ConnectionFailed("sending to " + label_ + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

Result<size_t> PinnedSocketImpl::ReceiveSome(char* buffer, size_t len) {
  for (;;) {
    const ssize_t n = ::recv(sockfd(), buffer, len, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      CL_RETURN_IF_ERROR(WaitFor(sockfd(), POLLIN, until_, "waiting for " + label_));
    } else {
      return ConnectionFailed("receiving from " + label_ + ": " + std::strerror(errno));
    }
  }
}

Status PinnedSocketImpl::FlushTls() {
  char buf[16384];
  while (BIO_ctrl_pending(wbio_) > 0) {
    const int n = BIO_read(wbio_, buf, sizeof buf);
    if (n <= 0) return Status::Internal("reading the TLS output buffer failed");
    CL_RETURN_IF_ERROR(SendAll(buf, static_cast<size_t>(n)));
  }
  return Status::Ok();
}

Status PinnedSocketImpl::FillTls() {
  if (peer_closed_) return ConnectionFailed(label_ + " closed the connection in the middle of TLS");
  char buf[16384];
  CL_ASSIGN_OR_RETURN(const size_t n, ReceiveSome(buf, sizeof buf));
  if (n == 0) {
    peer_closed_ = true;
    BIO_set_mem_eof_return(rbio_, 0);  // TLS now sees the end of the stream
    return Status::Ok();
  }
  if (BIO_write(rbio_, buf, static_cast<int>(n)) != static_cast<int>(n)) {
    return Status::Internal("filling the TLS input buffer failed");
  }
  return Status::Ok();
}

// Runs one TLS operation until it completes, moving bytes between the socket
// and the memory BIOs. Returns the operation's result (0: the peer closed).
Result<int> PinnedSocketImpl::DriveTls(const std::function<int()>& op, const std::string& what) {
  for (;;) {
    ERR_clear_error();
    const int r = op();
    const int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    const std::string reason =
        err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL ? TakeOpenSslErrors() : "";
    CL_RETURN_IF_ERROR(FlushTls());  // handshake records and alerts go out even on failure
    switch (err) {
      case SSL_ERROR_NONE:
        return r;
      case SSL_ERROR_WANT_READ:
        CL_RETURN_IF_ERROR(FillTls());
        continue;
      case SSL_ERROR_WANT_WRITE:
        continue;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        return ConnectionFailed(what + " " + label_ + " failed: " + reason);
    }
  }
}

Status PinnedSocketImpl::StartTls(SSL_CTX* ctx, const std::string& host) {
  ssl_ = SSL_new(ctx);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !rbio_ || !wbio_) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    return Status::Internal("creating a TLS connection: " + TakeOpenSslErrors());
  }
  BIO_set_mem_eof_return(rbio_, -1);  // empty means "more to come" until FillTls sees the end
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_connect_state(ssl_);
  // The name is checked against the certificate (and sent as SNI) although
  // the socket is connected to a pinned address.
  bool ok;
  if (IsIpLiteral(host)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) == 1;
  } else {
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok =
        SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1 && SSL_set1_host(ssl_, host.c_str()) == 1;
  }
  if (!ok)
    return Status::Internal("setting the TLS peer name " + host + ": " + TakeOpenSslErrors());

  Result<int> done = DriveTls([this] { return SSL_do_handshake(ssl_); }, "TLS handshake with");
  const long verify = SSL_get_verify_result(ssl_);
  if (done.ok() && *done == 1 && verify == X509_V_OK && SSL_get0_peer_certificate(ssl_)) {
    return Status::Ok();
  }
  if (!done.ok() && done.status().reason() == "timeout") return done.status();
  if (verify != X509_V_OK) {
    return Status::Unavailable("the TLS certificate of " + label_ +
                               " was not accepted: " + X509_verify_cert_error_string(verify))
        .WithReason("tls_failed");
  }
  if (done.ok())
    return ConnectionFailed("TLS handshake with " + label_ + " failed: the peer closed");
  return done.status();
}

int PinnedSocketImpl::sendBytes(const void* buffer, int length, int /*flags*/) {
  if (length <= 0) return 0;
  if (!ssl_) {
    Status sent = SendAll(static_cast<const char*>(buffer), static_cast<size_t>(length));
    if (!sent.ok()) Throw(std::move(sent));
    return length;
  }
  Result<int> n = DriveTls([&] { return SSL_write(ssl_, buffer, length); }, "sending to");
  if (!n.ok()) Throw(n.status());
  if (*n != length)
    Throw(ConnectionFailed(label_ + " closed the connection while we were sending"));
  return length;
}

int PinnedSocketImpl::receiveBytes(void* buffer, int length, int /*flags*/) {
  if (length <= 0) return 0;
  if (!ssl_) {
    Result<size_t> n = ReceiveSome(static_cast<char*>(buffer), static_cast<size_t>(length));
    if (!n.ok()) Throw(n.status());
    return static_cast<int>(*n);
  }
  Result<int> n = DriveTls([&] { return SSL_read(ssl_, buffer, length); }, "receiving from");
  if (!n.ok()) Throw(n.status());
  return *n;
}

void PinnedSocketImpl::close() {
  FreeSsl();
  StreamSocketImpl::close();
}

// ---- TLS contexts -------------------------------------------------------------

Status LoadCaBundle(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                          BIO_free);
  if (!bio) return Status::Internal("reading the CA bundle: " + TakeOpenSslErrors());
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    const int added = X509_STORE_add_cert(store, cert);
    X509_free(cert);
    if (added != 1) return Status::InvalidArgument("the CA bundle: " + TakeOpenSslErrors());
    ++count;
  }
  // The loop ends at the first block that is not a certificate: fine at the
  // end of the text, damage anywhere else.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE &&
      count > 0) {
    ERR_clear_error();
    return Status::Ok();
  }
  if (count == 0) return Status::InvalidArgument("the CA bundle holds no PEM certificate");
  return Status::InvalidArgument("the CA bundle is damaged after certificate " +
                                 std::to_string(count) + ": " + TakeOpenSslErrors());
}

Result<std::shared_ptr<SSL_CTX>> MakeClientContext(const std::string& ca_bundle_pem) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("creating a TLS client context: " + TakeOpenSslErrors());
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return Status::Internal("setting TLS 1.2 as the minimum: " + TakeOpenSslErrors());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // Servers often close without close_notify; the HTTP framing (length,
  // chunks) says whether the answer is whole.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  if (ca_bundle_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return Status::Unavailable("loading the system's trust store: " + TakeOpenSslErrors());
    }
  } else {
    CL_RETURN_IF_ERROR(LoadCaBundle(ctx.get(), ca_bundle_pem));
  }
  return ctx;
}

}  // namespace

namespace {

std::string Endpoint(const std::string& address, uint16_t port) {
  return (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
         std::to_string(port);
}

// The addresses `url`'s host may be reached at: resolved once, every one
// checked. One refused address refuses them all.
Result<std::vector<std::string>> CheckedAddresses(const EgressPolicy& policy, Resolver& resolver,
                                                  const Url& url, SteadyClock::time_point until) {
  const EgressVerdict host = CheckHost(policy, url.host, url.port);
  if (!host.allowed) return EgressDenied(url.host, "", host);
  std::vector<std::string> addresses;
  if (IsIpLiteral(url.host)) {
    addresses.push_back(url.host);
  } else {
    CL_ASSIGN_OR_RETURN(addresses, resolver.Resolve(url.host));
    if (RemainingMs(until) == 0) {
      return Status::Unavailable("timed out resolving " + url.host).WithReason("timeout");
    }
  }
  if (addresses.empty()) return ConnectionFailed("resolving " + url.host + ": no addresses");
  for (const std::string& address : addresses) {
    const EgressVerdict verdict = CheckAddress(policy, url.host, address, url.port);
    if (!verdict.allowed) return EgressDenied(url.host, address, verdict);
  }
  return addresses;
}

struct Pinned {
  Poco::Net::StreamSocket socket;  // owns impl
  PinnedSocketImpl* impl = nullptr;
  std::string endpoint;  // address:port
};

// Connects to the first of `addresses` that accepts, each attempt given an
// equal share of the time left so one silent address cannot use it all.
Result<Pinned> ConnectPinned(const Url& url, const std::vector<std::string>& addresses,
                             SSL_CTX* tls, SteadyClock::time_point until) {
  Status last;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string endpoint = Endpoint(addresses[i], url.port);
    const std::string label = url.host + " (" + endpoint + ")";
    const auto share = (until - SteadyClock::now()) / static_cast<int64_t>(addresses.size() - i);
    Result<int> fd = Connect(addresses[i], url.port, SteadyClock::now() + share, label);
    if (!fd.ok()) {
      last = fd.status();
      if (RemainingMs(until) == 0) break;
      continue;
    }
    Pinned pinned;
    pinned.impl = new PinnedSocketImpl(*fd, label, until);
    pinned.socket = Poco::Net::StreamSocket(pinned.impl);  // owns it from here
    pinned.endpoint = endpoint;
    if (tls) CL_RETURN_IF_ERROR(pinned.impl->StartTls(tls, url.host));
    return pinned;
  }
  if (last.ok()) return ConnectionFailed("no address to connect to for " + url.host);
  if (RemainingMs(until) == 0 && last.reason() != "timeout") {
    return Status::Unavailable("timed out connecting to " + url.host + ": " + last.message())
        .WithReason("timeout");
  }
  return last;
}

Poco::Net::HTTPRequest MakeRequest(const Url& url, const Request& request) {
  Poco::Net::HTTPRequest out(request.method, url.target, Poco::Net::HTTPMessage::HTTP_1_1);
  out.set("Host", url.Authority());
  for (const auto& [name, value] : request.headers) out.add(name, value);
  const std::string& m = request.method;
  if (!request.body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
    out.setContentLength64(static_cast<Poco::Int64>(request.body.size()));
  }
  out.setKeepAlive(false);
  return out;
}

// Reads at most `max` bytes of the body; `truncated` when there was more.
std::string ReadCapped(std::istream& in, size_t max, bool& truncated) {
  std::string body;
  char buf[16384];
  for (;;) {
    const size_t room = max - body.size();
    const size_t want = room >= sizeof buf ? sizeof buf : room + 1;  // one byte past the cap tells
    in.read(buf, static_cast<std::streamsize>(want));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    body.append(buf, static_cast<size_t>(n));
    if (body.size() > max) {
      body.resize(max);
      truncated = true;
      break;
    }
  }
  return body;
}

// Sends `request` over `pinned` and reads the answer (the body only when it
// is not a redirect that will be followed).
Result<HttpAnswer> Exchange(Pinned& pinned, const Url& url, const Request& request, size_t max_body,
                            std::string* location) {
  const std::string label = url.host + " (" + pinned.endpoint + ")";
  Poco::Net::HTTPClientSession session(pinned.socket);
  session.setProxyConfig(Poco::Net::HTTPClientSession::ProxyConfig());  // never the global one
  session.setKeepAlive(false);
  HttpAnswer answer;
  answer.address = pinned.endpoint;
  try {
    Poco::Net::HTTPRequest head = MakeRequest(url, request);
    std::ostream& out = session.sendRequest(head);
    out.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
    out.flush();
    if (!pinned.impl->failure().ok()) return pinned.impl->failure();
    if (!out) return ConnectionFailed("sending the request to " + label + " failed");

    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    answer.status = static_cast<int>(response.getStatus());
    for (const auto& [name, value] : response) answer.headers.emplace_back(name, value);
    location->clear();
    if (IsRedirect(answer.status) && response.has("Location")) {
      *location = response.get("Location");
      return answer;
    }
    answer.body = ReadCapped(in, max_body, answer.truncated);
    if (!pinned.impl->failure().ok()) return pinned.impl->failure();
    if (in.bad()) return ConnectionFailed("reading the answer of " + label + " failed");
    const bool bodiless = request.method == "HEAD" || answer.status == 204 ||
                          answer.status == 304 || answer.status < 200;
    if (!answer.truncated && !bodiless && response.hasContentLength() &&
        static_cast<Poco::Int64>(answer.body.size()) < response.getContentLength64()) {
      return ConnectionFailed("the answer of " + label + " ended after " +
                              std::to_string(answer.body.size()) + " of " +
                              std::to_string(response.getContentLength64()) + " bytes");
    }
    return answer;
  } catch (const Poco::Exception& e) {
    if (!pinned.impl->failure().ok()) return pinned.impl->failure();
    if (dynamic_cast<const Poco::Net::NoMessageException*>(&e)) {
      return ConnectionFailed(label + " closed the connection without answering");
    }
    if (dynamic_cast<const Poco::Net::MessageException*>(&e) ||
        dynamic_cast<const Poco::SyntaxException*>(&e)) {
      return Status::Unavailable("the answer of " + label + " is not HTTP: " + e.displayText())
          .WithReason("bad_response");
    }
    return ConnectionFailed("talking to " + label + ": " + e.displayText());
  } catch (const std::exception& e) {
    return ConnectionFailed("talking to " + label + ": " + e.what());
  }
}

// Turns `request` into the one a redirect with `status` from `from` to `to`
// asks for.
void Redirect(Request& request, int status, const Url& from, const Url& to) {
  const bool post = request.method == "POST";
  if (status == 303 || ((status == 301 || status == 302) && post)) {
    if (request.method != "HEAD") request.method = "GET";
    request.body.clear();
    DropHeaders(request, {"content-type", "content-encoding", "content-language"});
  }
  if (from.Origin() != to.Origin()) {
    DropHeaders(request, {"authorization", "proxy-authorization", "cookie"});
    std::erase_if(request.headers, [&](const auto& h) {
      const std::string lower = Lower(h.first);
      return std::find(request.credential_headers.begin(), request.credential_headers.end(),
                       lower) != request.credential_headers.end();
    });
  }
}

}  // namespace

HttpCaller::HttpCaller(EgressPolicy policy, Resolver& resolver)
    : policy_(std::move(policy)), resolver_(resolver) {}

HttpCaller::~HttpCaller() = default;

Result<std::shared_ptr<SSL_CTX>> HttpCaller::ContextFor(const std::string& ca_bundle_pem) {
  {
    MutexLock lock(mu_);
    if (auto it = contexts_.find(ca_bundle_pem); it != contexts_.end()) return it->second;
  }
  CL_ASSIGN_OR_RETURN(std::shared_ptr<SSL_CTX> made, MakeClientContext(ca_bundle_pem));
  MutexLock lock(mu_);
  if (contexts_.size() >= 16) contexts_.clear();  // environments have one or two bundles
  return contexts_.emplace(ca_bundle_pem, std::move(made)).first->second;
}

Result<HttpAnswer> HttpCaller::Call(const HttpCall& call) {
  const SteadyClock::time_point until = SteadyClock::now() + call.timeout;
  CL_ASSIGN_OR_RETURN(Url url, ParseUrl(call.url));
  CL_RETURN_IF_ERROR(CheckRequest(call));
  Request request{call.method, call.headers, call.body, {}};
  for (const std::string& name : call.credential_headers)
    request.credential_headers.push_back(Lower(name));
  std::vector<std::string> followed;
  for (int hop = 0;; ++hop) {
    std::shared_ptr<SSL_CTX> tls;
    if (url.https) {
      CL_ASSIGN_OR_RETURN(tls, ContextFor(call.ca_bundle_pem));
    }
    Result<std::vector<std::string>> addresses = CheckedAddresses(policy_, resolver_, url, until);
    if (!addresses.ok()) return addresses.status();
    CL_ASSIGN_OR_RETURN(Pinned pinned, ConnectPinned(url, *addresses, tls.get(), until));
    std::string location;
    Result<HttpAnswer> exchanged =
        Exchange(pinned, url, request, call.max_response_bytes, &location);
    if (!exchanged.ok()) return exchanged.status();
    HttpAnswer& answer = *exchanged;
    if (location.empty()) {
      answer.redirects = std::move(followed);
      return answer;
    }
    if (hop >= call.max_redirects) {
      return Status::FailedPrecondition("too many redirects: more than " +
                                        std::to_string(call.max_redirects) + ", the last from " +
                                        url.Origin());
    }
    Result<Url> next = ParseUrl(ResolveLocation(url, location));
    if (!next.ok()) {  // the server's doing, not the caller's
      return Status::Unavailable("redirect from " + url.Origin() +
                                 " to an unusable URL: " + next.status().message())
          .WithReason("bad_response");
    }
    if (url.https && !next->https) {
      return Status::FailedPrecondition("redirect from " + url.Origin() + " to " + next->Origin() +
                                        " refused: it leaves https");
    }
    Redirect(request, answer.status, url, *next);
    followed.push_back(next->ToString());
    url = std::move(*next);
  }
}

}  // namespace cloister::runtime
