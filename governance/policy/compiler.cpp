// Type checking and compilation of policy expressions (see program.h).
#include <utility>

#include "governance/policy/calendar.h"
#include "governance/policy/program.h"

namespace cloister::policy {

std::string_view Program::Text(int32_t instr) const {
  return SourceText(expression_, code_[static_cast<size_t>(instr)].node);
}

class Compiler {
 public:
  Compiler(Expression expression, const Schema& schema) : schema_(schema) {
    program_.expression_ = std::move(expression);
    program_.schema_ = &schema;
  }

  Result<Program> Run(const Type* want) {
    CL_ASSIGN_OR_RETURN(int32_t root, Check(program_.expression_.root));
    if (want != nullptr && TypeOf(root)->kind != want->kind) {
      auto a = [](const std::string& noun) {
        return (noun[0] == 'i' || noun[0] == 'o' ? "an " : "a ") + noun;
      };
      return Error(program_.expression_.root, "this expression is " + a(TypeOf(root)->Name()) +
                                                  "; " + a(want->Name()) + " is needed here");
    }
    program_.root_ = root;
    return std::move(program_);
  }

 private:
  const Node& N(int32_t node) const { return program_.expression_.at(node); }
  const Type* TypeOf(int32_t instr) const {
    return program_.code_[static_cast<size_t>(instr)].type;
  }
  Kind K(int32_t instr) const { return TypeOf(instr)->kind; }
  std::string What(int32_t instr) const {
    const std::string text(program_.Text(instr));
    const bool quoted = !text.empty() && text[0] == '"';  // a string literal names itself
    return (quoted ? text : "\"" + text + "\"") + " (" + TypeOf(instr)->Name() + ")";
  }

  Status Error(int32_t node, const std::string& what) const {
    return Status::InvalidArgument(std::to_string(N(node).line) + ":" +
                                   std::to_string(N(node).column) + ": " + what);
  }

  int32_t Emit(Code code, const Type* type, int32_t node, int32_t a = -1, int32_t b = -1,
               int32_t c = -1, int64_t imm = 0) {
    program_.code_.push_back(Instr{code, type, a, b, c, imm, node});
    return static_cast<int32_t>(program_.code_.size() - 1);
  }
  int32_t Constant(Value v, const Type* type, int32_t node) {
    program_.constants_.push_back(v);
    return Emit(Code::kConst, type, node, static_cast<int32_t>(program_.constants_.size() - 1));
  }

  static bool Scalar(Kind k) {
    return k == Kind::kBool || k == Kind::kInt || k == Kind::kTime || k == Kind::kString;
  }

  Result<int32_t> Check(int32_t node) {
    const Node& n = N(node);
    switch (n.kind) {
      case NodeKind::kNull:
        return Error(
            node, "null is not a value in policies: an absent field reads as \"\", 0, false or []");
      case NodeKind::kBool:
        return Constant(Value::Bool(n.integer != 0), BoolType(), node);
      case NodeKind::kInt:
        return Constant(Value::Int(n.integer), IntType(), node);
      case NodeKind::kString:
        return Constant(Value::String(program_.arena_->Keep(n.text)), StringType(), node);
      case NodeKind::kList:
        return ListLiteral(node);
      case NodeKind::kIdent:
        return Ident(node);
      case NodeKind::kField:
        return Field(node);
      case NodeKind::kIndex:
        return Index(node);
      case NodeKind::kCall:
        return Call(node);
      case NodeKind::kUnary:
        return Unary(node);
      case NodeKind::kBinary:
        return Binary(node);
    }
    return Error(node, "unsupported expression");
  }

  Result<int32_t> ListLiteral(int32_t node) {
    const Node& n = N(node);
    if (n.operands.empty())
      return Error(node, "an empty list literal has no element type; leave the clause out");
    Value* items = program_.arena_->Array(n.operands.size());
    const Type* element = nullptr;
    for (size_t i = 0; i < n.operands.size(); ++i) {
      CL_ASSIGN_OR_RETURN(int32_t item, Check(n.operands[i]));
      if (!program_.IsConstant(item) || !Scalar(K(item))) {
        return Error(n.operands[i],
                     "list literals hold literal strings, integers or booleans only");
      }
      if (element != nullptr && element->kind != K(item)) {
        return Error(n.operands[i], "list elements must share one type: " + What(item) +
                                        " in a list of " + element->Name());
      }
      element = TypeOf(item);
      items[i] =
          program_.constants_[static_cast<size_t>(program_.code_[static_cast<size_t>(item)].a)];
    }
    Value list;
    list.kind = Kind::kList;
    list.items = items;
    list.size = static_cast<uint32_t>(n.operands.size());
    return Constant(list, ListOf(element), node);
  }

  const Type* ListOf(const Type* element) {
    for (const auto& t : program_.types_) {
      if (t->element == element) return t.get();
    }
    auto t = std::make_unique<Type>();
    t->kind = Kind::kList;
    t->element = element;
    program_.types_.push_back(std::move(t));
    return program_.types_.back().get();
  }

  Result<int32_t> Ident(int32_t node) {
    const std::string& name = N(node).text;
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (it->name == name) return Emit(Code::kVar, it->type, node, it->slot);
    }
    const int slot = schema_.root().FieldSlot(name);
    if (slot < 0) {
      return Error(node, "unknown name \"" + name + "\"; the " + schema_.hook() +
                             " input has: " + schema_.root().FieldNames());
    }
    return Emit(Code::kInput, schema_.root().fields[static_cast<size_t>(slot)].second, node, slot);
  }

  Result<int32_t> Field(int32_t node) {
    const Node& n = N(node);
    CL_ASSIGN_OR_RETURN(int32_t base, Check(n.operands[0]));
    if (K(base) != Kind::kObject) return Error(node, What(base) + " has no fields");
    const int slot = TypeOf(base)->FieldSlot(n.text);
    if (slot < 0) {
      return Error(node, "unknown input field \"" + n.text + "\" of \"" +
                             std::string(program_.Text(base)) +
                             "\" (its fields: " + TypeOf(base)->FieldNames() + ")");
    }
    // The evaluator's "no value" answers this many slots (program.h).
    if (slot >= kMaxObjectFields) {
      return Error(node, "\"" + n.text + "\" is field " + std::to_string(slot + 1) +
                             " of an object; policies read the first " +
                             std::to_string(kMaxObjectFields));
    }
    const Type* type = TypeOf(base)->fields[static_cast<size_t>(slot)].second;
    const Instr& b = program_.code_[static_cast<size_t>(base)];
    // x.f and input.f are the commonest nodes: one instruction each, not two.
    if (b.code == Code::kVar) return Emit(Code::kVarField, type, node, b.a, slot);
    if (b.code == Code::kInput) return Emit(Code::kInputField, type, node, b.a, slot);
    return Emit(Code::kField, type, node, base, slot);
  }

  Result<int32_t> Index(int32_t node) {
    const Node& n = N(node);
    CL_ASSIGN_OR_RETURN(int32_t base, Check(n.operands[0]));
    CL_ASSIGN_OR_RETURN(int32_t index, Check(n.operands[1]));
    if (K(base) != Kind::kList) return Error(node, What(base) + " is not a list");
    if (K(index) != Kind::kInt)
      return Error(n.operands[1], "a list index must be an int, not " + What(index));
    return Emit(Code::kIndex, TypeOf(base)->element, node, base, index);
  }

  Result<int32_t> Unary(int32_t node) {
    const Node& n = N(node);
    CL_ASSIGN_OR_RETURN(int32_t operand, Check(n.operands[0]));
    if (n.op == Op::kNot) {
      if (K(operand) != Kind::kBool) return Error(node, "\"!\" needs a bool, not " + What(operand));
      return Emit(Code::kNot, BoolType(), node, operand);
    }
    if (K(operand) != Kind::kInt) return Error(node, "\"-\" needs an int, not " + What(operand));
    return Emit(Code::kNeg, IntType(), node, operand);
  }

  Result<int32_t> Binary(int32_t node) {
    const Node& n = N(node);
    CL_ASSIGN_OR_RETURN(int32_t a, Check(n.operands[0]));
    CL_ASSIGN_OR_RETURN(int32_t b, Check(n.operands[1]));
    const std::string op = "\"" + std::string(OpText(n.op)) + "\"";
    const Kind ka = K(a), kb = K(b);
    switch (n.op) {
      case Op::kAnd:
      case Op::kOr:
        if (ka != Kind::kBool || kb != Kind::kBool) {
          return Error(node, op + " needs two bools, not " + What(ka != Kind::kBool ? a : b));
        }
        return Emit(n.op == Op::kAnd ? Code::kAnd : Code::kOr, BoolType(), node, a, b);
      case Op::kEq:
      case Op::kNe:
        if (!Scalar(ka) || ka != kb)
          return Error(node,
                       op + " compares two values of one type: " + What(a) + " and " + What(b));
        return Emit(n.op == Op::kEq ? Code::kEq : Code::kNe, BoolType(), node, a, b);
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        if (ka != kb || !(ka == Kind::kInt || ka == Kind::kTime || ka == Kind::kString)) {
          return Error(node, op + " orders two ints, two times or two strings: " + What(a) +
                                 " and " + What(b));
        }
        static constexpr Code kCodes[] = {Code::kLt, Code::kLe, Code::kGt, Code::kGe};
        return Emit(kCodes[static_cast<int>(n.op) - static_cast<int>(Op::kLt)], BoolType(), node, a,
                    b);
      }
      case Op::kIn:
        if (kb != Kind::kList || !Scalar(ka) || TypeOf(b)->element->kind != ka) {
          return Error(
              node, "\"in\" needs a value and a list of that type: " + What(a) + " in " + What(b));
        }
        return Emit(Code::kIn, BoolType(), node, a, b);
      case Op::kAdd:
      case Op::kSub: {
        const Type* result = nullptr;
        if (ka == Kind::kInt && kb == Kind::kInt) result = IntType();
        if (ka == Kind::kTime && kb == Kind::kInt) result = TimeType();
        if (n.op == Op::kAdd && ka == Kind::kInt && kb == Kind::kTime) result = TimeType();
        if (n.op == Op::kSub && ka == Kind::kTime && kb == Kind::kTime) result = IntType();
        if (result == nullptr) {
          return Error(node,
                       op + " takes ints, a time and an int (seconds), or two times to subtract: " +
                           What(a) + " and " + What(b));
        }
        return Emit(n.op == Op::kAdd ? Code::kAdd : Code::kSub, result, node, a, b);
      }
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
        if (ka != Kind::kInt || kb != Kind::kInt)
          return Error(node, op + " needs two ints: " + What(a) + " and " + What(b));
        return Emit(n.op == Op::kMul   ? Code::kMul
                    : n.op == Op::kDiv ? Code::kDiv
                                       : Code::kMod,
                    IntType(), node, a, b);
      default:
        break;
    }
    return Error(node, "unsupported operator " + op);
  }

  Status Arity(int32_t node, size_t min, size_t max, const std::string& usage) const {
    const size_t n = N(node).operands.size();
    if (n < min || n > max) return Error(node, "usage: " + usage);
    return Status::Ok();
  }

  Result<int32_t> Arg(int32_t node, size_t i, Kind kind, const std::string& usage) {
    CL_ASSIGN_OR_RETURN(int32_t arg, Check(N(node).operands[i]));
    if (K(arg) != kind)
      return Error(N(node).operands[i],
                   "usage: " + usage + "; " + What(arg) + " is the wrong type");
    return arg;
  }

  // A literal string argument, converted at load.
  Result<std::string> LiteralString(int32_t node, size_t i, const std::string& usage) const {
    const Node& arg = N(N(node).operands[i]);
    if (arg.kind != NodeKind::kString)
      return Error(N(node).operands[i], "usage: " + usage + " (a literal string)");
    return arg.text;
  }

  Result<int32_t> Quantifier(int32_t node, Code code, const std::string& name) {
    const std::string usage = name + "(list, x, predicate on x)";
    CL_RETURN_IF_ERROR(Arity(node, 3, 3, usage));
    CL_ASSIGN_OR_RETURN(int32_t list, Arg(node, 0, Kind::kList, usage));
    const Node& var = N(N(node).operands[1]);
    if (var.kind != NodeKind::kIdent)
      return Error(N(node).operands[1], "usage: " + usage + " (x is a plain name)");
    if (schema_.root().FieldSlot(var.text) >= 0) {
      return Error(N(node).operands[1],
                   "\"" + var.text + "\" is an input field; name the variable differently");
    }
    const int slot = static_cast<int>(scopes_.size());
    if (slot >= 64) return Error(node, "quantifiers nest deeper than 64");
    scopes_.push_back({var.text, slot, TypeOf(list)->element});
    program_.variables_ = std::max(program_.variables_, slot + 1);
    auto pred = Arg(node, 2, Kind::kBool, usage);
    scopes_.pop_back();
    if (!pred.ok()) return pred.status();
    return Emit(code, code == Code::kCount ? IntType() : BoolType(), node, list, slot, *pred);
  }

  Result<int32_t> TimePart(int32_t node, Code code, const std::string& name, const Type* result) {
    const std::string usage = name + "(time) or " + name + "(time, \"+01:00\")";
    CL_RETURN_IF_ERROR(Arity(node, 1, 2, usage));
    CL_ASSIGN_OR_RETURN(int32_t t, Arg(node, 0, Kind::kTime, usage));
    int64_t offset = 0;
    if (N(node).operands.size() == 2) {
      CL_ASSIGN_OR_RETURN(std::string text, LiteralString(node, 1, usage));
      const auto parsed = ParseOffset(text);
      if (!parsed) {
        return Error(N(node).operands[1],
                     "\"" + text + "\" is not an offset: use \"UTC\" or \"+HH:MM\"/\"-HH:MM\"");
      }
      offset = *parsed;
    }
    return Emit(code, result, node, t, -1, -1, offset);
  }

  Result<int32_t> Call(int32_t node) {
    const std::string& f = N(node).text;
    auto strings2 = [&](Code code) -> Result<int32_t> {
      const std::string usage = f + "(string, string)";
      CL_RETURN_IF_ERROR(Arity(node, 2, 2, usage));
      CL_ASSIGN_OR_RETURN(int32_t a, Arg(node, 0, Kind::kString, usage));
      CL_ASSIGN_OR_RETURN(int32_t b, Arg(node, 1, Kind::kString, usage));
      return Emit(code, BoolType(), node, a, b);
    };
    auto string1 = [&](Code code) -> Result<int32_t> {
      const std::string usage = f + "(string)";
      CL_RETURN_IF_ERROR(Arity(node, 1, 1, usage));
      CL_ASSIGN_OR_RETURN(int32_t a, Arg(node, 0, Kind::kString, usage));
      return Emit(code, StringType(), node, a);
    };
    auto duration = [&](Code code) -> Result<int32_t> {
      const std::string usage = f + "(int)";
      CL_RETURN_IF_ERROR(Arity(node, 1, 1, usage));
      CL_ASSIGN_OR_RETURN(int32_t a, Arg(node, 0, Kind::kInt, usage));
      return Emit(code, IntType(), node, a);
    };
    if (f == "size") {
      CL_RETURN_IF_ERROR(Arity(node, 1, 1, "size(list or string)"));
      CL_ASSIGN_OR_RETURN(int32_t a, Check(N(node).operands[0]));
      if (K(a) != Kind::kList && K(a) != Kind::kString)
        return Error(node, "size() takes a list or a string, not " + What(a));
      return Emit(Code::kSize, IntType(), node, a);
    }
    if (f == "count") return Quantifier(node, Code::kCount, f);
    if (f == "all") return Quantifier(node, Code::kAll, f);
    if (f == "exists") return Quantifier(node, Code::kExists, f);
    if (f == "startsWith") return strings2(Code::kStartsWith);
    if (f == "endsWith") return strings2(Code::kEndsWith);
    if (f == "contains") return strings2(Code::kContains);
    if (f == "matches") return strings2(Code::kMatches);
    if (f == "host") return string1(Code::kHost);
    if (f == "lower") return string1(Code::kLower);
    if (f == "now") {
      CL_RETURN_IF_ERROR(Arity(node, 0, 0, "now()"));
      const int slot = schema_.root().FieldSlot("time");
      // Schemas without a time (expressions inside automation steps) have no now().
      if (slot < 0) return Error(node, "now() is not available here: the input has no time");
      return Emit(Code::kInput, TimeType(), node, slot);
    }
    if (f == "time") {
      CL_RETURN_IF_ERROR(Arity(node, 1, 1, "time(\"2026-12-24T00:00:00Z\")"));
      CL_ASSIGN_OR_RETURN(std::string text,
                          LiteralString(node, 0, "time(\"2026-12-24T00:00:00Z\")"));
      const auto t = ParseTime(text);
      if (!t)
        return Error(N(node).operands[0],
                     "\"" + text + "\" is not an RFC 3339 time or a YYYY-MM-DD date");
      return Constant(Value::Int(*t, Kind::kTime), TimeType(), node);
    }
    if (f == "weekday") return TimePart(node, Code::kWeekday, f, IntType());
    if (f == "hour") return TimePart(node, Code::kHour, f, IntType());
    if (f == "minute") return TimePart(node, Code::kMinute, f, IntType());
    if (f == "date") return TimePart(node, Code::kDate, f, StringType());
    if (f == "days") return duration(Code::kDays);
    if (f == "hours") return duration(Code::kHours);
    if (f == "minutes") return duration(Code::kMinutes);
    return Error(node, "unknown function \"" + f +
                           "\" (functions: size, count, all, exists, startsWith, endsWith, "
                           "contains, matches, host, "
                           "lower, now, time, weekday, hour, minute, date, days, hours, minutes)");
  }

  struct Scope {
    std::string name;
    int slot;
    const Type* type;
  };

  const Schema& schema_;
  Program program_;
  std::vector<Scope> scopes_;
};

Result<Program> Compile(Expression expression, const Schema& schema, const Type* want) {
  return Compiler(std::move(expression), schema).Run(want);
}

Result<Program> CompileText(std::string_view source, const Schema& schema, const Type* want,
                            int first_line, int first_column) {
  ParseLimits limits;
  CL_ASSIGN_OR_RETURN(Expression e, ParseExpression(source, limits, first_line, first_column));
  return Compile(std::move(e), schema, want);
}

}  // namespace cloister::policy
