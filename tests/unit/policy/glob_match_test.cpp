// The glob matcher behind the policy language's matches(): its semantics, its
// cost on hostile input, and the step budget it is charged to.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "governance/policy/program.h"

namespace cloister::policy {
namespace {

// The definition of the semantics: "*" any run, "?" one byte, "\" makes the
// next byte literal and a trailing "\" is itself. Exponential, so for short
// inputs only.
bool ReferenceMatch(std::string_view text, std::string_view pattern) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (ReferenceMatch(text.substr(skip), pattern.substr(1))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] == '?') return ReferenceMatch(text.substr(1), pattern.substr(1));
  size_t width = 1;
  char want = pattern[0];
  if (want == '\\' && pattern.size() > 1) {
    want = pattern[1];
    width = 2;
  }
  return text[0] == want && ReferenceMatch(text.substr(1), pattern.substr(width));
}

// Every string of length 0..max_len over `alphabet`.
std::vector<std::string> AllStrings(const std::string& alphabet, size_t max_len) {
  std::vector<std::string> out{""};
  for (size_t begin = 0, len = 1; len <= max_len; ++len) {
    const size_t end = out.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    begin = end;
  }
  return out;
}

TEST(GlobMatchTest, AgreesWithTheReferenceOnEveryShortInput) {
  const auto texts = AllStrings("ab*?\\", 4);
  const auto patterns = AllStrings("ab*?\\", 5);
  for (const auto& p : patterns) {
    for (const auto& t : texts) {
      ASSERT_EQ(GlobMatch(t, p), ReferenceMatch(t, p)) << "text \"" << t << "\" pattern \"" << p << "\"";
    }
  }
}

TEST(GlobMatchTest, Examples) {
  EXPECT_TRUE(GlobMatch("erp.internal", "*.internal"));
  EXPECT_FALSE(GlobMatch("erp.internal.evil", "*.internal"));
  EXPECT_TRUE(GlobMatch("2026-12-31", "?" "?" "?" "?-12-3?"));
  EXPECT_FALSE(GlobMatch("2026-12-3", "?" "?" "?" "?-12-3?"));
  EXPECT_TRUE(GlobMatch("a*c", "a\\*c"));
  EXPECT_FALSE(GlobMatch("abc", "a\\*c"));
  EXPECT_TRUE(GlobMatch("a\\", "a\\"));
  EXPECT_TRUE(GlobMatch("", "*"));
  EXPECT_TRUE(GlobMatch("", "***"));
  EXPECT_FALSE(GlobMatch("", "?"));
  EXPECT_TRUE(GlobMatch("abcabd", "*ab?"));
  EXPECT_TRUE(GlobMatch("xabyabz", "*ab*ab*"));
  EXPECT_FALSE(GlobMatch("xabyz", "*ab*ab*"));
  EXPECT_TRUE(GlobMatch("aXbXc", "a*b*c"));
  EXPECT_FALSE(GlobMatch("ab", "a*ab"));  // head and tail may not overlap
}

// A text of 200,000 "a" and a pattern whose middle segment almost matches at
// every position: a backtracking matcher reads text times pattern characters.
TEST(GlobMatchTest, HostileInputStopsAtTheBudget) {
  const std::string text(200000, 'a');
  const std::string pattern = "*" + std::string(2000, 'a') + "b*";
  const auto start = std::chrono::steady_clock::now();
  int64_t examined = 0;
  EXPECT_EQ(GlobMatchBounded(text, pattern, 1600000, &examined), GlobResult::kTooCostly);
  EXPECT_LE(examined, 1600000 + 2 * static_cast<int64_t>(pattern.size()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

TEST(GlobMatchTest, LiteralGlobsOverLongTextsAreLinear) {
  std::string text(200000, 'a');
  text += "needle";
  const std::string pattern = "*" + std::string(2000, 'a') + "needle";  // anchored at the end
  int64_t examined = 0;
  EXPECT_EQ(GlobMatchBounded(text, pattern, INT64_MAX, &examined), GlobResult::kMatch);
  EXPECT_LT(examined, 3 * static_cast<int64_t>(text.size() + pattern.size()));
  EXPECT_EQ(GlobMatchBounded(text, "*needle*", INT64_MAX, &examined), GlobResult::kMatch);
  EXPECT_LT(examined, 2 * static_cast<int64_t>(text.size()));
  EXPECT_EQ(GlobMatchBounded(text, "*haystack*", INT64_MAX, &examined), GlobResult::kNoMatch);
  EXPECT_LT(examined, 2 * static_cast<int64_t>(text.size()));
}

struct Outcome {
  bool ok;
  bool value;
  std::string error;
  int64_t steps;
};

// matches(definition.description, definition.owner) with both from the input,
// as an evaluate request can send them.
Outcome EvalMatches(const std::string& text, const std::string& pattern, int64_t max_steps = 100000) {
  const Schema& schema = *HookSchema("promotion");
  auto program = CompileText("matches(definition.description, definition.owner)", schema, nullptr);
  EXPECT_TRUE(program.ok()) << program.status().message();
  auto doc = Document::Bind(schema, {{"definition", {{"description", text}, {"owner", pattern}}}});
  EXPECT_TRUE(doc.ok()) << doc.status().message();
  Evaluator ev(EvalLimits{.max_steps = max_steps});
  Value v;
  const bool ok = ev.Run(*program, *doc, &v);
  return {ok, ok && v.integer != 0, ev.error(), ev.steps()};
}

TEST(GlobMatchTest, ExpensiveMatchFailsTheRuleOnItsStepBudget) {
  const std::string text(200000, 'a');
  const std::string pattern = "*" + std::string(2000, 'a') + "b*";
  const auto start = std::chrono::steady_clock::now();
  const Outcome out = EvalMatches(text, pattern);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "step budget of 100000 exhausted");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(GlobMatchTest, MatchesIsChargedForTheCharactersItReads) {
  std::string text(200000, 'x');
  text += "needle";
  const Outcome found = EvalMatches(text, "*needle*");
  ASSERT_TRUE(found.ok) << found.error;
  EXPECT_TRUE(found.value);
  EXPECT_GE(found.steps, static_cast<int64_t>(text.size()) / kGlobCharsPerStep);

  // The same read on a budget too small for it fails closed.
  const Outcome small = EvalMatches(text, "*needle*", 5000);
  EXPECT_FALSE(small.ok);
  EXPECT_EQ(small.error, "step budget of 5000 exhausted");

  const Outcome cheap = EvalMatches(text, "x*");
  ASSERT_TRUE(cheap.ok) << cheap.error;
  EXPECT_TRUE(cheap.value);
  EXPECT_LT(cheap.steps, 10);
}

}  // namespace
}  // namespace cloister::policy
