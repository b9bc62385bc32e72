#include "appliance/core/json.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(JsonTest, MalformedJsonIsInvalidArgumentWithReason) {
  for (const char* bad : {"{", "{\"a\":}", "[1,]", "nul", "{\"a\":1}x", "\"\\ud800\""}) {
    auto r = ParseJson(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "malformed_json") << bad;
  }
}

TEST(JsonTest, RejectsDuplicateKeysAtAnyDepth) {
  EXPECT_FALSE(ParseJson(R"({"a":1,"a":2})").ok());
  EXPECT_FALSE(ParseJson(R"({"x":{"b":1,"b":1}})").ok());
  EXPECT_TRUE(ParseJson(R"({"x":{"b":1},"y":{"b":1}})").ok());
}

TEST(JsonTest, ObjectRequiredAndFieldsTyped) {
  EXPECT_FALSE(ParseJsonObject("[1]").ok());
  auto obj = ParseJsonObject(R"({"s":"x","i":3,"b":true,"n":null})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(**OptionalString(*obj, "s"), "x");
  EXPECT_EQ(**OptionalInt(*obj, "i"), 3);
  EXPECT_TRUE(**OptionalBool(*obj, "b"));
  EXPECT_FALSE(OptionalString(*obj, "n")->has_value());
  EXPECT_FALSE(OptionalInt(*obj, "s").ok());
  EXPECT_FALSE(OptionalString(*obj, "i").ok());
  EXPECT_TRUE(CheckKnownFields(*obj, {"s", "i", "b", "n"}).ok());
  Status st = CheckKnownFields(*obj, {"s", "i"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unknown field"), std::string::npos);
}

}  // namespace
}  // namespace cloister
