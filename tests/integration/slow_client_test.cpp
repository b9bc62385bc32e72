// Slow and silent clients against the real cloisterd: connections that send
// nothing, handshake one byte at a time, dribble a request head or body, or
// send blank lines at full speed hold no request thread and are closed,
// while other clients are answered; connections per client address are
// bounded; oversized bodies are refused before they are read. Also the wire
// behaviour of the server's own HTTP parsing: pipelining, chunked bodies,
// oversized and malformed heads.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <atomic>
#include <memory>
#include <thread>

#include "tests/integration/appliance_server.h"

namespace cloister {
namespace {

using testing::ApplianceServer;
using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// A TCP connection to 127.0.0.1:port from the loopback address `source`;
// -1 on failure.
int ConnectFrom(const std::string& source, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True when the server closes `fd` (end of stream or reset) within `wait`;
// whatever it sends first (a TLS alert) is skipped.
bool ClosedByServer(int fd, Ms wait) {
  const auto until = SteadyClock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<Ms>(until - SteadyClock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0))) <= 0) return false;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
}

// A TLS client on a raw socket, for what ApiClient cannot send.
class RawTls {
 public:
  RawTls(const std::string& source, uint16_t port) : fd_(ConnectFrom(source, port)) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (fd_ < 0 || !ctx_) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~RawTls() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  int fd() const { return fd_; }
  bool Write(const std::string& data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) > 0;
  }
  // Everything the server sends until it closes the connection (or 10 s pass).
  std::string ReadToClose() {
    std::string out;
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (int n; (n = SSL_read(ssl_, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fd_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

// The bytes of a TLS ClientHello, to send one at a time.
std::string ClientHello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_connect(ssl);  // wants the server's answer; the hello is in `out`
  char* data = nullptr;
  const long len = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<size_t>(std::max<long>(len, 0)));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class SlowClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Writes to connections the server closed must fail, not kill the test.
    previous_sigpipe_ = std::signal(SIGPIPE, SIG_IGN);
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
  }
  void TearDown() override { std::signal(SIGPIPE, previous_sigpipe_); }

  void Boot(const std::string& listener_yaml) {
    testing::WriteText(dir_.File("cloister.yaml"), "listener:\n" + listener_yaml);
    ASSERT_TRUE(server_.Start());
    const ApiResponse init =
        testing::Call(server_, "POST", "/v1/sys/init", {{"key_file", dir_.File("unseal.key")}});
    ASSERT_EQ(init.status, 200) << init.body;
    token_ = init.json()["initial_admin_token"];
    ASSERT_EQ(testing::Call(server_, "POST", "/v1/sys/unseal").status, 200);
  }

  // The time one health call takes, or 1 h when it fails.
  Ms TimedHealth() {
    const auto start = SteadyClock::now();
    ClientOptions options = server_.Client();
    options.timeout_seconds = 3;  // keeps the test short when the server does not answer
    ApiClient client(options);
    auto r = client.Send("GET", "/v1/sys/health");
    if (!r.ok() || r->status != 200) return Ms(3600 * 1000);
    return std::chrono::duration_cast<Ms>(SteadyClock::now() - start);
  }

  double ClosedCount(const std::string& reason) {
    const ApiResponse metrics = testing::Call(server_, "GET", "/metrics", nullptr, token_);
    const std::string series = "cloister_http_connections_closed_total{reason=\"" + reason + "\"} ";
    const size_t at = metrics.body.find(series);
    return at == std::string::npos ? 0 : std::stod(metrics.body.substr(at + series.size()));
  }

  testing::TempDir dir_;
  ApplianceServer server_{dir_.File("data"), dir_.File("cloister.yaml")};
  std::string token_;
  void (*previous_sigpipe_)(int) = SIG_DFL;
};

TEST_F(SlowClientTest, FiveHundredSlowConnectionsDoNotStopHealthChecks) {
  constexpr int kHeadTimeoutMs = 2000;
  Boot("  head_timeout_ms: " + std::to_string(kHeadTimeoutMs) + "\n");
  const uint16_t port = server_.port();
  // 25 source addresses, 20 connections each: under the per-address bound.
  auto source = [](int i) { return "127.0.0." + std::to_string(10 + i % 25); };

  // 200 that complete TLS and then dribble a request head that never ends,
  // or a complete head and then its body,
  std::vector<std::unique_ptr<RawTls>> dribbling_heads;
  for (int i = 0; i < 200; ++i) {
    dribbling_heads.push_back(std::make_unique<RawTls>(source(i), port));
    ASSERT_TRUE(dribbling_heads.back()->ok()) << i;
    ASSERT_TRUE(dribbling_heads.back()->Write(
        i % 2 ? "GET /v1/sys/health HTTP/1.1\r\n"
              : "POST /v1/sys/unseal HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n"));
  }
  // 150 that send nothing, and 150 that send a ClientHello one byte at a time.
  std::vector<int> silent, dribbling_hellos;
  for (int i = 0; i < 150; ++i) {
    silent.push_back(ConnectFrom(source(i), port));
    dribbling_hellos.push_back(ConnectFrom(source(i + 7), port));
    ASSERT_GE(silent.back(), 0);
    ASSERT_GE(dribbling_hellos.back(), 0);
  }
  const auto attack_started = SteadyClock::now();
  const std::string hello = ClientHello();
  ASSERT_GT(hello.size(), 100u);

  // Keep dribbling past the head timeout while a normal client checks health.
  Ms slowest{0};
  int health_calls = 0;
  size_t sent = 0;
  for (auto next_byte = SteadyClock::now();
       SteadyClock::now() - attack_started < Ms(kHeadTimeoutMs + 1500);) {
    if (SteadyClock::now() >= next_byte) {
      for (int fd : dribbling_hellos) send(fd, hello.data() + sent, 1, MSG_NOSIGNAL);
      for (auto& c : dribbling_heads) c->Write("X");
      ++sent;
      next_byte += Ms(500);
    }
    slowest = std::max(slowest, TimedHealth());
    ++health_calls;
    std::this_thread::sleep_for(Ms(50));
  }
  EXPECT_LT(slowest.count(), 1000)
      << "the slowest of " << health_calls << " health calls during the attack";
  RecordProperty("slowest_health_ms", static_cast<int>(slowest.count()));
  RecordProperty("health_calls", health_calls);
  std::cout << "health calls during the attack: " << health_calls << ", slowest " << slowest.count()
            << " ms\n";

  // Every slow connection was closed at the head timeout, though it kept sending.
  int still_open = 0;
  for (int fd : silent) still_open += !ClosedByServer(fd, Ms(500));
  for (int fd : dribbling_hellos) still_open += !ClosedByServer(fd, Ms(500));
  for (auto& c : dribbling_heads) still_open += !ClosedByServer(c->fd(), Ms(500));
  EXPECT_EQ(still_open, 0);
  EXPECT_GE(ClosedCount("head_timeout") + ClosedCount("body_timeout"), 500);
  for (int fd : silent) close(fd);
  for (int fd : dribbling_hellos) close(fd);
}

TEST_F(SlowClientTest, BlankLinesAtFullSpeedNeitherFreezeTheServerNorGrowWithoutLimit) {
  Boot("");
  // A client sending nothing but CRLFs, as fast as it can: empty lines
  // before a request line are allowed, but count toward the head limit.
  auto flood = std::make_unique<RawTls>("127.0.0.60", server_.port());
  ASSERT_TRUE(flood->ok());
  std::atomic<bool> stop{false};
  std::atomic<bool> refused{false};
  std::atomic<int64_t> sent{0};
  std::thread sender([&] {
    std::string crlfs;
    while (crlfs.size() < 16384) crlfs += "\r\n";
    const auto started = SteadyClock::now();
    while (!stop && SteadyClock::now() - started < Ms(8000)) {
      if (!flood->Write(crlfs)) {
        refused = true;  // the server closed the connection
        return;
      }
      sent += static_cast<int64_t>(crlfs.size());
    }
  });
  Ms slowest{0};
  for (int i = 0; i < 10; ++i) {
    slowest = std::max(slowest, TimedHealth());
    std::this_thread::sleep_for(Ms(100));
  }
  stop = true;
  sender.join();
  EXPECT_LT(slowest.count(), 1000) << "the slowest health call while one client sent blank lines";
  EXPECT_TRUE(refused || ClosedByServer(flood->fd(), Ms(3000)))
      << "the connection sending only blank lines is still open after " << sent << " bytes";
  EXPECT_GE(ClosedCount("header_too_large"), 1);
}

TEST_F(SlowClientTest, TricklingBodiesBeforeAuthenticationHoldNoRequestThread) {
  Boot("");
  // More connections than request threads (16), each with a complete head
  // announcing a large body (or a chunked one) for the login route, then
  // trickling the body: nothing is authenticated before the body is in.
  std::vector<std::unique_ptr<RawTls>> tricklers;
  for (int i = 0; i < 20; ++i) {
    tricklers.push_back(
        std::make_unique<RawTls>("127.0.0." + std::to_string(70 + i % 5), server_.port()));
    ASSERT_TRUE(tricklers.back()->ok()) << i;
    const bool chunked = i % 4 == 0;
    const bool expect = i % 4 == 1;
    ASSERT_TRUE(tricklers.back()->Write(
        std::string("POST /v1/auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n") +
        (chunked ? "Transfer-Encoding: chunked\r\n\r\nf4240\r\n"
                 : std::string("Content-Length: 1000000\r\n") +
                       (expect ? "Expect: 100-continue\r\n" : "") + "\r\n")));
  }
  const auto started = SteadyClock::now();
  Ms slowest{0};
  int health_calls = 0;
  for (auto next_byte = SteadyClock::now(); SteadyClock::now() - started < Ms(4000);) {
    if (SteadyClock::now() >= next_byte) {
      for (auto& c : tricklers) c->Write("{");
      next_byte += Ms(500);
    }
    slowest = std::max(slowest, TimedHealth());
    ++health_calls;
    std::this_thread::sleep_for(Ms(50));
  }
  EXPECT_LT(slowest.count(), 1000) << "the slowest of " << health_calls
                                   << " health calls while 20 clients trickled bodies";
  // The tricklers are within their body allowance (1 MB at 64 KiB/s: 15 s).
  for (auto& c : tricklers) EXPECT_FALSE(ClosedByServer(c->fd(), Ms(0)));
}

TEST_F(SlowClientTest, AnOversizedContentLengthIs413BeforeTheBodyIsRead) {
  Boot("");
  for (const std::string expect : {"", "Expect: 100-continue\r\n"}) {
    RawTls c("127.0.0.1", server_.port());
    ASSERT_TRUE(c.ok());
    // The head alone: an answer that waits for the body never comes.
    ASSERT_TRUE(
        c.Write("POST /v1/auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                "Content-Length: 1048577\r\n" +
                expect + "\r\n"));
    const auto started = SteadyClock::now();
    const std::string answer = c.ReadToClose();
    EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << expect << "-> " << answer;
    EXPECT_NE(answer.find("payload_too_large"), std::string::npos) << answer;
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << answer;
    EXPECT_LT(SteadyClock::now() - started, Ms(1000));
  }
  // A chunked body is refused as soon as it passes the limit.
  RawTls c("127.0.0.1", server_.port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Write(
      "POST /v1/auth/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n100001\r\n" +
      std::string(0x100001, ' ')));
  const std::string answer = c.ReadToClose();
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  EXPECT_GE(ClosedCount("body_too_large"), 3);
  EXPECT_EQ(testing::Call(server_, "GET", "/v1/sys/health").status, 200);
}

TEST_F(SlowClientTest, ConnectionsPerAddressAreBounded) {
  Boot("  max_connections_per_address: 8\n");
  const uint16_t port = server_.port();
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) held.push_back(ConnectFrom("127.0.0.50", port));
  for (int fd : held) ASSERT_GE(fd, 0);
  // The ninth and tenth from the same address are closed at once.
  for (int i = 0; i < 2; ++i) {
    const int extra = ConnectFrom("127.0.0.50", port);
    ASSERT_GE(extra, 0);
    EXPECT_TRUE(ClosedByServer(extra, Ms(2000)))
        << "connection " << 9 + i << " from one address was kept";
    close(extra);
  }
  for (int fd : held) EXPECT_FALSE(ClosedByServer(fd, Ms(0)));
  // Other addresses are served meanwhile.
  RawTls other("127.0.0.51", port);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other.Write("GET /v1/sys/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(other.ReadToClose().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(testing::Call(server_, "GET", "/v1/sys/health").status, 200);
  EXPECT_GE(ClosedCount("per_address_limit"), 2);

  // A closed connection frees its place.
  close(held.back());
  held.pop_back();
  std::this_thread::sleep_for(Ms(300));
  const int again = ConnectFrom("127.0.0.50", port);
  EXPECT_FALSE(ClosedByServer(again, Ms(500)));
  close(again);
  for (int fd : held) close(fd);
}

TEST_F(SlowClientTest, PipelinedRequestsAreAnsweredInOrder) {
  Boot("");
  RawTls c("127.0.0.1", server_.port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Write(
      "GET /v1/sys/health HTTP/1.1\r\nHost: a\r\nX-Request-Id: first\r\n\r\n"
      "GET /v1/nothing HTTP/1.1\r\nHost: a\r\nX-Request-Id: second\r\nConnection: close\r\n\r\n"));
  const std::string answers = c.ReadToClose();
  const size_t first = answers.find("HTTP/1.1 200 OK\r\n");
  const size_t second = answers.find("HTTP/1.1 404 Not Found\r\n");
  ASSERT_NE(first, std::string::npos) << answers;
  ASSERT_NE(second, std::string::npos) << answers;
  EXPECT_LT(first, second);
  EXPECT_LT(answers.find("first"), answers.find("second"));
  EXPECT_EQ(CountOf(answers, "Connection: close\r\n"), 1u);
}

TEST_F(SlowClientTest, ChunkedBodiesAreDecoded) {
  Boot("");
  RawTls c("127.0.0.1", server_.port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Write("POST /v1/sys/seal HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + token_ +
                      "\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                      "chunked\r\nConnection: close\r\n\r\n"
                      "6\r\n{\"forc\r\n8;x=y\r\ne\":true}\r\n0\r\n\r\n"));
  const std::string answer = c.ReadToClose();
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("force"), std::string::npos) << answer;
}

TEST_F(SlowClientTest, MalformedAndOversizedHeadsAreRefused) {
  Boot("");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET /v1/sys/health HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       "HTTP/1.1 400 "},
      {"GET /v1/sys/health HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n", "HTTP/1.1 400 "},
      {"POST /v1/sys/unseal HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "HTTP/1.1 400 "},
      {"GET /v1/sys/health HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'a'),
       "HTTP/1.1 431 "},
  };
  for (const auto& [request, expected] : cases) {
    RawTls c("127.0.0.1", server_.port());
    ASSERT_TRUE(c.ok());
    c.Write(request);
    const std::string answer = c.ReadToClose();
    EXPECT_EQ(answer.rfind(expected, 0), 0u) << request.substr(0, 120) << "\n-> " << answer;
  }
  EXPECT_EQ(testing::Call(server_, "GET", "/v1/sys/health").status, 200);
}

}  // namespace
}  // namespace cloister
