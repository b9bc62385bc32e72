#include "appliance/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "appliance/http/https_server.h"

namespace cloister {

std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  std::string reason = "unknown";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return reason;
}

Result<std::unique_ptr<TlsContext>> TlsContext::ForServer(const std::string& cert_file,
                                                          const std::string& key_file,
                                                          const std::string& client_ca_file) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (!raw) return Status::Internal("cannot create a TLS context: " + TakeOpenSslError());
  std::unique_ptr<TlsContext> ctx(new TlsContext(raw));
  auto fail = [](const std::string& what) {
    return Status::InvalidArgument(what + ": " + TakeOpenSslError());
  };
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1)
    return fail("cannot require TLS 1.2");
  if (SSL_CTX_set_cipher_list(raw, kTlsCipherList) != 1)
    return fail("cannot set the TLS 1.2 ciphers");
  SSL_CTX_set_options(
      raw, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Partial writes let a non-blocking write resume with the unsent rest;
  // releasing idle buffers keeps many quiet connections cheap.
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char kSessionContext[] = "cloisterd";
  if (SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1) != 1) {
    return fail("cannot set the TLS session context");
  }
  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1)
    return fail("certificate " + cert_file);
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("private key " + key_file);
  if (SSL_CTX_check_private_key(raw) != 1)
    return fail("private key " + key_file + " does not match " + cert_file);
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, client_ca_file.c_str(), nullptr) != 1) {
      return fail("client CA " + client_ca_file);
    }
    // Name the accepted CAs in the handshake, so browsers offer a matching certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
    if (!names) return fail("no CA certificates in " + client_ca_file);
    SSL_CTX_set_client_CA_list(raw, names);
    // Without FAIL_IF_NO_PEER_CERT: a client may present no certificate.
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_verify_depth(raw, 9);
  } else {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace cloister
