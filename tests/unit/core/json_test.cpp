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

// nlohmann throws out_of_range, not parse_error, for these; uncaught it was a
// 500 on every route that reads a body.
TEST(JsonTest, NumbersNoDoubleHoldsAreRefusedNamingTheirPointer) {
  const struct {
    const char* text;
    const char* pointer;
  } cases[] = {
      {R"({"password": 1e400})", "at /password "},
      {R"({"a": {"b": [1, 2, -1e400]}})", "at /a/b/2 "},
      {R"({"a/b": [{"x": 1}, {"y": 1E+999}]})", "at /a~1b/1/y "},
      {"1e400", "at / "},
  };
  for (const auto& c : cases) {
    auto r = ParseJson(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().reason(), "malformed_json");
    EXPECT_NE(r.status().message().find(std::string("number out of range ") + c.pointer), std::string::npos)
        << r.status().message();
  }
  // Tiny numbers round to zero and stay valid JSON.
  EXPECT_TRUE(ParseJson(R"({"a": 1e-400})").ok());
}

TEST(JsonTest, IntegersPastInt64AreRefusedNamingTheField) {
  auto obj = ParseJsonObject(
      R"({"big": 9223372036854775808, "max": 9223372036854775807, "min": -9223372036854775808,)"
      R"( "huge": 18446744073709551616, "exp": 1e19, "frac": 2.5, "whole": 2.0})");
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  EXPECT_EQ(**OptionalInt(*obj, "max"), INT64_MAX);
  EXPECT_EQ(**OptionalInt(*obj, "min"), INT64_MIN);
  auto big = OptionalInt(*obj, "big");
  ASSERT_FALSE(big.ok());  // once wrapped to INT64_MIN
  EXPECT_EQ(big.status().message(), "field \"big\" is out of range: integers are at most 9223372036854775807");
  for (const char* field : {"huge", "exp", "frac", "whole"}) {
    auto r = OptionalInt(*obj, field);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().message(), "field \"" + std::string(field) + "\" must be an integer");
  }
}

TEST(JsonTest, BoundedIntegersNameTheFieldAndRange) {
  auto obj = ParseJsonObject(R"({"shares": 4294967301, "ok": 5})");
  ASSERT_TRUE(obj.ok());
  auto r = OptionalInt(*obj, "shares", 1, 255);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "field \"shares\" must be between 1 and 255");
  EXPECT_EQ(**OptionalInt(*obj, "ok", 1, 255), 5);
  EXPECT_FALSE(OptionalInt(*obj, "absent", 1, 255)->has_value());
}

}  // namespace
}  // namespace cloister
