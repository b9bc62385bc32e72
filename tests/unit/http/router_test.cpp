#include "appliance/http/router.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

Handler Named(std::string name) {
  return [name](HttpRequest&) -> Result<HttpResponse> { return HttpResponse::FromJson(200, {{"route", name}}); };
}

TEST(RouterTest, MatchesLiteralsAndPlaceholders) {
  Router r;
  r.Add({"GET", "/v1/sys/health", Access::kPublic, true, Named("health")});
  r.Add({"POST", "/v1/promotions/{id}/approve", Access::kAuthenticated, false, Named("approve")});
  auto m = r.Find("POST", "/v1/promotions/p-42/approve");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("id"), "p-42");
  EXPECT_NE(r.Find("GET", "/v1/sys/health").route, nullptr);
}

TEST(RouterTest, UnknownPathHasNoRouteAndNoAllowedMethods) {
  Router r;
  r.Add({"GET", "/v1/sys/health", Access::kPublic, true, Named("health")});
  for (const char* path : {"/v1/sys/healthz", "/v1/sys", "/v1/sys/health/x", "", "v1/sys/health", "/v1//health"}) {
    auto m = r.Find("GET", path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_TRUE(m.allowed_methods.empty()) << path;
  }
  EXPECT_EQ(r.Find("POST", "/v1/promotions//approve").route, nullptr);
}

TEST(RouterTest, WrongMethodListsTheAllowedOnes) {
  Router r;
  r.Add({"GET", "/v1/thing", Access::kPublic, true, Named("get")});
  r.Add({"POST", "/v1/thing", Access::kPublic, true, Named("post")});
  auto m = r.Find("DELETE", "/v1/thing");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "POST"}));
}

}  // namespace
}  // namespace cloister
