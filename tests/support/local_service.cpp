#include "tests/support/local_service.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <mutex>
#include <thread>

#include "appliance/core/clock.h"
#include "appliance/core/files.h"
#include "appliance/core/random.h"
#include "appliance/http/tls_certificate.h"

namespace cloister::testing {

struct LocalService::State {
  mutable std::mutex mu;
  std::map<std::string, std::vector<ServiceAnswer>> scripts;
  std::map<std::string, size_t> served;
  std::vector<ServiceRequest> requests;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::string cert_file;
  bool tls = true;
};

namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<LocalService::State> state) : state_(std::move(state)) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    ServiceRequest r;
    r.method = req.getMethod();
    r.target = req.getURI();
    for (const auto& [name, value] : req) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[lower] = value;
    }
    Poco::StreamCopier::copyToString(req.stream(), r.body);
    const std::string path = r.target.substr(0, r.target.find('?'));
    ServiceAnswer answer{
        404, "{\"error\":\"not scripted\"}", {{"Content-Type", "application/json"}}, {}};
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->requests.push_back(r);
      auto it = state_->scripts.find(path);
      if (it != state_->scripts.end() && !it->second.empty()) {
        size_t& n = state_->served[path];
        answer = it->second[std::min(n, it->second.size() - 1)];
        ++n;
      }
    }
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
    for (const auto& [k, v] : answer.headers) resp.set(k, v);
    resp.setContentLength(static_cast<std::streamsize>(answer.body.size()));
    resp.send() << answer.body;
  }

 private:
  std::shared_ptr<LocalService::State> state_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(std::shared_ptr<LocalService::State> state) : state_(std::move(state)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(state_);
  }

 private:
  std::shared_ptr<LocalService::State> state_;
};

}  // namespace

LocalService::LocalService(const std::string& dir, bool tls) : state_(std::make_shared<State>()) {
  state_->tls = tls;
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(32);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  if (tls) {
    SystemClock clock;
    SystemRandom random;
    state_->cert_file = dir + "/service-cert.pem";
    const std::string key = dir + "/service-key.pem";
    (void)EnsureSelfSignedCertificate(state_->cert_file, key, {"localhost"}, clock, random);
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::SERVER_USE, key, state_->cert_file, "",
                               Poco::Net::Context::VERIFY_NONE);
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 256, context);
    state_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), socket, params);
  } else {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 256);
    state_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), socket, params);
  }
  state_->server->start();
}

LocalService::~LocalService() { state_->server->stopAll(true); }

uint16_t LocalService::port() const { return state_->server->port(); }

std::string LocalService::Url(const std::string& path) const {
  return std::string(state_->tls ? "https" : "http") + "://localhost:" + std::to_string(port()) +
         path;
}

std::string LocalService::CaPem() const {
  auto pem = ReadFile(state_->cert_file, 1 << 20);
  return pem.ok() ? *pem : "";
}

void LocalService::Script(const std::string& path, std::vector<ServiceAnswer> answers) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->scripts[path] = std::move(answers);
  state_->served[path] = 0;
}

std::vector<ServiceRequest> LocalService::Requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (path.empty()) return state_->requests;
  std::vector<ServiceRequest> out;
  for (const auto& r : state_->requests) {
    if (r.target.substr(0, r.target.find('?')) == path) out.push_back(r);
  }
  return out;
}

}  // namespace cloister::testing
