// A checked, compiled policy expression and the evaluator that runs it.
//
// Compile() type-checks a parsed Expression against a hook's schema once, at
// load: every name resolves to an input field slot or a bound variable, every
// operator and function gets operands of the types it takes, and literal
// arguments (time offsets, dates) are converted. The result is a flat array of
// instructions with typed operands; evaluating it is a switch per node with no
// lookups by name and no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "governance/policy/document.h"
#include "governance/policy/expression.h"

namespace cloister::policy {

enum class Code : uint8_t {
  kConst,   // constants[a]
  kInput,   // root field a
  kVar,     // variable slot a
  kField,   // (a).fields[b]
  kVarField,    // variable a's field b (x.user), fused
  kInputField,  // root field a's field b (promotion.to), fused
  kIndex,   // (a)[(b)]
  kNot,
  kNeg,
  kAnd,
  kOr,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,  // (a) in list (b)
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kSize,        // size(list or string)
  kCount,       // count(a, var b, c)
  kAll,         // all(a, var b, c)
  kExists,      // exists(a, var b, c)
  kStartsWith,  // startsWith(a, b)
  kEndsWith,
  kContains,  // contains(string a, string b)
  kMatches,   // matches(a, glob b)
  kHost,      // host(url a)
  kLower,
  kWeekday,  // weekday(time a) at offset imm
  kHour,
  kMinute,
  kDate,     // "YYYY-MM-DD"
  kDays,     // days(int a) -> seconds, hours, minutes likewise
  kHours,
  kMinutes,
};

struct Instr {
  Code code = Code::kConst;
  const Type* type = nullptr;  // the result's type
  int32_t a = -1, b = -1, c = -1;
  int64_t imm = 0;
  int32_t node = -1;  // the Expression node it came from
};

// Immutable after Compile; shareable across threads.
class Program {
 public:
  const Expression& expression() const { return expression_; }
  const std::vector<Instr>& code() const { return code_; }
  int32_t root() const { return root_; }
  const Type& type() const { return *code_[static_cast<size_t>(root_)].type; }
  const Value& constant(int32_t i) const { return constants_[static_cast<size_t>(i)]; }
  const Value* constants() const { return constants_.data(); }
  bool IsConstant(int32_t instr) const { return code_[static_cast<size_t>(instr)].code == Code::kConst; }
  int variables() const { return variables_; }
  // The source text of an instruction.
  std::string_view Text(int32_t instr) const;

 private:
  friend class Compiler;
  Expression expression_;
  std::vector<Instr> code_;
  std::vector<Value> constants_;
  std::unique_ptr<ValueArena> arena_ = std::make_unique<ValueArena>();  // constant strings and lists
  std::vector<std::unique_ptr<Type>> types_;                            // list literals' types
  const Schema* schema_ = nullptr;
  int32_t root_ = -1;
  int variables_ = 0;
};

// Type-checks and compiles `expression` against `schema`. `want` (bool for
// conditions; nullptr for any type) is the type the root must have.
// invalid_argument "line:column: <what is wrong>" naming the node, with the
// positions the expression was parsed with.
Result<Program> Compile(Expression expression, const Schema& schema, const Type* want);

// Parses and compiles in one step.
Result<Program> CompileText(std::string_view source, const Schema& schema, const Type* want, int first_line = 1,
                            int first_column = 1);

// The most fields an object type may have for a policy to read it. The
// evaluator's "no value" (see Evaluator) answers every field slot below it.
inline constexpr int kMaxObjectFields = 64;

struct EvalLimits {
  int64_t max_steps = 100000;     // instructions per evaluation, loop iterations included
  size_t scratch_bytes = 16384;   // for strings functions build (lower, date)
};

// Runs Programs against Documents. Holds the variable slots and a scratch
// buffer reserved once, so repeated evaluations do not allocate. Not
// thread-safe: one per thread.
//
// A runtime error leaves the node that met it, and every node that reads its
// result, with no value. "No value" is NoValue(): an empty string, an empty
// list and an object whose every field is again NoValue(), so an access after
// a failed index, field or call (steps[1].url, size(steps[1].secrets),
// host(steps[1].url), a quantifier over steps[1].headers) reads nothing and
// the evaluation ends with the first error; it never reads through a value
// that was not produced.
class Evaluator {
 public:
  explicit Evaluator(EvalLimits limits = {});

  // Evaluates `program` on `doc`. False on a runtime error (step budget
  // exhausted, division by zero, overflow, index out of range, time out of
  // range, scratch space exhausted), with error() naming it; `out` is then
  // meaningless and the rule it decides fails closed.
  bool Run(const Program& program, const Document& doc, Value* out);

  // What a failed node evaluates to (see above). Its integer is not 0, so no
  // caller may read it as a verdict: check failed() first.
  static const Value& NoValue();

  // For explanations: Begin, then evaluate single instructions with
  // variables set by the caller. Begin unbinds the program's variables (they
  // read as NoValue() until set), so none points into an earlier document.
  void Begin(const Program& program, const Document& doc);
  Value Eval(int32_t instr);
  Value& var(int32_t slot) { return vars_[static_cast<size_t>(slot)]; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  int64_t steps() const { return steps_; }

 private:
  static constexpr size_t kMaxVariables = 64;
  Value Fail(const std::string& why);
  Value BudgetExhausted();  // also what every Eval returns once failed
  Value Operand(int32_t instr);
  Value Quantify(const Instr& in);
  Value Arith(const Instr& in);
  Value Compare(const Instr& in);
  Value Str(std::string_view s);

  EvalLimits limits_;
  const Program* program_ = nullptr;
  const Value* root_ = nullptr;
  const Instr* code_ = nullptr;
  const Value* constants_ = nullptr;
  std::array<Value, kMaxVariables> vars_{};
  std::string scratch_;
  int64_t steps_ = 0;
  bool failed_ = false;
  std::string error_;
};

// Glob match: "*" any run of characters, "?" one character, "\" escapes.
// Never backtracks over a segment (a run between stars) once placed: one pass
// over the pattern plus one leftmost search per segment, O(text + pattern)
// for typical globs and O(text * segment) at worst. Unbounded, so for short
// patterns (pipeline automation globs); policies use GlobMatchBounded.
bool GlobMatch(std::string_view text, std::string_view pattern);

enum class GlobResult { kNoMatch, kMatch, kTooCostly };
// GlobMatch that reads at most about `max_examined` characters of text and
// pattern (each comparison counts one), answering kTooCostly past that.
// `examined` (may be null) receives the count. The evaluator charges matches()
// one step per kGlobCharsPerStep characters examined.
GlobResult GlobMatchBounded(std::string_view text, std::string_view pattern, int64_t max_examined,
                            int64_t* examined);
inline constexpr int64_t kGlobCharsPerStep = 16;
// The host of an absolute URL, without userinfo, port or IPv6 brackets; "" if
// there is none.
std::string_view UrlHost(std::string_view url);

}  // namespace cloister::policy
