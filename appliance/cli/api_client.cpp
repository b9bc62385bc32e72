#include "appliance/cli/api_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <Poco/Exception.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

namespace cloister {
namespace {

void InitSslOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    // Without this POCO looks for an application configuration to decide
    // what to do with an untrusted certificate; we always refuse it.
    Poco::Net::Context::Ptr unused = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "");
    Poco::Net::SSLManager::instance().initializeClient(nullptr, new Poco::Net::RejectCertificateHandler(false), unused);
  });
}

}  // namespace

Json ApiResponse::json() const {
  auto parsed = ParseJson(body);
  return parsed.ok() ? *parsed : Json();
}

std::string ApiResponse::ErrorText() const {
  const Json j = json();
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    return j["error"].value("code", "error") + ": " + j["error"].value("message", "");
  }
  return "HTTP " + std::to_string(status);
}

ApiClient::ApiClient(ClientOptions options) : options_(std::move(options)) {}
ApiClient::~ApiClient() = default;

Status ApiClient::Connect() {
  if (session_) return Status::Ok();
  Poco::URI uri;
  try {
    uri = Poco::URI(options_.address);
  } catch (const Poco::Exception& e) {
    return Status::InvalidArgument("address \"" + options_.address + "\": " + e.displayText());
  }
  if (uri.getScheme() == "https") {
    InitSslOnce();
    try {
      Poco::Net::Context::Params params;
      params.caLocation = options_.ca_cert;
      params.loadDefaultCAs = options_.ca_cert.empty();
      params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;  // verify the server's chain
      params.certificateFile = options_.client_cert;
      params.privateKeyFile = options_.client_key;
      Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
      context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
      session_ = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
    } catch (const Poco::Exception& e) {
      return Status::InvalidArgument("TLS setup (CA file \"" + options_.ca_cert + "\"" +
                                     (options_.client_cert.empty() ? "" : ", client certificate \"" + options_.client_cert + "\"") +
                                     "): " + e.displayText());
    }
  } else if (uri.getScheme() == "http") {
    session_ = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
  } else {
    return Status::InvalidArgument("address \"" + options_.address + "\" must start with https:// or http://");
  }
  session_->setTimeout(Poco::Timespan(options_.timeout_seconds, 0));
  session_->setKeepAlive(true);
  return Status::Ok();
}

Result<ApiResponse> ApiClient::Download(const std::string& path, const std::string& file) {
  CL_RETURN_IF_ERROR(Connect());
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!options_.token.empty()) request.set("Authorization", "Bearer " + options_.token);
  try {
    session_->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session_->receiveResponse(response);
    ApiResponse out;
    out.status = static_cast<int>(response.getStatus());
    if (out.status < 200 || out.status >= 300) {
      std::ostringstream text;
      Poco::StreamCopier::copyStream(in, text);
      out.body = text.str();
      return out;
    }
    const std::string partial = file + ".partial";
    {
      const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) return Status::Internal("cannot create " + partial);
      ::close(fd);
      std::ofstream sink(partial, std::ios::binary | std::ios::trunc);
      Poco::StreamCopier::copyStream64(in, sink);
      sink.close();
      if (!sink || static_cast<int64_t>(std::filesystem::file_size(partial)) != response.getContentLength64()) {
        std::remove(partial.c_str());
        return Status::Unavailable("the download of " + path + " was cut short");
      }
    }
    if (std::rename(partial.c_str(), file.c_str()) != 0) return Status::Internal("cannot write " + file);
    return out;
  } catch (const Poco::Exception& e) {
    session_.reset();
    return Status::Unavailable("cannot reach " + options_.address + ": " + e.displayText());
  }
}

Result<ApiResponse> ApiClient::Send(const std::string& method, const std::string& path, const std::string& body,
                                    const std::string& content_type,
                                    const std::map<std::string, std::string>& headers) {
  CL_RETURN_IF_ERROR(Connect());
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!options_.token.empty()) request.set("Authorization", "Bearer " + options_.token);
  for (const auto& [name, value] : options_.headers) request.set(name, value);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty()) {
    request.setContentType(content_type);
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  } else if (method == "POST" || method == "PUT" || method == "PATCH") {
    request.setContentLength(0);
  }
  try {
    session_->sendRequest(request).write(body.data(), static_cast<std::streamsize>(body.size()));
    Poco::Net::HTTPResponse response;
    std::istream& in = session_->receiveResponse(response);
    ApiResponse out;
    out.status = static_cast<int>(response.getStatus());
    std::ostringstream text;
    Poco::StreamCopier::copyStream(in, text);
    out.body = text.str();
    for (const auto& [name, value] : response) {
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[lower] = value;
    }
    return out;
  } catch (const Poco::Exception& e) {
    session_.reset();  // a broken connection is not reused
    return Status::Unavailable("cannot reach " + options_.address + ": " + e.displayText());
  }
}

}  // namespace cloister
