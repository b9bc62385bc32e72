// The policy expression language, parsed into a flat tree: every node lives
// in one vector and refers to its operands by index, so a parsed expression
// is one allocation to copy and cache-friendly to walk.
//
// Grammar (lowest precedence first):
//   expr    := or
//   or      := and ("||" and)*
//   and     := cmp ("&&" cmp)*
//   cmp     := add (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") add)?
//   add     := mul (("+" | "-") mul)*
//   mul     := unary (("*" | "/" | "%") unary)*
//   unary   := ("!" | "-") unary | postfix
//   postfix := primary ("." ident | "[" expr "]")*
//   primary := integer | string | "true" | "false" | "null"
//            | ident "(" args? ")" | ident | "(" expr ")" | "[" args? "]"
// Strings are double-quoted with \" \\ \n \t escapes. Comparisons do not
// chain: "a < b < c" is an error, as is any text after the expression.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"

namespace cloister::policy {

enum class NodeKind : uint8_t {
  kNull,
  kBool,    // value in `integer` (0 or 1)
  kInt,     // value in `integer`
  kString,  // value in `text`
  kList,    // operands: the elements
  kIdent,   // a name: a top-level input field or a bound variable; `text`
  kField,   // operands[0].text
  kIndex,   // operands[0][operands[1]]
  kCall,    // text(operands...)
  kUnary,   // op operands[0]
  kBinary,  // operands[0] op operands[1]
};

enum class Op : uint8_t { kNone, kNot, kNeg, kOr, kAnd, kEq, kNe, kLt, kLe, kGt, kGe, kIn, kAdd, kSub, kMul, kDiv, kMod };

std::string_view OpText(Op op);

struct Node {
  NodeKind kind = NodeKind::kNull;
  Op op = Op::kNone;
  int64_t integer = 0;
  std::string text;
  std::vector<int32_t> operands;  // indices into Expression::nodes
  int line = 1, column = 1;       // where the node starts in the source
  uint32_t begin = 0, end = 0;    // its text: source[begin, end)
};

struct Expression {
  std::vector<Node> nodes;
  int32_t root = -1;
  std::string source;

  const Node& at(int32_t i) const { return nodes[static_cast<size_t>(i)]; }
};

struct ParseLimits {
  size_t max_length = 16 * 1024;  // characters of source
  size_t max_nodes = 4096;
  int max_depth = 64;  // nesting of parentheses, brackets, calls and unary operators
};

// invalid_argument "line:column: <what was expected>, found <token>" on error,
// with the position relative to `source`; `first_line` and `first_column`
// offset it (where the expression begins in its YAML file).
Result<Expression> ParseExpression(std::string_view source, const ParseLimits& limits = {}, int first_line = 1,
                                   int first_column = 1);

// The node's text as written (parentheses around the whole node excluded).
std::string_view SourceText(const Expression& e, int32_t node);

// The expression as text, fully parenthesized (for messages and tests).
std::string Render(const Expression& e, int32_t node);

}  // namespace cloister::policy
