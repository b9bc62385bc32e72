// A run's inputs against the automation's declared inputs (run_inputs.h):
// defaults, required, unknown and mistyped inputs, text read as numbers and
// booleans, and refusals that never repeat a value (an input may be a
// customer's data, and the refusal goes into the audit log).
#include "appliance/runtime/run_inputs.h"

#include <gtest/gtest.h>

namespace cloister::runtime {
namespace {

// The problems of a refusal, as {input: message}.
std::map<std::string, std::string> Problems(const Result<Json>& r) {
  std::map<std::string, std::string> out;
  EXPECT_FALSE(r.ok());
  if (r.ok()) return out;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(r.status().reason(), "invalid_inputs") << r.status().ToString();
  const Json& problems = r.status().details().value("problems", Json::array());
  for (const Json& p : problems) out[p.value("input", "?")] = p.value("message", "");
  return out;
}

const Json kDeclared = Json::parse(R"({
  "region":   {"type": "string", "default": "eu"},
  "count":    {"type": "integer", "default": 3},
  "ratio":    {"type": "number"},
  "dry_run":  {"type": "boolean", "default": false},
  "customer": {"type": "string", "required": true},
  "options":  {"type": "object"},
  "ids":      {"type": "array"}
})");

TEST(RunInputsTest, FillsDefaultsAndLeavesOutOptionalInputsNotGiven) {
  auto r = CheckInputs(kDeclared, {{"customer", "acme"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Json({{"region", "eu"}, {"count", 3}, {"dry_run", false}, {"customer", "acme"}}));
}

TEST(RunInputsTest, AGivenValueWinsOverTheDefault) {
  auto r = CheckInputs(kDeclared,
                       {{"customer", "acme"}, {"region", "us"}, {"count", 7}, {"dry_run", true}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["region"], "us");
  EXPECT_EQ((*r)["count"], 7);
  EXPECT_EQ((*r)["dry_run"], true);
}

// null counts as not given, so the default (or "required") applies.
TEST(RunInputsTest, NullIsTreatedAsNotGiven) {
  auto r = CheckInputs(kDeclared, {{"customer", "acme"}, {"count", nullptr}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["count"], 3);
  EXPECT_EQ(Problems(CheckInputs(kDeclared, {{"customer", nullptr}})).count("customer"), 1u);
}

TEST(RunInputsTest, RefusesAMissingRequiredInput) {
  const auto p = Problems(CheckInputs(kDeclared, Json::object()));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p.at("customer").find("required"), std::string::npos) << p.at("customer");
}

TEST(RunInputsTest, RefusesAnUnknownInput) {
  const auto p = Problems(CheckInputs(kDeclared, {{"customer", "acme"}, {"colour", "blue"}}));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p.at("colour").find("declares no input"), std::string::npos) << p.at("colour");
}

TEST(RunInputsTest, RefusesEveryInputWhenNoneAreDeclared) {
  EXPECT_TRUE(CheckInputs(Json(), Json::object()).ok());
  EXPECT_EQ(*CheckInputs(Json(), Json::object()), Json::object());
  EXPECT_EQ(Problems(CheckInputs(Json(), {{"x", 1}})).count("x"), 1u);
  EXPECT_EQ(Problems(CheckInputs(Json::object(), {{"x", 1}})).count("x"), 1u);
}

TEST(RunInputsTest, RefusesInputsThatAreNotAnObject) {
  EXPECT_EQ(Problems(CheckInputs(kDeclared, Json::array({"acme"}))).count(""), 1u);
  EXPECT_EQ(Problems(CheckInputs(kDeclared, "acme")).count(""), 1u);
}

TEST(RunInputsTest, NamesEveryProblemAtOnce) {
  const auto p = Problems(CheckInputs(kDeclared, {{"count", "many"}, {"extra", 1}}));
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p.count("count"), 1u);
  EXPECT_EQ(p.count("extra"), 1u);
  EXPECT_EQ(p.count("customer"), 1u);
}

TEST(RunInputsTest, AcceptsEachTypeInItsOwnForm) {
  const Json given = {{"customer", "acme"},    {"count", 5},
                      {"ratio", 2.5},          {"dry_run", true},
                      {"options", {{"k", 1}}}, {"ids", Json::array({1, 2})}};
  auto r = CheckInputs(kDeclared, given);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["customer"], "acme");
  EXPECT_EQ((*r)["count"], 5);
  EXPECT_EQ((*r)["ratio"], 2.5);
  EXPECT_EQ((*r)["dry_run"], true);
  EXPECT_EQ((*r)["options"], Json({{"k", 1}}));
  EXPECT_EQ((*r)["ids"], Json::array({1, 2}));
  // An integer is a number too.
  auto whole = CheckInputs(kDeclared, {{"customer", "acme"}, {"ratio", 2}});
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ((*whole)["ratio"], 2);
}

TEST(RunInputsTest, RefusesEachTypeGivenAnother) {
  struct Case {
    const char* input;
    Json value;
  };
  const std::vector<Case> cases = {
      {"customer", 5},
      {"customer", true},
      {"customer", Json::object()},
      {"count", 2.5},
      {"count", true},
      {"count", Json::array()},
      {"ratio", true},
      {"ratio", Json::object()},
      {"dry_run", 1},
      {"dry_run", "yes"},
      {"dry_run", "True"},
      {"options", "{}"},
      {"options", Json::array()},
      {"ids", "[]"},
      {"ids", Json::object()},
  };
  for (const Case& c : cases) {
    Json given = {{"customer", "acme"}};
    given[c.input] = c.value;
    const auto p = Problems(CheckInputs(kDeclared, given));
    EXPECT_EQ(p.size(), 1u) << c.input << " = " << c.value.dump();
    EXPECT_EQ(p.count(c.input), 1u) << c.input << " = " << c.value.dump();
  }
}

TEST(RunInputsTest, ReadsTextAsIntegerNumberAndBoolean) {
  auto r = CheckInputs(
      kDeclared, {{"customer", "acme"}, {"count", "5"}, {"ratio", "2.5"}, {"dry_run", "true"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["count"], 5);
  EXPECT_TRUE((*r)["count"].is_number_integer());
  EXPECT_EQ((*r)["ratio"], 2.5);
  EXPECT_TRUE((*r)["ratio"].is_number());
  EXPECT_EQ((*r)["dry_run"], true);
  EXPECT_TRUE((*r)["dry_run"].is_boolean());
  auto no = CheckInputs(kDeclared, {{"customer", "acme"}, {"dry_run", "false"}, {"count", "-2"}});
  ASSERT_TRUE(no.ok()) << no.status().ToString();
  EXPECT_EQ((*no)["dry_run"], false);
  EXPECT_EQ((*no)["count"], -2);
}

// A string input is never converted: "5" stays text.
TEST(RunInputsTest, KeepsTextForAStringInput) {
  auto r = CheckInputs(kDeclared, {{"customer", "5"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["customer"], "5");
}

TEST(RunInputsTest, RefusesTextThatDoesNotReadExactlyAsTheType) {
  // (Spaces around the digits are accepted, as JSON allows them: " 5" is 5.)
  for (const char* text :
       {"5.5", "", "five", "5x", "0x10", "5,0", "[5]", "\"5\"", "null", "true", "1e2"}) {
    const auto p = Problems(CheckInputs(kDeclared, {{"customer", "acme"}, {"count", text}}));
    EXPECT_EQ(p.count("count"), 1u) << '"' << text << '"';
  }
  for (const char* text : {"", "2,5", "two", "{}", "NaN", "1e999999"}) {
    const auto p = Problems(CheckInputs(kDeclared, {{"customer", "acme"}, {"ratio", text}}));
    EXPECT_EQ(p.count("ratio"), 1u) << '"' << text << '"';
  }
}

TEST(RunInputsTest, MessagesNeverRepeatTheValueGiven) {
  const std::string secretish = "s3cr3t-value-4711";
  const Json given = {{"count", secretish},
                      {"ratio", secretish},
                      {"dry_run", secretish},
                      {"options", secretish},
                      {"unknown", secretish}};
  auto r = CheckInputs(kDeclared, given);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Problems(r).size(), 6u);  // five given, and customer missing
  EXPECT_EQ(r.status().ToString().find(secretish), std::string::npos) << r.status().ToString();
  EXPECT_EQ(r.status().message().find(secretish), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().details().dump().find(secretish), std::string::npos)
      << r.status().details().dump();
  // Numbers that do not fit are not echoed either.
  auto n = CheckInputs(kDeclared, {{"customer", "acme"}, {"count", 987654.25}});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().message().find("987654"), std::string::npos) << n.status().message();
  EXPECT_EQ(n.status().details().dump().find("987654"), std::string::npos);
}

}  // namespace
}  // namespace cloister::runtime
