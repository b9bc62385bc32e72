#include "appliance/http/http_reactor.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "tests/support/test_support.h"

namespace cloister {
namespace {

using Ms = std::chrono::milliseconds;

// A gate whose authentication throws: an exception that escapes the
// dispatcher (handlers' own exceptions are caught there).
class ThrowingGate final : public RequestGate {
 public:
  bool Sealed() const override { return false; }
  Result<Principal> Authenticate(const HttpRequest&, const Credentials&) override {
    throw std::runtime_error("authentication blew up");
  }
  Status Authorize(HttpRequest&, const Route&) override { return Status::Ok(); }
};

// A plain-HTTP reactor on a loopback port with a few routes.
class HttpReactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DescribeHttpMetrics(metrics_);
    router_.Add({"GET", "/open", Access::kPublic, true, [](HttpRequest&) -> Result<HttpResponse> {
                   return HttpResponse::FromJson(200, {{"ok", true}});
                 }});
    router_.Add({"GET", "/secret", Access::kAuthenticated, true,
                 [](HttpRequest&) -> Result<HttpResponse> {
                   return HttpResponse::FromJson(200, {{"ok", true}});
                 }});
    router_.Add({"GET", "/download", Access::kPublic, true, [](HttpRequest&) -> Result<HttpResponse> {
                   HttpResponse r;
                   r.content_type = "application/octet-stream";
                   r.body_file = "/nonexistent/cloister/backup.tar";
                   return r;
                 }});
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(fd, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ReactorOptions options;
    options.max_threads = 2;
    reactor_ = std::make_unique<HttpReactor>(dispatcher_, nullptr, options);
    reactor_->AddListener(fd, false);
    ASSERT_TRUE(reactor_->Start().ok());
  }
  void TearDown() override { reactor_.reset(); }

  int Connect() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  // What the server sends until it closes the connection; `*closed` false
  // when it was still open after `wait`.
  static std::string ReadUntilClosed(int fd, Ms wait, bool* closed) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + wait;
    *closed = false;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<Ms>(until - std::chrono::steady_clock::now()).count();
      pollfd p{fd, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return out;
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        *closed = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  std::string Exchange(const std::string& request, bool* closed) {
    const int fd = Connect();
    EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string answer = ReadUntilClosed(fd, Ms(3000), closed);
    close(fd);
    return answer;
  }

  Router router_;
  ThrowingGate gate_;
  Metrics metrics_;
  SystemRandom random_;
  testing::ManualClock clock_;
  Dispatcher dispatcher_{router_, gate_, metrics_, random_, clock_, Logger("test"), {1024}};
  std::unique_ptr<HttpReactor> reactor_;
  uint16_t port_ = 0;
};

TEST_F(HttpReactorTest, ARequestThatThrowsIsAnswered500AndTheProcessLives) {
  bool closed = false;
  const std::string answer =
      Exchange("GET /secret HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\n", &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 500 ", 0), 0u) << answer;
  EXPECT_TRUE(closed) << "a connection whose request threw is closed";
  // Both request threads still serve.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Exchange("GET /open HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &closed)
                  .rfind("HTTP/1.1 200 OK\r\n", 0),
              0u);
  }
}

TEST_F(HttpReactorTest, AnUnreadableBodyFileAnswers500AndClosesTheConnection) {
  bool closed = false;
  // Keep-alive asked for: the 500 says Connection: close, and the server closes.
  const std::string answer = Exchange("GET /download HTTP/1.1\r\nHost: a\r\n\r\n", &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 500 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(closed) << "the connection stayed open after a response that said close";
}

TEST_F(HttpReactorTest, BodyAllowanceIsTheHeadTimeoutOrTheBodyAtTheMinimumRate) {
  EXPECT_EQ(BodyAllowance(Ms(5000), 0), Ms(5000));
  EXPECT_EQ(BodyAllowance(Ms(5000), 64 * 1024), Ms(5000));
  EXPECT_EQ(BodyAllowance(Ms(5000), 1 << 20), Ms(16000));
}

TEST_F(HttpReactorTest, ABodyOverTheLimitIs413BeforeAnyOfItIsSent) {
  bool closed = false;
  const std::string answer = Exchange(
      "POST /open HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Content-Length: 1025\r\n\r\n",
      &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(closed);
}

TEST_F(HttpReactorTest, ExpectContinueIsAnsweredByTheReactor) {
  const int fd = Connect();
  const std::string head =
      "POST /open HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Expect: 100-continue\r\nConnection: close\r\n\r\n";
  send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  char buf[64] = {};
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 3000), 1);
  const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))),
            "HTTP/1.1 100 Continue\r\n\r\n");
  send(fd, "{}", 2, MSG_NOSIGNAL);
  bool closed = false;
  const std::string answer = ReadUntilClosed(fd, Ms(3000), &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 405 ", 0), 0u) << answer;  // /open is GET only
  close(fd);

  // An oversized one gets 413 instead of 100 Continue.
  const std::string big =
      "POST /open HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n";
  EXPECT_EQ(Exchange(big, &closed).rfind("HTTP/1.1 413 ", 0), 0u);
}

}  // namespace
}  // namespace cloister
