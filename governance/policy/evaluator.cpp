#include <cstring>

#include "governance/policy/calendar.h"
#include "governance/policy/program.h"

namespace cloister::policy {

namespace {

// One element of a glob pattern at byte `at` of the pattern.
struct GlobToken {
  enum Kind { kStar, kAny, kChar } kind;
  char c;
  size_t width;  // pattern bytes it spans: 2 for an escape
};

inline GlobToken TokenAt(std::string_view pattern, size_t at) {
  const char c = pattern[at];
  if (c == '*') return {GlobToken::kStar, 0, 1};
  if (c == '?') return {GlobToken::kAny, 0, 1};
  if (c == '\\' && at + 1 < pattern.size()) return {GlobToken::kChar, pattern[at + 1], 2};
  return {GlobToken::kChar, c, 1};  // a trailing "\" is itself
}

// Matches by segments, the runs of the pattern between stars: the first is
// anchored at the start of the text, the last at its end, and each one
// between is placed at its leftmost occurrence after the previous one, which
// leaves the most text for the rest. A placed segment is never moved, so the
// work is one pass over the pattern plus one left-to-right search per
// segment; examined_ counts every character compared and the match gives up
// once it passes budget_.
class GlobMatcher {
 public:
  GlobMatcher(std::string_view text, std::string_view pattern, int64_t budget)
      : text_(text), pattern_(pattern), budget_(budget) {}

  GlobResult Run() {
    const bool match = Match();
    return too_costly_ ? GlobResult::kTooCostly : match ? GlobResult::kMatch : GlobResult::kNoMatch;
  }
  int64_t examined() const { return examined_; }

 private:
  struct Segment {
    size_t begin = 0, end = 0;  // pattern bytes, ending at a star or the end
    size_t length = 0;          // text characters it matches
  };

  Segment SegmentFrom(size_t from) const {
    Segment seg{from, from, 0};
    while (seg.end < pattern_.size()) {
      const GlobToken tok = TokenAt(pattern_, seg.end);
      if (tok.kind == GlobToken::kStar) break;
      seg.end += tok.width;
      ++seg.length;
    }
    return seg;
  }

  bool OverBudget() {
    if (examined_ > budget_) too_costly_ = true;
    return too_costly_;
  }

  bool MatchAt(const Segment& seg, size_t t) {
    for (size_t p = seg.begin; p < seg.end; ++t) {
      const GlobToken tok = TokenAt(pattern_, p);
      ++examined_;
      if (tok.kind == GlobToken::kChar && text_[t] != tok.c) return false;
      p += tok.width;
    }
    return true;
  }

  // The leftmost t in [lo, hi - seg.length] where seg matches; npos if none.
  size_t Find(const Segment& seg, size_t lo, size_t hi) {
    if (hi < lo || hi - lo < seg.length) return std::string_view::npos;
    const size_t last = hi - seg.length;
    const GlobToken first = TokenAt(pattern_, seg.begin);
    for (size_t t = lo; t <= last; ++t) {
      if (OverBudget()) return std::string_view::npos;
      if (first.kind == GlobToken::kChar) {
        const void* at = std::memchr(text_.data() + t, first.c, last - t + 1);
        const size_t next = at == nullptr ? last + 1 : static_cast<size_t>(static_cast<const char*>(at) - text_.data());
        examined_ += static_cast<int64_t>(next - t);
        if (next > last) return std::string_view::npos;
        t = next;
      }
      if (MatchAt(seg, t)) return t;
    }
    return std::string_view::npos;
  }

  bool Match() {
    examined_ = static_cast<int64_t>(pattern_.size());  // the pass that finds the stars
    size_t last_star = std::string_view::npos;
    for (size_t p = 0; p < pattern_.size(); p += TokenAt(pattern_, p).width) {
      if (pattern_[p] == '*') last_star = p;
    }
    if (OverBudget()) return false;
    const size_t n = text_.size();
    const Segment head = SegmentFrom(0);
    if (last_star == std::string_view::npos) return head.length == n && MatchAt(head, 0);
    const Segment tail = SegmentFrom(last_star + 1);
    if (head.length + tail.length > n) return false;
    if (!MatchAt(head, 0) || !MatchAt(tail, n - tail.length)) return false;
    size_t lo = head.length;
    const size_t hi = n - tail.length;
    for (size_t p = head.end; p < last_star;) {
      const Segment seg = SegmentFrom(p + 1);  // p is at a star
      p = seg.end;
      if (seg.length == 0) continue;
      const size_t at = Find(seg, lo, hi);
      if (at == std::string_view::npos) return false;
      lo = at + seg.length;
    }
    return !OverBudget();
  }

  std::string_view text_;
  std::string_view pattern_;
  int64_t budget_;
  int64_t examined_ = 0;
  bool too_costly_ = false;
};

}  // namespace

GlobResult GlobMatchBounded(std::string_view text, std::string_view pattern, int64_t max_examined,
                            int64_t* examined) {
  GlobMatcher m(text, pattern, max_examined);
  const GlobResult r = m.Run();
  if (examined != nullptr) *examined = m.examined();
  return r;
}

bool GlobMatch(std::string_view text, std::string_view pattern) {
  return GlobMatchBounded(text, pattern, INT64_MAX, nullptr) == GlobResult::kMatch;
}

std::string_view UrlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string_view() : rest.substr(1, close - 1);
  }
  return rest.substr(0, rest.find(':'));
}

namespace {

// Most strings policies compare are short; a call to memcmp costs more than
// the comparison.
inline bool SameString(const Value& a, const Value& b) {
  if (a.size != b.size) return false;
  if (a.size > 16) return std::memcmp(a.chars, b.chars, a.size) == 0;
  for (uint32_t i = 0; i < a.size; ++i) {
    if (a.chars[i] != b.chars[i]) return false;
  }
  return true;
}

}  // namespace

const Value& Evaluator::NoValue() {
  // Every field of an object, every character of a string and every element
  // of a list read from it is in bounds: its size is 0, and its items are
  // this table, whose entries are all again the same value.
  static const Value* const table = [] {
    static std::array<Value, kMaxObjectFields> t;
    for (Value& v : t) {
      v.kind = Kind::kObject;
      v.size = 0;
      v.items = t.data();
    }
    return t.data();
  }();
  return *table;
}

Evaluator::Evaluator(EvalLimits limits) : limits_(limits) {
  scratch_.reserve(limits_.scratch_bytes);
  vars_.fill(NoValue());
}

void Evaluator::Begin(const Program& program, const Document& doc) {
  for (int v = 0; v < program.variables() && v < static_cast<int>(kMaxVariables); ++v) {
    vars_[static_cast<size_t>(v)] = NoValue();
  }
  program_ = &program;
  code_ = program.code().data();
  constants_ = program.constants();
  root_ = &doc.root();
  steps_ = 0;
  failed_ = false;
  error_.clear();
  scratch_.clear();
}

bool Evaluator::Run(const Program& program, const Document& doc, Value* out) {
  Begin(program, doc);
  *out = Eval(program.root());
  return !failed_;
}

Value Evaluator::Fail(const std::string& why) {
  if (!failed_) {
    failed_ = true;
    error_ = why;
    // From here on every Eval stops at its budget check, the only test on
    // the hot path.
    steps_ = INT64_MAX / 2;
  }
  return NoValue();
}

Value Evaluator::BudgetExhausted() {
  return failed_ ? NoValue() : Fail("step budget of " + std::to_string(limits_.max_steps) + " exhausted");
}

// Strings built during evaluation live in scratch_, whose capacity is fixed
// at construction so earlier results never move.
Value Evaluator::Str(std::string_view s) {
  if (scratch_.size() + s.size() > scratch_.capacity()) {
    return Fail("scratch space of " + std::to_string(limits_.scratch_bytes) + " bytes exhausted");
  }
  const size_t at = scratch_.size();
  scratch_.append(s);
  return Value::String(std::string_view(scratch_.data() + at, s.size()));
}

// Leaves are read in place rather than through Eval: half the nodes of a
// typical rule are constants and field reads, and a call each would double
// the cost. Leaves do not count against the budget; every loop iteration and
// every inner node does, which bounds the work all the same.
__attribute__((always_inline)) inline Value Evaluator::Operand(int32_t i) {
  const Instr& in = code_[i];
  switch (in.code) {
    case Code::kConst: return constants_[in.a];
    case Code::kVarField: return vars_[static_cast<size_t>(in.a)].items[in.b];
    case Code::kInputField: return root_->items[in.a].items[in.b];
    case Code::kVar: return vars_[static_cast<size_t>(in.a)];
    default: return Eval(i);
  }
}

Value Evaluator::Quantify(const Instr& in) {
  const Value list = Operand(in.a);
  const Code code = in.code;
  int64_t count = 0;
  for (uint32_t i = 0; i < list.size && !failed_; ++i) {
    if (++steps_ > limits_.max_steps) return BudgetExhausted();
    vars_[static_cast<size_t>(in.b)] = list.items[i];
    const bool hit = Eval(in.c).integer != 0;
    if (code == Code::kCount) {
      count += hit;
    } else if (code == Code::kAll && !hit) {
      return Value::Bool(false);
    } else if (code == Code::kExists && hit) {
      return Value::Bool(true);
    }
  }
  if (code == Code::kCount) return Value::Int(count);
  return Value::Bool(code == Code::kAll);
}

Value Evaluator::Arith(const Instr& in) {
  const Value a = Operand(in.a);
  const Value b = Operand(in.b);
  int64_t r = 0;
  bool overflow = false;
  switch (in.code) {
    case Code::kAdd: overflow = __builtin_add_overflow(a.integer, b.integer, &r); break;
    case Code::kSub: overflow = __builtin_sub_overflow(a.integer, b.integer, &r); break;
    case Code::kMul: overflow = __builtin_mul_overflow(a.integer, b.integer, &r); break;
    case Code::kDiv:
    case Code::kMod:
      if (b.integer == 0) return Fail("division by zero in \"" + std::string(program_->Text(in.b)) + "\"");
      if (a.integer == INT64_MIN && b.integer == -1) {
        overflow = true;
        break;
      }
      r = in.code == Code::kDiv ? a.integer / b.integer : a.integer % b.integer;
      break;
    default: break;
  }
  if (overflow) return Fail("integer overflow in \"" + std::string(program_->Text(static_cast<int32_t>(&in - code_))) + "\"");
  return Value::Int(r, in.type->kind);
}

Value Evaluator::Compare(const Instr& in) {
  const Value a = Operand(in.a);
  const Value b = Operand(in.b);
  if (in.code == Code::kEq || in.code == Code::kNe) {
    const bool eq = a.kind == Kind::kString ? SameString(a, b) : a.integer == b.integer;
    return Value::Bool(eq == (in.code == Code::kEq));
  }
  int c = 0;
  if (a.kind == Kind::kString) {
    const int r = a.str().compare(b.str());
    c = r < 0 ? -1 : r > 0;
  } else {
    c = a.integer < b.integer ? -1 : a.integer > b.integer;
  }
  switch (in.code) {
    case Code::kEq: return Value::Bool(c == 0);
    case Code::kNe: return Value::Bool(c != 0);
    case Code::kLt: return Value::Bool(c < 0);
    case Code::kLe: return Value::Bool(c <= 0);
    case Code::kGt: return Value::Bool(c > 0);
    default: return Value::Bool(c >= 0);
  }
}

Value Evaluator::Eval(int32_t i) {
  if (++steps_ > limits_.max_steps) return BudgetExhausted();
  const Instr& in = code_[i];
  switch (in.code) {
    case Code::kConst: return program_->constant(in.a);
    case Code::kInput: return root_->items[in.a];
    case Code::kVar: return vars_[static_cast<size_t>(in.a)];
    case Code::kField: return Operand(in.a).items[in.b];
    case Code::kVarField: return vars_[static_cast<size_t>(in.a)].items[in.b];
    case Code::kInputField: return root_->items[in.a].items[in.b];
    case Code::kIndex: {
      const Value list = Operand(in.a);
      const Value index = Operand(in.b);
      if (failed_) return NoValue();
      if (index.integer < 0 || index.integer >= list.size) {
        return Fail("index " + std::to_string(index.integer) + " is out of range for \"" +
                    std::string(program_->Text(in.a)) + "\" of size " + std::to_string(list.size));
      }
      return list.items[index.integer];
    }
    case Code::kNot: return Value::Bool(Operand(in.a).integer == 0);
    case Code::kNeg: {
      const Value a = Operand(in.a);
      if (a.integer == INT64_MIN) return Fail("integer overflow in \"" + std::string(program_->Text(i)) + "\"");
      return Value::Int(-a.integer);
    }
    case Code::kAnd: return Value::Bool(Operand(in.a).integer != 0 && Operand(in.b).integer != 0);
    case Code::kOr: return Value::Bool(Operand(in.a).integer != 0 || Operand(in.b).integer != 0);
    case Code::kEq:
    case Code::kNe:
    case Code::kLt:
    case Code::kLe:
    case Code::kGt:
    case Code::kGe: return Compare(in);
    case Code::kIn: {
      const Value a = Operand(in.a);
      const Value list = Operand(in.b);
      for (uint32_t k = 0; k < list.size; ++k) {
        const Value& e = list.items[k];
        if (a.kind == Kind::kString ? SameString(a, e) : a.integer == e.integer) return Value::Bool(true);
      }
      return Value::Bool(false);
    }
    case Code::kAdd:
    case Code::kSub:
    case Code::kMul:
    case Code::kDiv:
    case Code::kMod: return Arith(in);
    case Code::kSize: return Value::Int(Operand(in.a).size);
    case Code::kCount:
    case Code::kAll:
    case Code::kExists: return Quantify(in);
    case Code::kStartsWith: {
      const std::string_view s = Operand(in.a).str(), p = Operand(in.b).str();
      return Value::Bool(s.size() >= p.size() && s.compare(0, p.size(), p) == 0);
    }
    case Code::kEndsWith: {
      const std::string_view s = Operand(in.a).str(), p = Operand(in.b).str();
      return Value::Bool(s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0);
    }
    case Code::kContains: {
      const std::string_view s = Operand(in.a).str(), p = Operand(in.b).str();
      return Value::Bool(s.find(p) != std::string_view::npos);
    }
    case Code::kMatches: {
      const std::string_view s = Operand(in.a).str(), p = Operand(in.b).str();
      if (failed_) return NoValue();
      // Charged for the characters it reads, one step per kGlobCharsPerStep,
      // and stopped where that would pass the budget.
      const int64_t left = (limits_.max_steps - steps_) * kGlobCharsPerStep;
      int64_t examined = 0;
      const GlobResult r = GlobMatchBounded(s, p, left, &examined);
      steps_ += (examined + kGlobCharsPerStep - 1) / kGlobCharsPerStep;
      if (r == GlobResult::kTooCostly || steps_ > limits_.max_steps) return BudgetExhausted();
      return Value::Bool(r == GlobResult::kMatch);
    }
    case Code::kHost: return Value::String(UrlHost(Operand(in.a).str()));
    case Code::kLower: {
      const std::string_view s = Operand(in.a).str();
      bool upper = false;
      for (char ch : s) upper = upper || (ch >= 'A' && ch <= 'Z');
      if (!upper) return Value::String(s);
      Value out = Str(s);
      if (failed_) return out;
      char* p = scratch_.data() + (out.chars - scratch_.data());
      for (uint32_t k = 0; k < out.size; ++k) {
        if (p[k] >= 'A' && p[k] <= 'Z') p[k] = static_cast<char>(p[k] - 'A' + 'a');
      }
      return out;
    }
    case Code::kWeekday:
    case Code::kHour:
    case Code::kMinute:
    case Code::kDate: {
      const int64_t t = Operand(in.a).integer;
      // Years 0..9999: beyond them a time is an arithmetic mistake, not a date.
      if (t < -62167219200 || t > 253402300799) {
        return Fail("time out of range in \"" + std::string(program_->Text(in.a)) + "\"");
      }
      const int32_t offset = static_cast<int32_t>(in.imm);
      if (in.code == Code::kDate) {
        char buf[10];
        FormatDate(t, offset, buf);
        return Str(std::string_view(buf, sizeof buf));
      }
      const CivilTime c = ToCivil(t, offset);
      return Value::Int(in.code == Code::kWeekday ? c.weekday : in.code == Code::kHour ? c.hour : c.minute);
    }
    case Code::kDays:
    case Code::kHours:
    case Code::kMinutes: {
      const int64_t unit = in.code == Code::kDays ? 86400 : in.code == Code::kHours ? 3600 : 60;
      int64_t r = 0;
      if (__builtin_mul_overflow(Operand(in.a).integer, unit, &r)) {
        return Fail("integer overflow in \"" + std::string(program_->Text(i)) + "\"");
      }
      return Value::Int(r);
    }
  }
  return Fail("unknown instruction");
}

}  // namespace cloister::policy
