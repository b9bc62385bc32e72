#include "appliance/http/http_types.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// A full writer queue answers at once; the client is told when to retry.
TEST(ErrorResponseTest, OverloadedIs503WithRetryAfter) {
  const HttpResponse r =
      ErrorResponse(Status::Unavailable("the database writer has 10000 changes waiting").WithReason("overloaded"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "overloaded") << r.body;
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "1");
  EXPECT_EQ(HeaderOf(ErrorResponse(503, "overloaded", "too many requests are waiting"), "Retry-After"), "1");
}

TEST(ErrorResponseTest, OtherUnavailableAnswersPromiseNoRetryTime) {
  const HttpResponse r = ErrorResponse(Status::Unavailable("committing the write transaction failed"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "unavailable") << r.body;
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "");
}

}  // namespace
}  // namespace cloister
