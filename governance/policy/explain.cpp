// Rule evaluation with explanations. The fast path evaluates each rule once;
// only a failing rule is walked again to find the clause that decided it and
// the values it saw.
#include "governance/policy/policy_set.h"

namespace cloister::policy {
namespace {

constexpr size_t kMaxObservations = 16;
constexpr uint32_t kMaxListShown = 20;
constexpr size_t kMaxStringShown = 512;

std::string Shown(const Value& v, const Type& type) {
  std::string out;
  AppendJson(v, type, out, kMaxListShown, kMaxStringShown);
  return out;
}

class Explainer {
 public:
  Explainer(const Program& p, Evaluator& ev, RuleVerdict& out) : p_(p), ev_(ev), out_(out) {}

  // `value` is what the rule's expression evaluated to.
  void Run(bool value) {
    int32_t cur = p_.root();
    for (;;) {
      const Instr& in = p_.code()[static_cast<size_t>(cur)];
      if (in.code == Code::kAnd && !value) {
        cur = ev_.Eval(in.a).integer == 0 ? in.a : in.b;
      } else if (in.code == Code::kOr && value) {
        cur = ev_.Eval(in.a).integer != 0 ? in.a : in.b;
      } else if (in.code == Code::kNot) {
        cur = in.a;
        value = !value;
      } else {
        break;
      }
    }
    out_.clause = p_.Text(cur);
    Observe(cur, value);
  }

 private:
  void Record(int32_t i) {
    if (p_.IsConstant(i) || out_.observed.size() >= kMaxObservations || ev_.failed()) return;
    const std::string_view text = p_.Text(i);
    const Value v = ev_.Eval(i);
    if (ev_.failed()) return;
    std::string value = Shown(v, *p_.code()[static_cast<size_t>(i)].type);
    for (const auto& o : out_.observed) {
      if (o.expr == text && o.value == value) return;
    }
    out_.observed.push_back({text, std::move(value)});
  }

  void Observe(int32_t i, bool value) {
    if (out_.observed.size() >= kMaxObservations || ev_.failed()) return;
    const Instr& in = p_.code()[static_cast<size_t>(i)];
    switch (in.code) {
      case Code::kAnd:
      case Code::kOr: {
        const bool a = ev_.Eval(in.a).integer != 0;
        const bool decisive_a = in.code == Code::kAnd ? !a : a;  // a alone decided it
        Observe(in.a, a);
        if (!decisive_a) Observe(in.b, ev_.Eval(in.b).integer != 0);
        return;
      }
      case Code::kNot: Observe(in.a, !value); return;
      case Code::kEq:
      case Code::kNe:
      case Code::kLt:
      case Code::kLe:
      case Code::kGt:
      case Code::kGe:
      case Code::kIn:
      case Code::kStartsWith:
      case Code::kEndsWith:
      case Code::kContains:
      case Code::kMatches:
        Record(in.a);
        Record(in.b);
        return;
      case Code::kAll:
      case Code::kExists: {
        // The element that decided it: the first failing one of all(), the
        // first matching one of exists().
        const bool want = in.code == Code::kExists;
        if (value != want) {
          Record(in.a);
          return;
        }
        const Value list = ev_.Eval(in.a);
        for (uint32_t k = 0; k < list.size && !ev_.failed(); ++k) {
          ev_.var(in.b) = list.items[k];
          const bool hit = ev_.Eval(in.c).integer != 0;
          if (hit == want) {
            std::string at = "\"";
            at.append(p_.Text(in.a)).append("[").append(std::to_string(k)).append("]\"");
            out_.observed.push_back({SourceText(p_.expression(), p_.expression().at(in.node).operands[1]), std::move(at)});
            Observe(in.c, hit);
            return;
          }
        }
        return;
      }
      default: Record(i); return;
    }
  }

  const Program& p_;
  Evaluator& ev_;
  RuleVerdict& out_;
};

std::string RenderMessage(const MessageTemplate& t, const Document& doc, Evaluator& ev) {
  std::string out = t.literals[0];
  for (size_t i = 0; i < t.placeholders.size(); ++i) {
    Value v;
    if (ev.Run(t.placeholders[i], doc, &v)) {
      out += ToText(v, t.placeholders[i].type());
    } else {
      out += "<" + ev.error() + ">";
    }
    out += t.literals[i + 1];
  }
  return out;
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "fail";
    case Verdict::kSkip: return "skip";
    case Verdict::kError: return "error";
  }
  return "?";
}

void EvaluatePolicy(const Policy& policy, const Document& doc, Evaluator& ev, std::vector<RuleVerdict>& out) {
  out.reserve(out.size() + policy.rules.size());
  for (const Rule& rule : policy.rules) {
    RuleVerdict& rv = out.emplace_back();
    rv.policy = &policy;
    rv.rule = &rule;
    Value v;
    if (rule.when && !ev.Run(*rule.when, doc, &v)) {
      rv.verdict = Verdict::kError;
      rv.error = "in when: " + ev.error();
    } else if (rule.when && v.integer == 0) {
      rv.verdict = Verdict::kSkip;
      continue;
    } else if (!ev.Run(rule.test, doc, &v)) {
      rv.verdict = Verdict::kError;
      rv.error = ev.error();
    } else {
      rv.verdict = (v.integer != 0) == rule.deny ? Verdict::kFail : Verdict::kPass;
    }
    if (rv.verdict == Verdict::kPass) continue;
    rv.message = RenderMessage(rule.message, doc, ev);
    if (rv.verdict == Verdict::kFail) {
      ev.Begin(rule.test, doc);
      Explainer(rule.test, ev, rv).Run(rule.deny);
    }
  }
}

Json RuleVerdict::ToJson() const {
  Json j = {{"policy", policy->name}, {"rule", rule->id}, {"verdict", VerdictName(verdict)}};
  if (!failed()) return j;
  j["description"] = rule->description;
  if (!rule->controls.empty()) j["controls"] = rule->controls;
  j["message"] = message;
  if (verdict == Verdict::kError) {
    j["error"] = error;
    return j;
  }
  j["clause"] = std::string(clause);
  Json seen = Json::array();
  for (const auto& o : observed) seen.push_back({{"expr", std::string(o.expr)}, {"value", o.json()}});
  j["observed"] = std::move(seen);
  return j;
}

}  // namespace cloister::policy
