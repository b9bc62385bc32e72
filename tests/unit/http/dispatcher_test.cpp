#include "appliance/http/dispatcher.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace cloister {
namespace {

class FakeGate final : public RequestGate {
 public:
  bool sealed = false;
  bool Sealed() const override { return sealed; }
  Result<Principal> Authenticate(const HttpRequest&, const Credentials& c) override {
    last_cookie = c.session_cookie;
    if (c.bearer == "good" || c.session_cookie == "good") {
      Principal p;
      p.kind = "token";
      p.id = "tok_1";
      p.bindings = {{Role::kAdmin, "*"}};
      return p;
    }
    return Status::Unauthenticated("bad token").WithReason("invalid_token");
  }
  std::string last_cookie;
  Status Authorize(HttpRequest&, const Route&) override { return Status::Ok(); }
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DescribeHttpMetrics(metrics_);
    router_.Add({"GET", "/open", Access::kPublic, true, [](HttpRequest&) -> Result<HttpResponse> {
                   return HttpResponse::FromJson(200, {{"ok", true}});
                 }});
    router_.Add({"POST", "/secret", Access::kAuthenticated, false, [](HttpRequest& r) -> Result<HttpResponse> {
                   return HttpResponse::FromJson(200, {{"by", r.principal->id}, {"body", r.body}});
                 }});
    router_.Add({"GET", "/fails", Access::kPublic, true, [](HttpRequest&) -> Result<HttpResponse> {
                   return Status::NotFound("widget 7 does not exist").WithDetails({{"id", 7}});
                 }});
    router_.Add({"GET", "/throws", Access::kPublic, true,
                 [](HttpRequest&) -> Result<HttpResponse> { throw std::runtime_error("bug"); }});
  }

  HttpResponse Send(HttpRequest r) { return dispatcher_.Handle(r); }
  static HttpRequest Req(std::string method, std::string path) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.remote_ip = "127.0.0.1";
    return r;
  }
  static std::string HeaderOf(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  static Json Error(const HttpResponse& r) { return Json::parse(r.body)["error"]; }

  Router router_;
  FakeGate gate_;
  Metrics metrics_;
  SystemRandom random_;
  testing::ManualClock clock_;
  Dispatcher dispatcher_{router_, gate_, metrics_, random_, clock_, Logger("test"), {1024}};
};

TEST_F(DispatcherTest, UnknownRouteIs404InTheErrorEnvelope) {
  const HttpResponse r = Send(Req("GET", "/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r)["code"], "not_found");
  EXPECT_TRUE(Error(r)["details"].is_object());
  EXPECT_TRUE(Error(r)["message"].is_string());
}

TEST_F(DispatcherTest, WrongMethodIs405WithAllow) {
  const HttpResponse r = Send(Req("DELETE", "/open"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Error(r)["code"], "method_not_allowed");
  EXPECT_EQ(HeaderOf(r, "Allow"), "GET");
}

TEST_F(DispatcherTest, OversizedBodyIs413) {
  HttpRequest req = Req("POST", "/secret");
  req.body_too_large = true;
  const HttpResponse r = Send(req);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Error(r)["details"]["limit_bytes"], 1024);
}

TEST_F(DispatcherTest, MissingOrBadTokenIs401) {
  const HttpResponse none = Send(Req("POST", "/secret"));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(HeaderOf(none, "WWW-Authenticate"), "Bearer");
  HttpRequest bad = Req("POST", "/secret");
  bad.headers["authorization"] = "Bearer nope";
  EXPECT_EQ(Send(bad).status, 401);
  HttpRequest basic = Req("POST", "/secret");
  basic.headers["authorization"] = "Basic Z29vZA==";
  EXPECT_EQ(Send(basic).status, 401);
}

TEST_F(DispatcherTest, SessionCookieIsFoundAmongOtherCookies) {
  HttpRequest r = Req("POST", "/secret");
  r.headers["cookie"] = "theme=dark; cloister_session=good;other=1";
  EXPECT_EQ(Send(r).status, 200);
  EXPECT_EQ(gate_.last_cookie, "good");
  HttpRequest lookalike = Req("POST", "/secret");
  lookalike.headers["cookie"] = "xcloister_session=good; cloister_sessionx=good";
  EXPECT_EQ(Send(lookalike).status, 401);  // no such cookie: never reaches the gate
  HttpRequest both = Req("POST", "/secret");
  both.headers["cookie"] = "cloister_session=good";
  both.headers["authorization"] = "Bearer nope";
  EXPECT_EQ(Send(both).status, 401);  // the bearer wins; the cookie is not consulted
}

TEST_F(DispatcherTest, WrongContentTypeIs415AndJsonPasses) {
  HttpRequest req = Req("POST", "/secret");
  req.headers["authorization"] = "Bearer good";
  req.body = "{}";
  req.headers["content-type"] = "text/plain";
  EXPECT_EQ(Send(req).status, 415);
  req.headers["content-type"] = "Application/JSON; charset=utf-8";
  const HttpResponse ok = Send(req);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Json::parse(ok.body)["by"], "tok_1");
}

TEST_F(DispatcherTest, SealedAnswersOnlyRoutesMarkedForIt) {
  gate_.sealed = true;
  HttpRequest req = Req("POST", "/secret");
  req.headers["authorization"] = "Bearer good";
  const HttpResponse r = Send(req);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Error(r)["code"], "sealed");
  EXPECT_EQ(Send(Req("GET", "/open")).status, 200);
}

TEST_F(DispatcherTest, HandlerStatusBecomesHttpStatusWithDetails) {
  const HttpResponse r = Send(Req("GET", "/fails"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r)["message"], "widget 7 does not exist");
  EXPECT_EQ(Error(r)["details"]["id"], 7);
  EXPECT_EQ(Send(Req("GET", "/throws")).status, 500);
}

TEST_F(DispatcherTest, EchoesValidRequestIdsAndGeneratesOthers) {
  HttpRequest mine = Req("GET", "/open");
  mine.headers["x-request-id"] = "abc-123";
  EXPECT_EQ(HeaderOf(Send(mine), "X-Request-Id"), "abc-123");
  HttpRequest hostile = Req("GET", "/open");
  hostile.headers["x-request-id"] = "bad id\r\nInjected: yes";
  const std::string generated = HeaderOf(Send(hostile), "X-Request-Id");
  EXPECT_EQ(generated.size(), 32u);
  EXPECT_EQ(generated.find(' '), std::string::npos);
}

TEST_F(DispatcherTest, SecurityHeadersOnEveryResponse) {
  for (const HttpResponse& r : {Send(Req("GET", "/open")), Send(Req("GET", "/nope")), Send(Req("GET", "/fails"))}) {
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderOf(r, "X-Frame-Options"), "DENY");
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
    EXPECT_FALSE(HeaderOf(r, "Content-Security-Policy").empty());
    EXPECT_FALSE(HeaderOf(r, "Strict-Transport-Security").empty());
  }
}

TEST_F(DispatcherTest, CountsRequestsByRoutePattern) {
  Send(Req("GET", "/open"));
  Send(Req("GET", "/nope"));
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("cloister_http_requests_total{route=\"/open\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("route=\"unmatched\",method=\"GET\",status=\"404\""), std::string::npos);
}

}  // namespace
}  // namespace cloister
