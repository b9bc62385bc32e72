#include "appliance/http/http_reactor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "appliance/http/client_address.h"
#include "appliance/http/http_exchange.h"
#include "appliance/http/http_parser.h"

namespace cloister {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Io = HttpConnection::Io;

// The client's address as text; IPv4-mapped IPv6 addresses as plain IPv4.
std::string PeerIp(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof buf);
  } else if (addr.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    }
  }
  return buf;
}

// How long a refused connection is drained so that its client reads the
// answer rather than a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);

HttpResponse TooLarge(size_t limit) {
  return ErrorResponse(413, "payload_too_large",
                       "request body exceeds the limit of " + std::to_string(limit) + " bytes",
                       {{"limit_bytes", limit}});
}

}  // namespace

std::chrono::milliseconds BodyAllowance(std::chrono::milliseconds head_timeout,
                                        uint64_t body_bytes) {
  const auto at_min_rate = std::chrono::milliseconds(body_bytes * 1000 / kMinBodyBytesPerSecond);
  return std::max(head_timeout, at_min_rate);
}

HttpReactor::HttpReactor(Dispatcher& dispatcher, const TlsContext* tls, ReactorOptions options)
    : dispatcher_(dispatcher), tls_(tls), options_(options) {}

HttpReactor::~HttpReactor() {
  Stop();
  for (const Listener& l : listeners_) ::close(l.fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void HttpReactor::AddListener(int fd, bool secure) { listeners_.push_back({fd, secure}); }

Status HttpReactor::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    return Status::Internal("cannot create the HTTP reactor's epoll set");
  std::vector<int> fds = {wake_fd_};
  for (const Listener& l : listeners_) fds.push_back(l.fd);
  for (int fd : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
      return Status::Internal("cannot watch a listening socket");
  }
  reactor_ = std::thread([this] { Run(); });
  for (int i = 0; i < options_.max_threads; ++i) workers_.emplace_back([this] { Worker(); });
  return Status::Ok();
}

void HttpReactor::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (reactor_.joinable()) {
    Wake();
    reactor_.join();
  }
  work_ready_.NotifyAll();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  MutexLock lock(mu_);
  returned_.clear();
}

void HttpReactor::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void HttpReactor::Count(const char* reason) {
  dispatcher_.metrics().Increment("cloister_http_connections_closed_total", {{"reason", reason}});
}

void HttpReactor::Run() {
  std::vector<epoll_event> events(256);
  std::vector<int> ready;
  for (;;) {
    // Connections that used their read budget go on without waiting.
    ready.swap(ready_);
    ready_.clear();
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                             ready.empty() ? NextTimeoutMs() : 0);
    if (n < 0 && errno != EINTR) break;
    for (int fd : ready) {
      if (connections_.count(fd)) Advance(fd);
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &count, sizeof count);
        TakeReturned();
        continue;
      }
      bool listener = false;
      for (const Listener& l : listeners_) {
        if (l.fd == fd) {
          Accept(l);
          listener = true;
        }
      }
      if (!listener && connections_.count(fd)) Advance(fd);
    }
    {
      MutexLock lock(mu_);
      if (stopping_) break;
    }
    Expire();
  }
  // Stopping: refuse new connections and drop the idle and unfinished ones;
  // the request threads finish what they hold.
  for (const Listener& l : listeners_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
  connections_.clear();
  deadlines_.clear();
  ready_.clear();
}

int HttpReactor::NextTimeoutMs() const {
  if (deadlines_.empty()) return 1000;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadlines_.begin()->first - SteadyClock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 1000));
}

void HttpReactor::Accept(const Listener& listener) {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: take the connection with the spare one and
        // close it, so the listener does not stay readable forever.
        ::close(spare_fd_);
        const int dropped = accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (dropped >= 0) ::close(dropped);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        Count("fd_limit");
        if (dropped >= 0) continue;
      }
      return;  // EAGAIN: all accepted
    }
    const std::string ip = PeerIp(addr);
    int& open = per_address_[AddressKey(ip)];
    if (open >= options_.max_connections_per_address) {
      ::close(fd);
      Count("per_address_limit");
      continue;
    }
    ++open;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = nullptr;
    if (listener.secure) {
      ssl = SSL_new(tls_->get());
      if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        ::close(fd);
        Release(ip);
        continue;
      }
      SSL_set_accept_state(ssl);
    }
    Track(std::make_unique<HttpConnection>(fd, ssl, ip),
          listener.secure ? State::kHandshake : State::kHead,
          SteadyClock::now() + options_.head_timeout);
  }
}

void HttpReactor::Track(std::unique_ptr<HttpConnection> conn, State state, Deadline deadline) {
  const int fd = conn->fd();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    Release(conn->remote_ip());
    return;  // conn closes here
  }
  Tracked& t = connections_[fd];
  t = Tracked{};
  t.conn = std::move(conn);
  t.state = state;
  t.deadline = deadline;
  t.events = EPOLLIN;
  deadlines_.insert({deadline, fd});
}

void HttpReactor::SetDeadline(int fd, Tracked& t, Deadline deadline) {
  deadlines_.erase({t.deadline, fd});
  t.deadline = deadline;
  deadlines_.insert({deadline, fd});
}

void HttpReactor::Advance(int fd) {
  Tracked& t = connections_.at(fd);
  if (t.state == State::kLinger) return Linger(fd, t);
  if (t.state == State::kHandshake) {
    const Io io = t.conn->Handshake();
    if (io == Io::kWantRead || io == Io::kWantWrite) return Watch(t, io);
    if (io != Io::kOk) return Close(fd, nullptr);
    t.state = State::kHead;
  }
  size_t budget = kReadBudget;
  for (;;) {
    if (t.state == State::kHead) {
      size_t head_end = 0;
      const HeadScan scan = ScanHead(t.conn->input(), &head_end);
      if (scan == HeadScan::kTooLarge) {
        return Refuse(fd,
                      ErrorResponse(431, "header_too_large",
                                    "the request head is larger than " +
                                        std::to_string(kMaxHeadBytes) + " bytes"),
                      "header_too_large");
      }
      if (scan == HeadScan::kComplete && StartBody(fd, t, head_end) == Step::kDone) return;
    }
    if (t.state == State::kBody && TakeBody(fd, t) == Step::kDone) return;
    if (!t.out.empty() && Flush(fd, t) == Step::kDone) return;
    if (!t.out.empty()) return;  // waiting to write
    if (budget == 0) {
      // Fair share used: the others and the deadlines come first.
      ready_.push_back(fd);
      return;
    }
    const size_t before = t.conn->input().size();
    const Io io = t.conn->ReadSome(std::min<size_t>(budget, 16384));
    if (io == Io::kOk) {
      budget -= std::min(budget, t.conn->input().size() - before);
      if (t.state == State::kIdle) {
        t.state = State::kHead;
        SetDeadline(fd, t, SteadyClock::now() + options_.head_timeout);
      }
      continue;
    }
    if (io == Io::kWantRead || io == Io::kWantWrite) return Watch(t, io);
    return Close(fd, nullptr);
  }
}

HttpReactor::Step HttpReactor::StartBody(int fd, Tracked& t, size_t head_end) {
  std::string& input = t.conn->input();
  auto head = ParseRequestHead(std::string_view(input).substr(0, head_end));
  if (!head.ok()) {
    Refuse(fd, ErrorResponse(400, "malformed_request", head.status().message()), nullptr);
    return Step::kDone;
  }
  input.erase(0, head_end);
  t.head = std::move(head).value();
  t.body.clear();
  t.chunked.reset();
  t.chunked_wire_bytes = 0;
  t.state = State::kBody;
  const size_t limit = dispatcher_.options().max_body_bytes;
  uint64_t expected = 0;
  if (t.head.chunked) {
    t.chunked = std::make_unique<ChunkedDecoder>();
    expected = limit;
  } else if (t.head.content_length) {
    if (*t.head.content_length > limit) {
      // Refused before a byte of it is read, "100 Continue" or not.
      Refuse(fd, TooLarge(limit), "body_too_large");
      return Step::kDone;
    }
    expected = *t.head.content_length;
  }
  if (expected == 0) return Step::kGoOn;
  SetDeadline(fd, t, SteadyClock::now() + BodyAllowance(options_.head_timeout, expected));
  if (t.head.expect_continue && t.head.minor_version == 1 && input.empty()) {
    t.out = "HTTP/1.1 100 Continue\r\n\r\n";
  }
  return Step::kGoOn;
}

HttpReactor::Step HttpReactor::TakeBody(int fd, Tracked& t) {
  std::string& input = t.conn->input();
  const size_t limit = dispatcher_.options().max_body_bytes;
  if (t.chunked) {
    auto used = t.chunked->Feed(input, &t.body);
    if (!used.ok()) {
      Refuse(fd, ErrorResponse(400, "malformed_request", used.status().message()), nullptr);
      return Step::kDone;
    }
    input.erase(0, *used);
    t.chunked_wire_bytes += *used;
    // The framing around the data is bounded too (chunk extensions).
    if (t.body.size() > limit || t.chunked_wire_bytes > 2 * static_cast<uint64_t>(limit) + kReadBudget) {
      Refuse(fd, TooLarge(limit), "body_too_large");
      return Step::kDone;
    }
    if (!t.chunked->done()) return Step::kGoOn;
  } else {
    const auto length = static_cast<size_t>(t.head.content_length.value_or(0));
    if (input.size() < length) return Step::kGoOn;
    t.body = input.substr(0, length);
    input.erase(0, length);
  }
  Dispatch(fd);
  return Step::kDone;
}

HttpReactor::Step HttpReactor::Flush(int fd, Tracked& t) {
  size_t written = 0;
  const Io io = t.conn->WriteSome(t.out, &written);
  if (io == Io::kOk) {
    t.out.erase(0, written);
    if (!t.out.empty()) Watch(t, Io::kWantWrite);
    return Step::kGoOn;
  }
  if (io == Io::kWantRead || io == Io::kWantWrite) {
    Watch(t, io);
    return Step::kGoOn;
  }
  Close(fd, nullptr);
  return Step::kDone;
}

void HttpReactor::Linger(int fd, Tracked& t) {
  const Io io = t.conn->Discard(kReadBudget);
  if (io == Io::kOk) {
    ready_.push_back(fd);
    return;
  }
  if (io == Io::kWantRead) return Watch(t, io);
  Close(fd, nullptr);
}

void HttpReactor::Watch(Tracked& t, Io want) {
  const uint32_t events = want == Io::kWantWrite ? EPOLLOUT : EPOLLIN;
  if (events == t.events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = t.conn->fd();
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, t.conn->fd(), &ev) == 0) t.events = events;
}

void HttpReactor::Dispatch(int fd) {
  {
    MutexLock lock(mu_);
    if (work_.size() >= static_cast<size_t>(options_.max_queued)) {
      lock.Unlock();
      return Refuse(fd,
                    ErrorResponse(503, "overloaded", "too many requests are waiting; retry later"),
                    "queue_full");
    }
    Tracked& t = connections_.at(fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    deadlines_.erase({t.deadline, fd});
    work_.push_back({std::move(t.conn), std::move(t.head), std::move(t.body)});
  }
  connections_.erase(fd);
  work_ready_.NotifyOne();
}

void HttpReactor::Refuse(int fd, const HttpResponse& response, const char* reason) {
  Tracked& t = connections_.at(fd);
  const std::string bytes = ResponseBytesForClose(response);
  size_t written = 0;
  t.conn->WriteSome(bytes, &written);  // once, without waiting: the connection closes anyway
  if (reason) Count(reason);
  // Drop what the client still sends (a body it was already writing) for a
  // moment, so that closing does not reset the connection before it reads
  // the answer.
  t.conn->EndOutput();
  t.conn->input().clear();
  t.out.clear();
  t.body.clear();
  t.chunked.reset();
  t.state = State::kLinger;
  SetDeadline(fd, t, SteadyClock::now() + kLingerTime);
  Watch(t, Io::kWantRead);
}

void HttpReactor::Close(int fd, const char* reason) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  deadlines_.erase({it->second.deadline, fd});
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  Release(it->second.conn->remote_ip());
  connections_.erase(it);
  if (reason) Count(reason);
}

void HttpReactor::Release(const std::string& ip) {
  auto it = per_address_.find(AddressKey(ip));
  if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
}

void HttpReactor::TakeReturned() {
  std::vector<Returned> returned;
  {
    MutexLock lock(mu_);
    returned.swap(returned_);
  }
  for (Returned& r : returned) {
    if (!r.keep_alive) {
      Release(r.conn->remote_ip());
      continue;  // r.conn closes with `returned`
    }
    const int fd = r.conn->fd();
    // Bytes already read belong to the next request: its head deadline runs.
    const bool pipelined = !r.conn->input().empty();
    Track(
        std::move(r.conn), pipelined ? State::kHead : State::kIdle,
        SteadyClock::now() +
            (pipelined ? std::chrono::duration_cast<SteadyClock::duration>(options_.head_timeout)
                       : std::chrono::duration_cast<SteadyClock::duration>(options_.idle_timeout)));
    // TLS may hold decrypted bytes epoll cannot see: look now.
    if (connections_.count(fd)) Advance(fd);
  }
}

void HttpReactor::Expire() {
  const auto now = SteadyClock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const int fd = deadlines_.begin()->second;
    const auto it = connections_.find(fd);
    if (it == connections_.end()) {
      deadlines_.erase(deadlines_.begin());
      continue;
    }
    const State state = it->second.state;
    Close(fd, state == State::kIdle || state == State::kLinger ? nullptr
              : state == State::kBody                          ? "body_timeout"
                                                               : "head_timeout");
  }
}

void HttpReactor::Worker() {
  for (;;) {
    Work work;
    bool closing;
    {
      MutexLock lock(mu_);
      while (!stopping_ && work_.empty()) work_ready_.Wait(lock);
      if (work_.empty()) return;
      work = std::move(work_.front());
      work_.pop_front();
      closing = stopping_;
    }
    Serve(work, closing);
  }
}

void HttpReactor::Serve(Work& work, bool closing) {
  std::unique_ptr<HttpConnection>& conn = work.conn;
  const uint64_t written_before = conn->bytes_written();
  bool keep_alive = false;
  const char* failure = nullptr;
  std::string what;
  try {
    keep_alive = ServeRequest(*conn, work.head, std::move(work.body), dispatcher_, closing);
  } catch (const std::exception& e) {
    failure = "threw";
    what = e.what();
  } catch (...) {
    failure = "threw a non-standard exception";
  }
  if (failure) {
    // One request's fault ends its connection, never the process.
    logger_.Error(std::string("request ") + work.head.method + " from " + conn->remote_ip() + " " +
                  failure + (what.empty() ? "" : ": " + what) + "; connection closed");
    if (conn->bytes_written() == written_before) {
      try {
        conn->WriteAll(ResponseBytesForClose(ErrorResponse(
                           500, "internal", "internal error; see the server log")),
                       SteadyClock::now() + std::chrono::seconds(5));
      } catch (...) {
      }
    }
    keep_alive = false;
  }
  {
    MutexLock lock(mu_);
    if (!stopping_) returned_.push_back({std::move(conn), keep_alive});
  }
  if (!conn) Wake();
}

}  // namespace cloister
