#include "appliance/http/http_connection.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace cloister {

HttpConnection::HttpConnection(int fd, SSL* ssl, std::string remote_ip)
    : fd_(fd), ssl_(ssl), remote_ip_(std::move(remote_ip)), handshake_done_(ssl == nullptr) {}

HttpConnection::~HttpConnection() {
  if (ssl_) {
    // One non-blocking attempt at close_notify; a peer that does not read
    // it loses nothing.
    if (handshake_done_ && !broken_ && !output_ended_) SSL_shutdown(ssl_);
    ERR_clear_error();
    SSL_free(ssl_);
  }
  ::close(fd_);
}

HttpConnection::Io HttpConnection::SslResult(int ret) {
  const int error = SSL_get_error(ssl_, ret);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kClosed;
    default:
      // SSL_ERROR_SYSCALL with an empty queue is an unclean EOF; either way
      // the connection cannot be used again.
      broken_ = true;
      ERR_clear_error();
      return Io::kError;
  }
}

HttpConnection::Io HttpConnection::Handshake() {
  if (handshake_done_) return Io::kOk;
  ERR_clear_error();
  const int ret = SSL_accept(ssl_);
  if (ret == 1) {
    handshake_done_ = true;
    return Io::kOk;
  }
  return SslResult(ret);
}

HttpConnection::Io HttpConnection::ReadSome(size_t max) {
  char buf[16384];
  const size_t want = std::min(max, sizeof buf);
  if (want == 0) return Io::kOk;
  if (ssl_) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, static_cast<int>(want));
    if (n <= 0) return SslResult(n);
    input_.append(buf, static_cast<size_t>(n));
    return Io::kOk;
  }
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, want, 0);
    if (n > 0) {
      input_.append(buf, static_cast<size_t>(n));
      return Io::kOk;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantRead : Io::kError;
  }
}

HttpConnection::Io HttpConnection::WriteSome(std::string_view data, size_t* written) {
  *written = 0;
  if (data.empty()) return Io::kOk;
  if (ssl_) {
    ERR_clear_error();
    size_t n = 0;
    const int ret = SSL_write_ex(ssl_, data.data(), data.size(), &n);
    if (ret != 1) return SslResult(ret);
    *written = n;
    bytes_written_ += n;
    return Io::kOk;
  }
  for (;;) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<size_t>(n);
      bytes_written_ += *written;
      return Io::kOk;
    }
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantWrite : Io::kError;
  }
}

void HttpConnection::EndOutput() {
  if (output_ended_) return;
  output_ended_ = true;
  if (ssl_ && handshake_done_ && !broken_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // one non-blocking attempt
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_WR);
}

HttpConnection::Io HttpConnection::Discard(size_t max) {
  char buf[16384];
  size_t dropped = 0;
  while (dropped < max) {
    const ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, max - dropped), 0);
    if (n > 0) {
      dropped += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantRead : Io::kError;
  }
  return Io::kOk;
}

bool HttpConnection::Wait(Io want, Deadline deadline) const {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, static_cast<short>(want == Io::kWantRead ? POLLIN : POLLOUT), 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 60000)));
    if (n > 0) return true;  // readable, writable, or an error the next call reports
    if (n < 0 && errno != EINTR) return false;
  }
}

bool HttpConnection::ReadMore(Deadline deadline) {
  for (;;) {
    const Io io = ReadSome(16384);
    if (io == Io::kOk) return true;
    if ((io != Io::kWantRead && io != Io::kWantWrite) || !Wait(io, deadline)) return false;
  }
}

bool HttpConnection::WriteAll(std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    size_t written = 0;
    const Io io = WriteSome(data, &written);
    if (io == Io::kOk) {
      data.remove_prefix(written);
      continue;
    }
    if ((io != Io::kWantRead && io != Io::kWantWrite) || !Wait(io, deadline)) return false;
  }
  return true;
}

std::string HttpConnection::ClientSubject() const {
  if (!ssl_) return "";
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert || SSL_get_verify_result(ssl_) != X509_V_OK) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "";
  std::string subject;
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0) subject.assign(data, static_cast<size_t>(len));
  }
  BIO_free(bio);
  return subject;
}

}  // namespace cloister
