// The server side of TLS: an OpenSSL context holding the certificate, the
// protocol floor (TLS 1.2), the TLS 1.2 cipher list and, optionally, the CAs
// whose client certificates are accepted.
//
// Immutable after creation; SSL objects may be made from it on any thread.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "appliance/core/status.h"

namespace cloister {

class TlsContext {
 public:
  // Loads the PEM certificate chain and private key. With a non-empty
  // `client_ca_file`, asks clients for a certificate: one that does not chain
  // to those CAs ends the handshake; none at all is allowed.
  // invalid_argument naming the file and OpenSSL's reason on failure.
  static Result<std::unique_ptr<TlsContext>> ForServer(const std::string& cert_file,
                                                       const std::string& key_file,
                                                       const std::string& client_ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// OpenSSL's reason for the last failure on this thread ("unknown" if none),
// and clears this thread's error queue.
std::string TakeOpenSslError();

}  // namespace cloister
