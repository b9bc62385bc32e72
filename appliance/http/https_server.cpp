#include "appliance/http/https_server.h"

#include <algorithm>
#include <fstream>
#include <istream>

#include <Poco/Exception.h>
#include <Poco/StreamCopier.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace cloister {

const char kTlsCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// The RFC 4514 subject ("CN=alice,O=Example") of the verified client
// certificate on the request's connection, or "" when none was presented.
// The handshake already refused any certificate that does not chain to the
// configured CAs.
std::string ClientSubject(HTTPServerRequest& in) {
  try {
    auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&in);
    if (!impl) return "";
    Poco::Net::SecureStreamSocket socket(impl->socket());
    if (!socket.havePeerCertificate()) return "";
    const Poco::Net::X509Certificate cert = socket.peerCertificate();
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio) return "";
    std::string subject;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert.certificate()), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio, &data);
      if (len > 0) subject.assign(data, static_cast<size_t>(len));
    }
    BIO_free(bio);
    return subject;
  } catch (const Poco::Exception&) {
    return "";
  }
}

// Converts a POCO request to an HttpRequest, reading at most max_body+1
// bytes, and writes the Dispatcher's answer back.
class PocoHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  PocoHandler(Dispatcher& dispatcher, bool secure, bool client_certs)
      : dispatcher_(dispatcher), secure_(secure), client_certs_(client_certs) {}

  void handleRequest(HTTPServerRequest& in, HTTPServerResponse& out) override {
    HttpRequest request;
    request.secure = secure_;
    if (client_certs_) request.client_subject = ClientSubject(in);
    request.method = in.getMethod();
    request.remote_ip = in.clientAddress().host().toString();
    for (const auto& [name, value] : in) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      request.headers[lower] = value;
    }
    bool readable = true;
    try {
      const Poco::URI uri(in.getURI());
      request.path = uri.getPath();
      for (const auto& [k, v] : uri.getQueryParameters()) request.query[k] = v;
    } catch (const Poco::Exception&) {
      readable = false;
    }
    const size_t limit = dispatcher_.options().max_body_bytes;
    // HTTP/1.1: a request without Content-Length or chunked encoding has no
    // body (POCO would otherwise read until the connection closes).
    const bool has_body = in.hasContentLength() || in.getChunkedTransferEncoding();
    if (!has_body) {
      // nothing to read
    } else if (in.getContentLength64() > static_cast<int64_t>(limit)) {
      request.body_too_large = true;
      Discard(in.stream(), kDrainFactor * limit);
    } else {
      request.body = ReadBody(in.stream(), limit + 1);
      if (request.body.size() > limit) {
        request.body.clear();
        request.body_too_large = true;
        Discard(in.stream(), kDrainFactor * limit);
      }
    }
    HttpResponse response = readable ? dispatcher_.Handle(request)
                                     : ErrorResponse(400, "malformed_request", "the request URI is malformed");
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
    out.setContentType(response.content_type);
    for (const auto& [name, value] : response.headers) out.add(name, value);
    if (request.body_too_large) out.setKeepAlive(false);
    if (!response.body_file.empty()) {
      std::ifstream file(response.body_file, std::ios::binary);
      file.seekg(0, std::ios::end);
      out.setContentLength64(static_cast<Poco::Int64>(file.tellg()));
      file.seekg(0);
      Poco::StreamCopier::copyStream64(file, out.send());
      return;
    }
    out.setContentLength64(static_cast<Poco::Int64>(response.body.size()));
    out.send().write(response.body.data(), static_cast<std::streamsize>(response.body.size()));
  }

 private:
  static std::string ReadBody(std::istream& in, size_t max) {
    std::string body;
    char buf[16384];
    while (body.size() < max && in.read(buf, static_cast<std::streamsize>(std::min(sizeof buf, max - body.size())))) {
      body.append(buf, static_cast<size_t>(in.gcount()));
    }
    body.append(buf, static_cast<size_t>(in.gcount()));
    return body;
  }

  // An oversized body is read and dropped up to this many times the limit,
  // so the client reads our 413 instead of a connection reset; anything
  // larger is cut off by closing the connection.
  static constexpr size_t kDrainFactor = 4;

  static void Discard(std::istream& in, size_t max) {
    char buf[16384];
    size_t total = 0;
    while (total < max && in.read(buf, sizeof buf)) total += sizeof buf;
  }

  Dispatcher& dispatcher_;
  bool secure_;
  bool client_certs_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(Dispatcher& dispatcher, bool secure, bool client_certs = false)
      : dispatcher_(dispatcher), secure_(secure), client_certs_(client_certs) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new PocoHandler(dispatcher_, secure_, client_certs_);
  }

 private:
  Dispatcher& dispatcher_;
  bool secure_;
  bool client_certs_;
};

Poco::Net::HTTPServerParams::Ptr Params(const ListenerOptions& o) {
  Poco::Net::HTTPServerParams::Ptr p = new Poco::Net::HTTPServerParams;
  p->setMaxThreads(o.max_threads);
  p->setMaxQueued(o.max_queued);
  p->setKeepAlive(true);
  p->setTimeout(Poco::Timespan(o.idle_timeout_seconds, 0));
  p->setServerName("cloisterd");
  p->setSoftwareVersion("cloisterd");
  return p;
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress ip;
  return Poco::Net::IPAddress::tryParse(host, ip) && ip.isLoopback();
}

HttpsServer::HttpsServer(Dispatcher& dispatcher, ListenerOptions options)
    : dispatcher_(dispatcher), options_(std::move(options)) {}

HttpsServer::~HttpsServer() { Stop(); }

Status HttpsServer::Start() {
  Poco::Net::initializeSSL();
  try {
    Poco::Net::Context::Params params;
    params.privateKeyFile = options_.key_file;
    params.certificateFile = options_.cert_file;
    // With a client CA bundle, ask for a certificate (VERIFY_RELAXED: one
    // that does not verify fails the handshake; none at all is allowed).
    const bool client_certs = !options_.client_ca_file.empty();
    params.verificationMode = client_certs ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE;
    params.caLocation = options_.client_ca_file;
    params.loadDefaultCAs = false;
    params.cipherList = kTlsCipherList;
    Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    context->preferServerCiphers();
    if (client_certs) {
      // Name the accepted CAs in the handshake, so browsers offer a matching certificate.
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options_.client_ca_file.c_str());
      if (!names) throw Poco::Exception("no CA certificates in " + options_.client_ca_file);
      SSL_CTX_set_client_CA_list(context->sslContext(), names);
    }
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress(options_.host, options_.port), 128, context);
    port_ = socket.address().port();
    https_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(dispatcher_, true, client_certs), socket,
                                                     Params(options_));
  } catch (const Poco::Exception& e) {
    return Status::InvalidArgument("HTTPS listener " + options_.host + ":" + std::to_string(options_.port) +
                                   " (certificate " + options_.cert_file +
                                   (options_.client_ca_file.empty() ? "" : ", client CA " + options_.client_ca_file) +
                                   "): " + e.displayText());
  }
  if (options_.plain_http) {
    if (!IsLoopbackHost(options_.plain_host)) {
      return Status::InvalidArgument("plain HTTP may only listen on loopback, not " + options_.plain_host);
    }
    try {
      Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(options_.plain_host, options_.plain_port), 64);
      plain_port_ = socket.address().port();
      plain_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(dispatcher_, false), socket, Params(options_));
    } catch (const Poco::Exception& e) {
      return Status::InvalidArgument("plain HTTP listener " + options_.plain_host + ":" +
                                     std::to_string(options_.plain_port) + ": " + e.displayText());
    }
  }
  https_->start();
  if (plain_) plain_->start();
  return Status::Ok();
}

void HttpsServer::Stop() {
  if (https_) https_->stopAll(true);
  if (plain_) plain_->stopAll(true);
  https_.reset();
  plain_.reset();
}

}  // namespace cloister
