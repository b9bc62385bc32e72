// HttpCaller against real servers on 127.0.0.1 (port 0): a small HTTP/1.1
// server in this file, over TLS when given a certificate, that records what
// it receives and answers from a handler (or never answers). Names resolve
// through a fake resolver, so "a name that resolves to 127.0.0.1" is a line
// of setup.
#include "appliance/runtime/http_caller.h"

#include <Poco/Net/HTTPClientSession.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/http/tls_certificate.h"
#include "tests/support/test_support.h"

namespace cloister::runtime {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// What the server received.
struct Seen {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string sni;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// The raw answer to send, or nullopt to never answer.
using Handler = std::function<std::optional<std::string>(const Seen&)>;

std::string Reply(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         extra_headers + "\r\n" + body;
}

int ListenOnLoopback(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ADD_FAILURE() << "cannot listen on 127.0.0.1";
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// One connection at a time, which is all these tests need.
class TestServer {
 public:
  explicit TestServer(Handler handler, const std::string& cert = "", const std::string& key = "")
      : handler_(std::move(handler)) {
    if (!cert.empty()) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str()), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM), 1);
    }
    fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    ::close(fd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }

  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void Run() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      ++connections_;
      timeval tv{3, 0};
      setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      Serve(conn);
      ::close(conn);
    }
  }

  void Serve(int conn) {
    SSL* ssl = nullptr;
    if (ctx_) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, conn);
      if (SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        return;
      }
    }
    auto read = [&](char* b, int n) {
      return ssl ? SSL_read(ssl, b, n) : static_cast<int>(recv(conn, b, n, 0));
    };
    auto write = [&](const std::string& s) {
      if (ssl) {
        SSL_write(ssl, s.data(), static_cast<int>(s.size()));
      } else {
        (void)!send(conn, s.data(), s.size(), MSG_NOSIGNAL);
      }
    };
    std::optional<Seen> seen = ReadRequest(read);
    if (seen) {
      if (ssl) {
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        seen->sni = sni ? sni : "";
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(*seen);
      }
      std::optional<std::string> answer = handler_(*seen);
      if (answer) {
        write(*answer);
      } else {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_; });
      }
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }

  static std::optional<Seen> ReadRequest(const std::function<int(char*, int)>& read) {
    std::string data;
    char buf[4096];
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      const int n = read(buf, sizeof buf);
      if (n <= 0 || data.size() > (1 << 16)) return std::nullopt;
      data.append(buf, static_cast<size_t>(n));
    }
    Seen seen;
    std::string head = data.substr(0, head_end + 2);
    size_t eol = head.find("\r\n");
    const std::string line = head.substr(0, eol);
    seen.method = line.substr(0, line.find(' '));
    seen.target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    for (size_t pos = eol + 2; pos < head.size();) {
      const size_t next = head.find("\r\n", pos);
      const std::string h = head.substr(pos, next - pos);
      std::string name = h.substr(0, h.find(':'));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[name] = h.substr(h.find(':') + 2);
      pos = next + 2;
    }
    seen.body = data.substr(head_end + 4);
    const size_t length =
        seen.headers.count("content-length") ? std::stoul(seen.headers["content-length"]) : 0;
    while (seen.body.size() < length) {
      const int n = read(buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      seen.body.append(buf, static_cast<size_t>(n));
    }
    return seen;
  }

  Handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<Seen> seen_;
};

// Names to addresses; a name may have successive answers (the last repeats).
class FakeResolver final : public Resolver {
 public:
  void Set(const std::string& host, std::vector<std::vector<std::string>> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[host] = std::move(answers);
  }
  Result<std::vector<std::string>> Resolve(const std::string& host) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int n = calls_[host]++;
    auto it = answers_.find(host);
    if (it == answers_.end())
      return Status::Unavailable("no such host " + host).WithReason("connection_failed");
    return it->second[std::min<size_t>(static_cast<size_t>(n), it->second.size() - 1)];
  }
  int calls(const std::string& host) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[host];
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::vector<std::string>>> answers_;
  std::map<std::string, int> calls_;
};

class HttpCallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemClock clock;
    SystemRandom random;
    for (const auto& [name, dns] :
         {std::pair<std::string, std::string>{"api", "api.test"}, {"other", "other.test"}}) {
      ASSERT_TRUE(EnsureSelfSignedCertificate(dir_.File(name + ".crt"), dir_.File(name + ".key"),
                                              {dns}, clock, random)
                      .ok());
    }
    resolver_.Set("api.test", {{"127.0.0.1"}});
    resolver_.Set("other.test", {{"127.0.0.1"}});
  }
  std::string Cert(const std::string& name) const { return dir_.File(name + ".crt"); }
  std::string Key(const std::string& name) const { return dir_.File(name + ".key"); }
  std::string Pem(const std::string& name) const { return testing::Slurp(Cert(name)); }

  Result<HttpAnswer> Get(const std::vector<std::string>& allow, const std::string& url,
                         milliseconds timeout = milliseconds(5000)) {
    HttpCaller caller(EgressPolicy{allow, 0, {}}, resolver_);
    HttpCall call;
    call.url = url;
    call.timeout = timeout;
    call.ca_bundle_pem = Pem("api");
    return caller.Call(call);
  }

  testing::TempDir dir_;
  FakeResolver resolver_;
};

std::string Url(const std::string& scheme, const std::string& host, uint16_t port,
                const std::string& path = "/") {
  return scheme + "://" + host + ":" + std::to_string(port) + path;
}

TEST_F(HttpCallerTest, HttpsGetAndPostReachTheServerWithHostAndSni) {
  TestServer server(
      [](const Seen& s) { return Reply(200, "hello " + s.method, "X-Answer: yes\r\n"); },
      Cert("api"), Key("api"));
  HttpCaller caller(EgressPolicy{{"api.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.url = Url("https", "api.test", server.port(), "/v1/items?q=1#frag");
  call.headers = {{"X-Token", "abc"}};
  call.ca_bundle_pem = Pem("api");
  Result<HttpAnswer> got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "hello GET");
  EXPECT_EQ(got->address, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_NE(std::find(got->headers.begin(), got->headers.end(),
                      std::pair<std::string, std::string>("X-Answer", "yes")),
            got->headers.end());

  call.method = "POST";
  call.body = R"({"a":1})";
  call.headers.emplace_back("Content-Type", "application/json");
  got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "hello POST");

  const std::vector<Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/v1/items?q=1");
  EXPECT_EQ(seen[0].Header("host"), "api.test:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].Header("x-token"), "abc");
  EXPECT_EQ(seen[0].sni, "api.test");
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].body, R"({"a":1})");
  EXPECT_EQ(seen[1].Header("content-type"), "application/json");
  EXPECT_EQ(seen[1].Header("content-length"), "7");
}

TEST_F(HttpCallerTest, HttpsToAnIpLiteralChecksTheAddressInTheCertificate) {
  TestServer server([](const Seen&) { return Reply(200, "ok"); }, Cert("api"), Key("api"));
  Result<HttpAnswer> got = Get({"127.0.0.1"}, Url("https", "127.0.0.1", server.port()));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(server.seen().at(0).sni, "");  // no SNI for an address (RFC 6066)
}

TEST_F(HttpCallerTest, CertificateFromAnotherCaIsTlsFailed) {
  TestServer server([](const Seen&) { return Reply(200, "ok"); }, Cert("other"), Key("other"));
  resolver_.Set("other.test", {{"127.0.0.1"}});
  Result<HttpAnswer> got = Get({"other.test"}, Url("https", "other.test", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(got.status().reason(), "tls_failed") << got.status().ToString();
  EXPECT_TRUE(server.seen().empty());
}

TEST_F(HttpCallerTest, EmptyCaBundleMeansTheSystemStoreWhichRefusesASelfSignedCertificate) {
  TestServer server([](const Seen&) { return Reply(200, "ok"); }, Cert("api"), Key("api"));
  HttpCaller caller(EgressPolicy{{"api.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.url = Url("https", "api.test", server.port());
  Result<HttpAnswer> got = caller.Call(call);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "tls_failed") << got.status().ToString();
}

TEST_F(HttpCallerTest, CertificateForAnotherNameIsTlsFailed) {
  // The certificate names api.test, localhost and 127.0.0.1; the URL names other.test.
  TestServer server([](const Seen&) { return Reply(200, "ok"); }, Cert("api"), Key("api"));
  Result<HttpAnswer> got = Get({"other.test"}, Url("https", "other.test", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "tls_failed") << got.status().ToString();
  EXPECT_NE(got.status().message().find("hostname mismatch"), std::string::npos)
      << got.status().message();
  EXPECT_TRUE(server.seen().empty());
}

TEST_F(HttpCallerTest, BadCaBundleIsInvalidArgument) {
  HttpCaller caller(EgressPolicy{{"api.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.url = "https://api.test:1/";
  call.ca_bundle_pem = "not a certificate";
  EXPECT_EQ(caller.Call(call).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpCallerTest, NameResolvingToLoopbackIsDeniedBeforeAnyConnection) {
  TestServer server([](const Seen&) { return Reply(200, "ok"); });
  resolver_.Set("evil.example", {{"127.0.0.1"}});
  Result<HttpAnswer> got = Get({"*"}, Url("http", "evil.example", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(got.status().reason(), "egress_denied");
  EXPECT_NE(got.status().message().find("evil.example"), std::string::npos)
      << got.status().message();
  EXPECT_NE(got.status().message().find("rule \"*\""), std::string::npos) << got.status().message();
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpCallerTest, OneRefusedAddressAmongSeveralRefusesTheCall) {
  TestServer server([](const Seen&) { return Reply(200, "ok"); });
  resolver_.Set("mixed.example", {{"192.0.2.10", "127.0.0.1"}});
  Result<HttpAnswer> got = Get({"*"}, Url("http", "mixed.example", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "egress_denied");
  EXPECT_EQ(got.status().details()["address"], "127.0.0.1");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpCallerTest, UnlistedHostIsDeniedWithoutResolving) {
  Result<HttpAnswer> got = Get({"*.corp.internal"}, "http://api.test:1/");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "egress_denied");
  EXPECT_NE(got.status().message().find("api.test"), std::string::npos);
  EXPECT_EQ(resolver_.calls("api.test"), 0);
}

TEST_F(HttpCallerTest, DnsRebindingCannotSwitchTheCheckedAddress) {
  // The first answer passes the check; a second lookup would get loopback.
  TestServer server([](const Seen&) { return Reply(200, "rebound"); });
  resolver_.Set("rebind.example", {{"192.0.2.10"}, {"127.0.0.1"}});
  Result<HttpAnswer> got =
      Get({"*"}, Url("http", "rebind.example", server.port()), milliseconds(500));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  EXPECT_NE(got.status().message().find("192.0.2.10"), std::string::npos) << got.status().message();
  EXPECT_EQ(resolver_.calls("rebind.example"), 1);
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpCallerTest, RedirectToAnAllowedHostIsFollowedWithoutCredentials) {
  TestServer b([](const Seen& s) { return Reply(200, "from b " + s.target); });
  TestServer a([&](const Seen&) {
    return Reply(302, "", "Location: http://b.test:" + std::to_string(b.port()) + "/landing\r\n");
  });
  resolver_.Set("a.test", {{"127.0.0.1"}});
  resolver_.Set("b.test", {{"127.0.0.1"}});
  HttpCaller caller(EgressPolicy{{"a.test", "b.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.url = Url("http", "a.test", a.port(), "/start");
  call.headers = {{"Authorization", "Bearer s3cret"}, {"X-Trace", "t1"}, {"X-Api-Key", "k3y"}};
  call.credential_headers = {"x-API-key"};  // a header the step filled from a secret
  Result<HttpAnswer> got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "from b /landing");
  EXPECT_EQ(b.seen().at(0).Header("x-api-key"), "");
  EXPECT_EQ(a.seen().at(0).Header("x-api-key"), "k3y");
  EXPECT_EQ(got->redirects,
            std::vector<std::string>{"http://b.test:" + std::to_string(b.port()) + "/landing"});
  ASSERT_EQ(b.seen().size(), 1u);
  EXPECT_EQ(b.seen()[0].Header("host"), "b.test:" + std::to_string(b.port()));
  EXPECT_EQ(b.seen()[0].Header("authorization"), "");
  EXPECT_EQ(b.seen()[0].Header("x-trace"), "t1");
  EXPECT_EQ(a.seen().at(0).Header("authorization"), "Bearer s3cret");
}

TEST_F(HttpCallerTest, SeeOtherBecomesGetAndTemporaryRedirectKeepsTheBody) {
  TestServer server([](const Seen& s) -> std::optional<std::string> {
    if (s.target == "/303") return Reply(303, "", "Location: /done\r\n");
    if (s.target == "/307") return Reply(307, "", "Location: done\r\n");
    return Reply(200, s.method + ":" + s.body);
  });
  resolver_.Set("a.test", {{"127.0.0.1"}});
  HttpCaller caller(EgressPolicy{{"a.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.method = "POST";
  call.body = "payload";
  call.url = Url("http", "a.test", server.port(), "/303");
  Result<HttpAnswer> got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "GET:");
  call.url = Url("http", "a.test", server.port(), "/307");
  got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "POST:payload");
}

TEST_F(HttpCallerTest, RedirectToARefusedHostIsDeniedAndNotFollowed) {
  TestServer target([](const Seen&) { return Reply(200, "should not be reached"); });
  for (const std::string host : {"evil.test", "x.example"}) {
    TestServer a([&](const Seen&) {
      return Reply(302, "",
                   "Location: http://" + host + ":" + std::to_string(target.port()) + "/\r\n");
    });
    resolver_.Set("a.test", {{"127.0.0.1"}});
    resolver_.Set(host, {{"127.0.0.1"}});
    Result<HttpAnswer> got = Get({"a.test", "*.example"}, Url("http", "a.test", a.port()));
    ASSERT_FALSE(got.ok()) << host;
    EXPECT_EQ(got.status().reason(), "egress_denied") << got.status().ToString();
    EXPECT_NE(got.status().message().find(host), std::string::npos) << got.status().message();
    EXPECT_EQ(a.seen().size(), 1u);
  }
  EXPECT_EQ(target.connections(), 0);
}

TEST_F(HttpCallerTest, RedirectLoopIsTooManyRedirects) {
  TestServer server([](const Seen&) { return Reply(302, "", "Location: /again\r\n"); });
  resolver_.Set("a.test", {{"127.0.0.1"}});
  HttpCaller caller(EgressPolicy{{"a.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.url = Url("http", "a.test", server.port());
  call.max_redirects = 3;
  Result<HttpAnswer> got = caller.Call(call);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("too many redirects"), std::string::npos);
  EXPECT_EQ(server.seen().size(), 4u);
  EXPECT_EQ(resolver_.calls("a.test"), 4);  // once per connection
}

TEST_F(HttpCallerTest, RedirectFromHttpsToHttpIsRefused) {
  TestServer server([](const Seen&) { return Reply(302, "", "Location: http://api.test:1/\r\n"); },
                    Cert("api"), Key("api"));
  Result<HttpAnswer> got = Get({"api.test"}, Url("https", "api.test", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition) << got.status().ToString();
}

TEST_F(HttpCallerTest, RedirectToAnotherSchemeIsABadResponse) {
  TestServer server([](const Seen&) { return Reply(302, "", "Location: file:///etc/passwd\r\n"); });
  Result<HttpAnswer> got = Get({"api.test"}, Url("http", "api.test", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "bad_response") << got.status().ToString();
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST_F(HttpCallerTest, SilentServerTimesOut) {
  TestServer server([](const Seen&) { return std::nullopt; });
  const auto start = SteadyClock::now();
  Result<HttpAnswer> got =
      Get({"api.test"}, Url("http", "api.test", server.port()), milliseconds(400));
  const auto took = SteadyClock::now() - start;
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "timeout") << got.status().ToString();
  EXPECT_GE(took, milliseconds(350));
  EXPECT_LT(took, milliseconds(1500));
}

TEST_F(HttpCallerTest, ListenerThatNeverAcceptsTimesOutInTheTlsHandshake) {
  uint16_t port = 0;
  const int fd = ListenOnLoopback(&port);  // the kernel completes TCP; nobody speaks TLS
  const auto start = SteadyClock::now();
  Result<HttpAnswer> got = Get({"api.test"}, Url("https", "api.test", port), milliseconds(400));
  const auto took = SteadyClock::now() - start;
  ::close(fd);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "timeout") << got.status().ToString();
  EXPECT_LT(took, milliseconds(1500));
}

TEST_F(HttpCallerTest, RefusedPortIsConnectionFailed) {
  uint16_t port = 0;
  ::close(ListenOnLoopback(&port));
  Result<HttpAnswer> got = Get({"api.test"}, Url("http", "api.test", port));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "connection_failed") << got.status().ToString();
  EXPECT_NE(got.status().message().find("refused"), std::string::npos) << got.status().message();
}

TEST_F(HttpCallerTest, LongBodyIsTruncatedAtTheCap) {
  TestServer server([](const Seen&) { return Reply(200, std::string(5000, 'x')); });
  HttpCaller caller(EgressPolicy{{"api.test"}, 0, {}}, resolver_);
  HttpCall call;
  call.url = Url("http", "api.test", server.port());
  call.max_response_bytes = 1000;
  Result<HttpAnswer> got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, std::string(1000, 'x'));
  EXPECT_TRUE(got->truncated);
  call.max_response_bytes = 5000;
  got = caller.Call(call);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body.size(), 5000u);
  EXPECT_FALSE(got->truncated);
}

TEST_F(HttpCallerTest, ChunkedBodyIsReassembled) {
  TestServer server([](const Seen&) -> std::optional<std::string> {
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  });
  Result<HttpAnswer> got = Get({"api.test"}, Url("http", "api.test", server.port()));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "hello world");
}

TEST_F(HttpCallerTest, BodyShorterThanItsLengthIsConnectionFailed) {
  TestServer server([](const Seen&) -> std::optional<std::string> {
    return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
  });
  Result<HttpAnswer> got = Get({"api.test"}, Url("http", "api.test", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "connection_failed") << got.status().ToString();
}

TEST_F(HttpCallerTest, GarbageAnswerIsBadResponse) {
  TestServer server(
      [](const Seen&) -> std::optional<std::string> { return "SSH-2.0-OpenSSH\r\n\r\n"; });
  Result<HttpAnswer> got = Get({"api.test"}, Url("http", "api.test", server.port()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "bad_response") << got.status().ToString();
}

TEST_F(HttpCallerTest, ProxySettingsAreIgnored) {
  TestServer server([](const Seen& s) { return Reply(200, "direct " + s.target); });
  uint16_t dead = 0;
  ::close(ListenOnLoopback(&dead));
  const std::string proxy = "http://127.0.0.1:" + std::to_string(dead);
  const char* vars[] = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                        "HTTPS_PROXY", "ALL_PROXY",   "all_proxy"};
  for (const char* v : vars) setenv(v, proxy.c_str(), 1);
  Poco::Net::HTTPClientSession::ProxyConfig global;
  global.host = "127.0.0.1";
  global.port = dead;
  Poco::Net::HTTPClientSession::setGlobalProxyConfig(global);
  Result<HttpAnswer> got = Get({"api.test"}, Url("http", "api.test", server.port(), "/x"));
  Poco::Net::HTTPClientSession::setGlobalProxyConfig(Poco::Net::HTTPClientSession::ProxyConfig());
  for (const char* v : vars) unsetenv(v);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->body, "direct /x");
  EXPECT_EQ(server.seen().at(0).target, "/x");  // origin form, not a proxy's absolute form
}

TEST_F(HttpCallerTest, MalformedCallsAreInvalidArgument) {
  HttpCaller caller(EgressPolicy{{"*"}, 0, {}}, resolver_);
  for (const std::string url :
       {"ftp://api.test/", "api.test/x", "http://user:pw@api.test/", "http://api.test/a b",
        "http://[::1/", "http://api.test:99999/", "http://api.test:0/", "http://:80/",
        "http://api%2etest/", "http://api.test/\r\nX: y"}) {
    HttpCall call;
    call.url = url;
    const Status s = caller.Call(call).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url << " " << s.ToString();
  }
  HttpCall call;
  call.url = "http://api.test:1/";
  call.headers = {{"X-A", "a\r\nInjected: yes"}};
  EXPECT_EQ(caller.Call(call).status().code(), StatusCode::kInvalidArgument);
  call.headers = {{"Host", "elsewhere"}};
  EXPECT_EQ(caller.Call(call).status().code(), StatusCode::kInvalidArgument);
  call.headers = {{"Bad Name", "x"}};
  EXPECT_EQ(caller.Call(call).status().code(), StatusCode::kInvalidArgument);
  call.headers = {};
  call.method = "GET /x HTTP/1.1\r\n";
  EXPECT_EQ(caller.Call(call).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpCallerTest, ConcurrentCallsShareOneCaller) {
  TestServer server([](const Seen& s) { return Reply(200, s.target); }, Cert("api"), Key("api"));
  HttpCaller caller(EgressPolicy{{"api.test"}, 0, {}}, resolver_);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      HttpCall call;
      call.url = Url("https", "api.test", server.port(), "/" + std::to_string(i));
      call.ca_bundle_pem = Pem("api");
      Result<HttpAnswer> got = caller.Call(call);
      if (got.ok() && got->body == "/" + std::to_string(i)) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, 6);
}

}  // namespace
}  // namespace cloister::runtime
