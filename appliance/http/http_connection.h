// One accepted client connection, plain TCP or TLS, on a non-blocking
// socket: the bytes read but not yet consumed, the non-blocking steps the
// reactor drives (handshake, read what is there), and the deadline-bounded
// reads and writes a request thread uses.
//
// Not thread-safe: owned by exactly one thread at a time (the reactor, or
// the request thread it handed the connection to). Closes the socket when
// destroyed.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloister {

using Deadline = std::chrono::steady_clock::time_point;

class HttpConnection {
 public:
  enum class Io {
    kOk,         // progress was made
    kWantRead,   // wait until the socket is readable, then call again
    kWantWrite,  // wait until the socket is writable, then call again
    kClosed,     // the peer closed the connection
    kError,      // a socket or TLS error; the connection is unusable
  };

  // Takes ownership of `fd` (non-blocking) and of `ssl` (null for plain
  // HTTP; otherwise already attached to `fd` in accept state).
  HttpConnection(int fd, SSL* ssl, std::string remote_ip);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  int fd() const { return fd_; }
  bool secure() const { return ssl_ != nullptr; }
  const std::string& remote_ip() const { return remote_ip_; }
  bool handshake_done() const { return handshake_done_; }
  // Bytes received and not yet consumed (the start of the next request).
  std::string& input() { return input_; }

  // One non-blocking step of the TLS handshake (kOk once it is complete).
  Io Handshake();
  // Appends at most `max` bytes that can be read without blocking to input().
  Io ReadSome(size_t max);
  // Writes a prefix of `data` without blocking; *written is its length.
  Io WriteSome(std::string_view data, size_t* written);

  // Ends the server's side for good (TLS close_notify, then a TCP
  // half-close) after a refusal, so the client reads the answer and sees the
  // end of the stream while the server can still drain what it sends.
  void EndOutput();
  // Reads and drops at most `max` raw bytes without blocking (after
  // EndOutput): kOk, kWantRead, kClosed or kError.
  Io Discard(size_t max);
  // How many bytes were written to the connection so far.
  uint64_t bytes_written() const { return bytes_written_; }

  // Reads at least one more byte into input(), waiting until `deadline`;
  // false on end of stream, error or timeout.
  bool ReadMore(Deadline deadline);
  // Writes all of `data`, waiting until `deadline`; false on error or timeout.
  bool WriteAll(std::string_view data, Deadline deadline);

  // The RFC 4514 subject ("CN=alice,O=Example") of the client certificate
  // the handshake verified, or "" when none was presented.
  std::string ClientSubject() const;

 private:
  Io SslResult(int ret);
  bool Wait(Io want, Deadline deadline) const;

  int fd_;
  SSL* ssl_;
  std::string remote_ip_;
  bool handshake_done_;
  bool broken_ = false;        // a fatal error happened; no close_notify is sent
  bool output_ended_ = false;  // EndOutput ran
  uint64_t bytes_written_ = 0;
  std::string input_;
};

}  // namespace cloister
