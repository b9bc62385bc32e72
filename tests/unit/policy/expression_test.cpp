// The policy expression parser: precedence, positions, and refusals that
// name what was expected and where.
#include "governance/policy/expression.h"

#include <gtest/gtest.h>

namespace cloister::policy {
namespace {

std::string Parsed(std::string_view text) {
  auto e = ParseExpression(text);
  if (!e.ok()) return "error: " + e.status().message();
  return Render(*e, e->root);
}

TEST(ExpressionParserTest, PrecedenceAndAssociativity) {
  EXPECT_EQ(Parsed("a || b && c"), "(a || (b && c))");
  EXPECT_EQ(Parsed("a && b || c"), "((a && b) || c)");
  EXPECT_EQ(Parsed("1 + 2 * 3 - 4"), "((1 + (2 * 3)) - 4)");
  EXPECT_EQ(Parsed("10 - 3 - 2"), "((10 - 3) - 2)");
  EXPECT_EQ(Parsed("!a == b"), "(!a == b)");
  EXPECT_EQ(Parsed("-x % 7 >= 2 && y in [\"a\", \"b\"]"), "(((-x % 7) >= 2) && (y in [\"a\", \"b\"]))");
  EXPECT_EQ(Parsed("(a || b) && c"), "((a || b) && c)");
}

TEST(ExpressionParserTest, PathsCallsAndLiterals) {
  EXPECT_EQ(Parsed("promotion.target.environment == \"prod\""), "(promotion.target.environment == \"prod\")");
  EXPECT_EQ(Parsed("steps[0].kind"), "steps[0].kind");
  EXPECT_EQ(Parsed("count(approvals, a, a.user != author) >= 2"), "(count(approvals, a, (a.user != author)) >= 2)");
  EXPECT_EQ(Parsed("size([])"), "size([])");
  EXPECT_EQ(Parsed("now()"), "now()");
  EXPECT_EQ(Parsed("x == null || flag == false"), "((x == null) || (flag == false))");
  EXPECT_EQ(Parsed("\"quote \\\" back\\\\slash\\n\""), "\"quote \\\" back\\\\slash\\n\"");
  EXPECT_EQ(Parsed("9223372036854775807"), "9223372036854775807");
}

TEST(ExpressionParserTest, RefusalsNameWhatAndWhere) {
  EXPECT_EQ(Parsed("a <"), "error: 1:4: expected a value, found the end of the expression");
  EXPECT_EQ(Parsed("a < b < c"), "error: 1:7: expected \"&&\", \"||\" or parentheses (comparisons do not chain), found \"<\"");
  EXPECT_EQ(Parsed("a = b"), "error: 1:3: \"=\" is not an operator; compare with \"==\"");
  EXPECT_EQ(Parsed("a & b"), "error: 1:3: \"&\" is not an operator; use \"&&\"");
  EXPECT_EQ(Parsed("size(a"), "error: 1:7: expected \")\", found the end of the expression");
  EXPECT_EQ(Parsed("a b"), "error: 1:3: expected an operator or the end of the expression, found \"b\"");
  EXPECT_EQ(Parsed("\"open"), "error: 1:6: unterminated string");
  EXPECT_EQ(Parsed("\"bad \\q\""), "error: 1:8: unknown escape \\q in a string");
  EXPECT_EQ(Parsed("1.5 > x"), "error: 1:2: malformed number 1. (only integers are allowed)");
  EXPECT_EQ(Parsed("99999999999999999999"), "error: 1:1: number 99999999999999999999 does not fit in 64 bits");
  EXPECT_EQ(Parsed("a.\n  1"), "error: 2:3: expected a field name after \".\", found number 1");
  EXPECT_EQ(Parsed("x # y"), "error: 1:3: unexpected character \"#\"");
  EXPECT_EQ(Parsed(""), "error: 1:1: expected a value, found the end of the expression");
}

TEST(ExpressionParserTest, PositionsAreOffsetToTheFile) {
  auto e = ParseExpression("a &&\n  b >", {}, 12, 10);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "13:6: expected a value, found the end of the expression");
  auto ok = ParseExpression("x.y == 1", {}, 5, 9);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at(ok->root).line, 5);
  EXPECT_EQ(ok->at(ok->root).column, 9);
}

TEST(ExpressionParserTest, LimitsStopHostileInput) {
  EXPECT_NE(Parsed(std::string(100, '(') + "1" + std::string(100, ')')).find("nests deeper than 64"), std::string::npos);
  EXPECT_NE(Parsed(std::string(100, '!') + "a").find("nests deeper than 64"), std::string::npos);
  EXPECT_NE(Parsed(std::string(20000, ' ') + "1").find("the limit is 16384"), std::string::npos);
  std::string wide = "1";
  for (int i = 0; i < 3000; ++i) wide += " + 1";
  EXPECT_NE(Parsed(wide).find("more than 4096 parts"), std::string::npos);
  // Every prefix of a valid expression parses, or is refused at a position
  // within it.
  const std::string full = "count(approvals, a, a.user != author && a.role in [\"approver\"]) >= 2 || -x[1] % 3 == 0";
  ASSERT_TRUE(ParseExpression(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    auto e = ParseExpression(full.substr(0, n));
    if (e.ok()) continue;
    const std::string& m = e.status().message();
    ASSERT_TRUE(m.rfind("1:", 0) == 0 && std::stoul(m.substr(2, m.find(':', 2) - 2)) <= n + 1) << n << ": " << m;
  }
}

}  // namespace
}  // namespace cloister::policy
