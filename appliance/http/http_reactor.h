// The event-driven front of the HTTP server. One reactor thread owns every
// connection that is not being served: it accepts (bounding connections per
// client address), drives TLS handshakes and reads request heads without
// blocking, all under one deadline from accept (the head timeout), and keeps
// idle keep-alive connections until their idle timeout. Connections whose
// head is complete go through a bounded queue to a fixed pool of request
// threads (ServeRequest), which hand them back for the next request. A
// connection that is slow or silent therefore holds no request thread.
//
// Start/Stop from one thread. Stop closes the listeners and idle
// connections, lets requests in progress finish, and joins every thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "appliance/http/dispatcher.h"
#include "appliance/http/http_connection.h"
#include "appliance/http/tls_context.h"

namespace cloister {

struct ReactorOptions {
  std::chrono::milliseconds head_timeout{
      5000};  // accept to complete head, and first byte to complete head
  std::chrono::seconds idle_timeout{60};  // a keep-alive connection waiting for its next request
  int max_connections_per_address = 64;
  int max_threads = 16;
  int max_queued = 256;  // complete requests waiting for a thread; more get 503
};

// Bodies up to this size are read by the reactor, under the head deadline,
// before the request reaches a thread: a client dribbling a small body holds
// no thread either. Larger and chunked bodies are read by the request thread.
inline constexpr size_t kReactorBodyBytes = 64 * 1024;

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
  enum class State { kHandshake, kHead, kIdle };
  struct Tracked {
    std::unique_ptr<HttpConnection> conn;
    State state;
    Deadline deadline;
    uint32_t events = 0;  // what epoll watches for
    size_t wanted =
        0;  // once the head is in: the bytes of head and small body to read before dispatch
  };
  struct Listener {
    int fd;
    bool secure;
  };
  struct Returned {
    std::unique_ptr<HttpConnection> conn;
    bool keep_alive;
  };

  void Run();
  void Worker();
  void Accept(const Listener& listener);
  void Track(std::unique_ptr<HttpConnection> conn, State state, Deadline deadline);
  void Advance(int fd);
  void Watch(Tracked& t, HttpConnection::Io want);
  void SetDeadline(int fd, Tracked& t, Deadline deadline);
  void Dispatch(int fd);
  void Refuse(int fd, int status, const std::string& code, const std::string& message,
              const char* reason);
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
  std::unordered_map<std::string, int> per_address_;  // open connections, the served ones included

  std::mutex mu_;  // guards the three members below
  std::condition_variable work_ready_;
  std::deque<std::unique_ptr<HttpConnection>> work_;
  std::vector<Returned> returned_;
  bool stopping_ = false;

  std::thread reactor_;
  std::vector<std::thread> workers_;
};

}  // namespace cloister
