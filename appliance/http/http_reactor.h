// The event-driven front of the HTTP server. One reactor thread owns every
// connection that is not being served: it accepts (bounding connections per
// client address, IPv6 clients by their /64), drives TLS handshakes and
// reads whole requests, head and body, without blocking, and keeps idle
// keep-alive connections until their idle timeout. The head must be in
// within the head timeout from accept (or from the first byte of a later
// request); the body then has the body allowance (BodyAllowance). Requests
// that are complete go through a bounded queue to a fixed pool of request
// threads (ServeRequest), which never read from the socket and hand the
// connection back for the next request. A connection that is slow or silent
// therefore holds no request thread, whatever it sends.
//
// The reactor answers by itself, and then closes: 400 for a malformed head
// or chunked body, 413 for a body over the dispatcher's max_body_bytes
// (announced or chunked; without reading it), 431 for an oversized head,
// 503 when the queue is full. It sends "100 Continue" to a client that asks
// for it. It reads at most kReadBudget bytes from one connection before it
// turns to the others and to the deadlines.
//
// Start/Stop from one thread. Stop closes the listeners and idle
// connections, lets requests in progress finish, and joins every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "appliance/core/logging.h"
#include "appliance/core/mutex.h"
#include "appliance/http/dispatcher.h"
#include "appliance/http/http_connection.h"
#include "appliance/http/http_parser.h"
#include "appliance/http/tls_context.h"

namespace cloister {

struct ReactorOptions {
  std::chrono::milliseconds head_timeout{
      5000};  // accept to complete head, and first byte to complete head
  std::chrono::seconds idle_timeout{60};  // a keep-alive connection waiting for its next request
  int max_connections_per_address = 64;   // per AddressKey
  int max_threads = 16;
  int max_queued = 256;  // complete requests waiting for a thread; more get 503
};

// The slowest body upload the reactor waits for, in bytes per second.
inline constexpr uint64_t kMinBodyBytesPerSecond = 64 * 1024;
// The most bytes read from one connection before the reactor turns to others.
inline constexpr size_t kReadBudget = 64 * 1024;

// The time a body of `body_bytes` may take once its head is in:
// max(head_timeout, body_bytes at kMinBodyBytesPerSecond).
std::chrono::milliseconds BodyAllowance(std::chrono::milliseconds head_timeout,
                                        uint64_t body_bytes);

class HttpReactor {
 public:
  // `dispatcher` and `tls` (null when every listener is plain) must outlive
  // the reactor.
  HttpReactor(Dispatcher& dispatcher, const TlsContext* tls, ReactorOptions options);
  ~HttpReactor();
  HttpReactor(const HttpReactor&) = delete;
  HttpReactor& operator=(const HttpReactor&) = delete;

  // Takes ownership of a bound, listening, non-blocking socket; before Start.
  void AddListener(int fd, bool secure);
  // internal on failure to create the epoll set or the threads' wake-up.
  Status Start();
  void Stop();

 private:
  enum class State {
    kHandshake,
    kHead,
    kBody,
    kIdle,
    kLinger,  // refused: the answer is sent, what the client still sends is dropped
  };
  struct Tracked {
    std::unique_ptr<HttpConnection> conn;
    State state;
    Deadline deadline;
    uint32_t events = 0;  // what epoll watches for
    // kBody: the parsed head, the body decoded so far, and the decoder of a
    // chunked one.
    RequestHead head;
    std::string body;
    std::unique_ptr<ChunkedDecoder> chunked;
    uint64_t chunked_wire_bytes = 0;
    std::string out;  // to send before reading on ("100 Continue")
  };
  enum class Step { kGoOn, kDone };  // kDone: the connection left `connections_`
  struct Listener {
    int fd;
    bool secure;
  };
  struct Work {
    std::unique_ptr<HttpConnection> conn;
    RequestHead head;
    std::string body;
  };
  struct Returned {
    std::unique_ptr<HttpConnection> conn;
    bool keep_alive;
  };

  void Run();
  void Worker();
  void Serve(Work& work, bool closing);
  void Accept(const Listener& listener);
  void Track(std::unique_ptr<HttpConnection> conn, State state, Deadline deadline);
  void Advance(int fd);
  Step StartBody(int fd, Tracked& t, size_t head_end);
  Step TakeBody(int fd, Tracked& t);
  Step Flush(int fd, Tracked& t);
  void Linger(int fd, Tracked& t);
  void Watch(Tracked& t, HttpConnection::Io want);
  void SetDeadline(int fd, Tracked& t, Deadline deadline);
  void Dispatch(int fd);
  void Refuse(int fd, const HttpResponse& response, const char* reason);
  void Close(int fd, const char* reason);
  void Release(const std::string& ip);
  void TakeReturned();
  void Expire();
  int NextTimeoutMs() const;
  void Count(const char* reason);
  void Wake();

  Dispatcher& dispatcher_;
  const TlsContext* tls_;
  const ReactorOptions options_;
  std::vector<Listener> listeners_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: returned connections, or Stop
  int spare_fd_ = -1;  // closed to accept-and-drop when out of descriptors

  // Reactor thread only.
  std::unordered_map<int, Tracked> connections_;
  std::set<std::pair<Deadline, int>> deadlines_;
  std::unordered_map<std::string, int>
      per_address_;        // by AddressKey: open connections, the served ones included
  std::vector<int> ready_;  // read their budget and may have more: advanced next round

  Mutex mu_;
  CondVar work_ready_;
  std::deque<Work> work_ CL_GUARDED_BY(mu_);
  std::vector<Returned> returned_ CL_GUARDED_BY(mu_);
  bool stopping_ CL_GUARDED_BY(mu_) = false;

  const Logger logger_{"http"};
  std::thread reactor_;
  std::vector<std::thread> workers_;
};

}  // namespace cloister
