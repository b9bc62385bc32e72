#include "governance/policy/expression.h"

#include <charconv>

#include "appliance/core/encoding.h"

namespace cloister::policy {
namespace {

enum class Tok { kEnd, kInt, kString, kIdent, kPunct };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // the punctuation, the identifier, the decoded string, the digits
  int line = 1, column = 1;
  uint32_t offset = 0;
};

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "the end of the expression";
    case Tok::kInt: return "number " + t.text;
    case Tok::kString: return "string \"" + t.text.substr(0, 40) + "\"";
    case Tok::kIdent: return "\"" + t.text + "\"";
    case Tok::kPunct: return "\"" + t.text + "\"";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::string_view src, const ParseLimits& limits, int line, int column)
      : src_(src), limits_(limits), line_(line), column_(column) {}

  Result<Expression> Run() {
    if (src_.size() > limits_.max_length) {
      return Status::InvalidArgument("expression is " + std::to_string(src_.size()) + " characters; the limit is " +
                                     std::to_string(limits_.max_length));
    }
    // Strings in expressions end up in explanations, JSON answers and audit
    // events, which hold UTF-8 only.
    if (!IsValidUtf8(src_)) return LexError("expression is not valid UTF-8");
    CL_RETURN_IF_ERROR(Advance());
    CL_ASSIGN_OR_RETURN(int32_t root, ParseOr());
    if (tok_.kind != Tok::kEnd) return Error("an operator or the end of the expression");
    out_.root = root;
    out_.source = std::string(src_);
    return std::move(out_);
  }

 private:
  // --- lexing ---
  Status LexError(const std::string& what) const {
    return Status::InvalidArgument(std::to_string(line_) + ":" + std::to_string(column_) + ": " + what);
  }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }
  void Bump() {
    if (src_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  Status Advance() {
    prev_end_ = static_cast<uint32_t>(pos_);
    while (pos_ < src_.size() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) Bump();
    tok_ = Token{};
    tok_.line = line_;
    tok_.column = column_;
    tok_.offset = static_cast<uint32_t>(pos_);
    if (pos_ >= src_.size()) return Status::Ok();
    const char c = Peek();
    if (c >= '0' && c <= '9') {
      tok_.kind = Tok::kInt;
      while (Peek() >= '0' && Peek() <= '9') {
        tok_.text += Peek();
        Bump();
      }
      if (std::isalpha(static_cast<unsigned char>(Peek())) || Peek() == '_' || Peek() == '.') {
        return LexError("malformed number " + tok_.text + Peek() + " (only integers are allowed)");
      }
      return Status::Ok();
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      tok_.kind = Tok::kIdent;
      while (std::isalnum(static_cast<unsigned char>(Peek())) || Peek() == '_') {
        tok_.text += Peek();
        Bump();
      }
      return Status::Ok();
    }
    if (c == '"') {
      tok_.kind = Tok::kString;
      Bump();
      for (;;) {
        if (pos_ >= src_.size() || Peek() == '\n') return LexError("unterminated string");
        char ch = Peek();
        Bump();
        if (ch == '"') return Status::Ok();
        if (ch == '\\') {
          const char e = Peek();
          if (pos_ >= src_.size()) return LexError("unterminated string");
          Bump();
          switch (e) {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            default: return LexError(std::string("unknown escape \\") + e + " in a string");
          }
        }
        tok_.text += ch;
      }
    }
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
    for (std::string_view two : kTwo) {
      if (Peek() == two[0] && Peek(1) == two[1]) {
        tok_.kind = Tok::kPunct;
        tok_.text = std::string(two);
        Bump();
        Bump();
        return Status::Ok();
      }
    }
    if (std::string_view("()[].,!<>+-*/%").find(c) != std::string_view::npos) {
      tok_.kind = Tok::kPunct;
      tok_.text = std::string(1, c);
      Bump();
      return Status::Ok();
    }
    if (c == '=' ) return LexError("\"=\" is not an operator; compare with \"==\"");
    if (c == '&' || c == '|') return LexError(std::string("\"") + c + "\" is not an operator; use \"" + c + c + "\"");
    return LexError("unexpected character \"" + std::string(1, c) + "\"");
  }

  // --- parsing ---
  Status Error(const std::string& expected) const {
    return Status::InvalidArgument(std::to_string(tok_.line) + ":" + std::to_string(tok_.column) + ": expected " +
                                   expected + ", found " + Describe(tok_));
  }
  bool Is(std::string_view punct) const { return tok_.kind == Tok::kPunct && tok_.text == punct; }
  Status Expect(std::string_view punct) {
    if (!Is(punct)) return Error("\"" + std::string(punct) + "\"");
    return Advance();
  }

  Result<int32_t> Add(Node node) {
    if (out_.nodes.size() >= limits_.max_nodes) {
      return Status::InvalidArgument("expression has more than " + std::to_string(limits_.max_nodes) + " parts");
    }
    node.end = prev_end_;
    out_.nodes.push_back(std::move(node));
    return static_cast<int32_t>(out_.nodes.size() - 1);
  }
  Node At(NodeKind kind, const Token& where) const {
    Node n;
    n.kind = kind;
    n.line = where.line;
    n.column = where.column;
    n.begin = where.offset;
    return n;
  }
  Result<int32_t> Binary(Op op, const Token& where, int32_t lhs, int32_t rhs) {
    Node n = At(NodeKind::kBinary, where);
    n.op = op;
    n.operands = {lhs, rhs};
    n.line = out_.at(lhs).line;
    n.column = out_.at(lhs).column;
    n.begin = out_.at(lhs).begin;
    return Add(std::move(n));
  }

  struct DepthGuard {
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
    int& depth;
  };
  Status CheckDepth() const {
    if (depth_ > limits_.max_depth) {
      return Status::InvalidArgument(std::to_string(tok_.line) + ":" + std::to_string(tok_.column) +
                                     ": expression nests deeper than " + std::to_string(limits_.max_depth));
    }
    return Status::Ok();
  }

  // One left-associative level: operands from `next`, joined by the
  // operators `ops` names for the current token (kNone: none here).
  template <typename Next, typename Ops>
  Result<int32_t> LeftAssociative(Next next, Ops ops) {
    CL_ASSIGN_OR_RETURN(int32_t lhs, (this->*next)());
    for (Op op = ops(); op != Op::kNone; op = ops()) {
      const Token where = tok_;
      CL_RETURN_IF_ERROR(Advance());
      CL_ASSIGN_OR_RETURN(int32_t rhs, (this->*next)());
      CL_ASSIGN_OR_RETURN(lhs, Binary(op, where, lhs, rhs));
    }
    return lhs;
  }

  Result<int32_t> ParseOr() {
    DepthGuard guard(depth_);
    CL_RETURN_IF_ERROR(CheckDepth());
    return LeftAssociative(&Parser::ParseAnd, [this] { return Is("||") ? Op::kOr : Op::kNone; });
  }

  Result<int32_t> ParseAnd() {
    return LeftAssociative(&Parser::ParseComparison, [this] { return Is("&&") ? Op::kAnd : Op::kNone; });
  }

  Op ComparisonOp() const {
    if (tok_.kind == Tok::kIdent && tok_.text == "in") return Op::kIn;
    if (tok_.kind != Tok::kPunct) return Op::kNone;
    static constexpr std::pair<std::string_view, Op> kOps[] = {{"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt},
                                                               {"<=", Op::kLe}, {">", Op::kGt},  {">=", Op::kGe}};
    for (const auto& [text, op] : kOps) {
      if (tok_.text == text) return op;
    }
    return Op::kNone;
  }

  Result<int32_t> ParseComparison() {
    CL_ASSIGN_OR_RETURN(int32_t lhs, ParseAdditive());
    const Op op = ComparisonOp();
    if (op == Op::kNone) return lhs;
    const Token where = tok_;
    CL_RETURN_IF_ERROR(Advance());
    CL_ASSIGN_OR_RETURN(int32_t rhs, ParseAdditive());
    if (ComparisonOp() != Op::kNone) {
      return Error("\"&&\", \"||\" or parentheses (comparisons do not chain)");
    }
    return Binary(op, where, lhs, rhs);
  }

  Result<int32_t> ParseAdditive() {
    return LeftAssociative(&Parser::ParseMultiplicative,
                           [this] { return Is("+") ? Op::kAdd : Is("-") ? Op::kSub : Op::kNone; });
  }

  Result<int32_t> ParseMultiplicative() {
    return LeftAssociative(&Parser::ParseUnary, [this] {
      return Is("*") ? Op::kMul : Is("/") ? Op::kDiv : Is("%") ? Op::kMod : Op::kNone;
    });
  }

  Result<int32_t> ParseUnary() {
    if (Is("!") || Is("-")) {
      DepthGuard guard(depth_);
      CL_RETURN_IF_ERROR(CheckDepth());
      const Token op = tok_;
      CL_RETURN_IF_ERROR(Advance());
      CL_ASSIGN_OR_RETURN(int32_t operand, ParseUnary());
      Node n = At(NodeKind::kUnary, op);
      n.op = op.text == "!" ? Op::kNot : Op::kNeg;
      n.operands = {operand};
      return Add(std::move(n));
    }
    return ParsePostfix();
  }

  Result<int32_t> ParsePostfix() {
    CL_ASSIGN_OR_RETURN(int32_t base, ParsePrimary());
    for (;;) {
      if (Is(".")) {
        const Token dot = tok_;
        CL_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kIdent) return Error("a field name after \".\"");
        Node n = At(NodeKind::kField, dot);
        n.text = tok_.text;
        n.operands = {base};
        n.line = out_.at(base).line;
        n.column = out_.at(base).column;
        n.begin = out_.at(base).begin;
        CL_RETURN_IF_ERROR(Advance());
        CL_ASSIGN_OR_RETURN(base, Add(std::move(n)));
      } else if (Is("[")) {
        DepthGuard guard(depth_);
        CL_RETURN_IF_ERROR(CheckDepth());
        const Token open = tok_;
        CL_RETURN_IF_ERROR(Advance());
        CL_ASSIGN_OR_RETURN(int32_t index, ParseOr());
        CL_RETURN_IF_ERROR(Expect("]"));
        Node n = At(NodeKind::kIndex, open);
        n.operands = {base, index};
        n.line = out_.at(base).line;
        n.column = out_.at(base).column;
        n.begin = out_.at(base).begin;
        CL_ASSIGN_OR_RETURN(base, Add(std::move(n)));
      } else {
        return base;
      }
    }
  }

  // Comma-separated expressions up to `close`, which is consumed.
  Result<std::vector<int32_t>> ParseList(std::string_view close) {
    DepthGuard guard(depth_);
    CL_RETURN_IF_ERROR(CheckDepth());
    std::vector<int32_t> items;
    if (Is(close)) {
      CL_RETURN_IF_ERROR(Advance());
      return items;
    }
    for (;;) {
      CL_ASSIGN_OR_RETURN(int32_t item, ParseOr());
      items.push_back(item);
      if (Is(",")) {
        CL_RETURN_IF_ERROR(Advance());
        continue;
      }
      CL_RETURN_IF_ERROR(Expect(close));
      return items;
    }
  }

  Result<int32_t> ParsePrimary() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::kInt: {
        Node n = At(NodeKind::kInt, t);
        const auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), n.integer);
        if (ec != std::errc() || end != t.text.data() + t.text.size()) {
          return Status::InvalidArgument(std::to_string(t.line) + ":" + std::to_string(t.column) + ": number " +
                                         t.text + " does not fit in 64 bits");
        }
        CL_RETURN_IF_ERROR(Advance());
        return Add(std::move(n));
      }
      case Tok::kString: {
        Node n = At(NodeKind::kString, t);
        n.text = t.text;
        CL_RETURN_IF_ERROR(Advance());
        return Add(std::move(n));
      }
      case Tok::kIdent: {
        CL_RETURN_IF_ERROR(Advance());
        if (t.text == "true" || t.text == "false") {
          Node n = At(NodeKind::kBool, t);
          n.integer = t.text == "true";
          return Add(std::move(n));
        }
        if (t.text == "null") return Add(At(NodeKind::kNull, t));
        if (t.text == "in") return Status::InvalidArgument(std::to_string(t.line) + ":" + std::to_string(t.column) +
                                                           ": expected a value, found \"in\"");
        if (Is("(")) {
          CL_RETURN_IF_ERROR(Advance());
          Node n = At(NodeKind::kCall, t);
          n.text = t.text;
          CL_ASSIGN_OR_RETURN(n.operands, ParseList(")"));
          return Add(std::move(n));
        }
        Node n = At(NodeKind::kIdent, t);
        n.text = t.text;
        return Add(std::move(n));
      }
      case Tok::kPunct:
        if (t.text == "(") {
          DepthGuard guard(depth_);
          CL_RETURN_IF_ERROR(CheckDepth());
          CL_RETURN_IF_ERROR(Advance());
          CL_ASSIGN_OR_RETURN(int32_t inner, ParseOr());
          CL_RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (t.text == "[") {
          CL_RETURN_IF_ERROR(Advance());
          Node n = At(NodeKind::kList, t);
          CL_ASSIGN_OR_RETURN(n.operands, ParseList("]"));
          return Add(std::move(n));
        }
        break;
      case Tok::kEnd: break;
    }
    return Error("a value");
  }

  std::string_view src_;
  const ParseLimits& limits_;
  size_t pos_ = 0;
  int line_, column_;
  int depth_ = 0;
  uint32_t prev_end_ = 0;  // where the last consumed token ends
  Token tok_;
  Expression out_;
};

void RenderInto(const Expression& e, int32_t i, std::string& out) {
  const Node& n = e.at(i);
  auto list = [&](size_t from) {
    for (size_t k = from; k < n.operands.size(); ++k) {
      if (k > from) out += ", ";
      RenderInto(e, n.operands[k], out);
    }
  };
  switch (n.kind) {
    case NodeKind::kNull: out += "null"; break;
    case NodeKind::kBool: out += n.integer ? "true" : "false"; break;
    case NodeKind::kInt: out += std::to_string(n.integer); break;
    case NodeKind::kString:
      out += '"';
      for (char c : n.text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
      }
      out += '"';
      break;
    case NodeKind::kList:
      out += "[";
      list(0);
      out += "]";
      break;
    case NodeKind::kIdent: out += n.text; break;
    case NodeKind::kField:
      RenderInto(e, n.operands[0], out);
      out += "." + n.text;
      break;
    case NodeKind::kIndex:
      RenderInto(e, n.operands[0], out);
      out += "[";
      RenderInto(e, n.operands[1], out);
      out += "]";
      break;
    case NodeKind::kCall:
      out += n.text + "(";
      list(0);
      out += ")";
      break;
    case NodeKind::kUnary:
      out += std::string(OpText(n.op));
      RenderInto(e, n.operands[0], out);
      break;
    case NodeKind::kBinary:
      out += "(";
      RenderInto(e, n.operands[0], out);
      out += " " + std::string(OpText(n.op)) + " ";
      RenderInto(e, n.operands[1], out);
      out += ")";
      break;
  }
}

}  // namespace

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kNone: return "";
    case Op::kNot: return "!";
    case Op::kNeg: return "-";
    case Op::kOr: return "||";
    case Op::kAnd: return "&&";
    case Op::kEq: return "==";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kIn: return "in";
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
  }
  return "";
}

Result<Expression> ParseExpression(std::string_view source, const ParseLimits& limits, int first_line,
                                   int first_column) {
  return Parser(source, limits, first_line, first_column).Run();
}

std::string_view SourceText(const Expression& e, int32_t node) {
  const Node& n = e.at(node);
  return std::string_view(e.source).substr(n.begin, n.end - n.begin);
}

std::string Render(const Expression& e, int32_t node) {
  std::string out;
  RenderInto(e, node, out);
  return out;
}

}  // namespace cloister::policy
