// libFuzzer target for the policy loader, the expression language and the
// input documents policies read. The first byte says what the rest is:
//
//   bit 0   0: a Policy or PolicyBinding document; 1: an expression
//   bit 1   0: evaluated on a fixed promotion input; 1: the text ends at the
//           first NUL byte and the bytes after it shape the input document
//   bits 2-3  with bit 1, the hook an expression is compiled for
//           (promotion, automation.save, run.step, api.request)
//
// Shaped inputs follow the hook's schema (hook_schemas.cpp): each field
// absent, null or present, lists of 0-3 elements, strings, ints and times
// from a dictionary of edge cases or from the bytes, and now and then a value
// of the wrong type, so that binding, evaluation and explanation are fuzzed
// on the documents a policy can actually meet (a second step that is not
// there, an approval without roles), not only on one fixed input. Everything
// that loads is evaluated with a small budget; explanations and decisions
// must render as valid JSON, and a failed evaluation must say why.
//
// Run for a bounded time by `make test` (tests/fuzz/run_fuzz.sh, which also
// writes the seeds):
//   CXX=clang++ cmake -S . -B build-fuzz -DCLOISTER_FUZZ=ON && cmake --build build-fuzz --target policy_fuzz
//   build-fuzz/tests/fuzz/policy_fuzz -max_total_time=60 corpus/
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "governance/policy/policy_set.h"

namespace {

using namespace cloister::policy;
using cloister::Json;

const Document& FixedInput() {
  static const Document doc = [] {
    auto d = Document::Bind(*HookSchema("promotion"),
                            {{"time", "2026-11-20T15:30:00Z"},
                             {"promotion",
                              {{"to", "prod"},
                               {"author", "alice"},
                               {"approvals", {{{"user", "bob"}, {"roles", {"approver"}}}, {{"user", "alice"}}}}}},
                             {"definition",
                              {{"name", "Fuzz"},
                               {"tags", {"a", "b", "c"}},
                               {"steps", {{{"type", "http"}, {"url", "https://u:p@h.internal:1/x"}}}}}}});
    if (!d.ok()) __builtin_trap();
    return std::move(*d);
  }();
  return doc;
}

// The fuzzer's bytes, read one at a time; zeros once they run out, which
// leaves every remaining field absent.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Next() { return at_ < size_ ? data_[at_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// Builds a JSON input of a hook's shape from the bytes.
class InputMaker {
 public:
  explicit InputMaker(Bytes& bytes) : bytes_(bytes) {}

  Json Make(const Type& type) {
    Json out = Json::object();
    for (const auto& [name, field] : type.fields) {
      const uint8_t b = bytes_.Next();
      if (b % 8 == 0) continue;  // absent
      if (b % 8 == 1) {
        out[name] = nullptr;
      } else if (b == 0xFF) {
        out[name] = WrongType(*field);
      } else {
        out[name] = Field(*field);
      }
    }
    return out;
  }

 private:
  Json Field(const Type& type) {
    if (++depth_ > 8) {
      --depth_;
      return nullptr;
    }
    Json out;
    switch (type.kind) {
      case Kind::kBool: out = (bytes_.Next() & 1) != 0; break;
      case Kind::kInt: out = Int(); break;
      case Kind::kTime: out = Time(); break;
      case Kind::kString: out = String(); break;
      case Kind::kList: {
        out = Json::array();
        const int n = bytes_.Next() % 4;
        for (int i = 0; i < n; ++i) {
          const uint8_t b = bytes_.Next();
          out.push_back(b % 16 == 15 ? Json(nullptr) : Field(*type.element));
        }
        break;
      }
      case Kind::kObject: out = Make(type); break;
    }
    --depth_;
    return out;
  }

  Json WrongType(const Type& type) {
    switch (type.kind) {
      case Kind::kString:
      case Kind::kTime: return Int();
      case Kind::kList: return String();
      default: return Json::array({String()});
    }
  }

  int64_t Int() {
    const uint8_t b = bytes_.Next();
    switch (b % 8) {
      case 0: return 0;
      case 1: return 1;
      case 2: return -1;
      case 3: return INT64_MAX;
      case 4: return INT64_MIN;
      case 5: {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = v << 8 | bytes_.Next();
        return static_cast<int64_t>(v);
      }
      default: return static_cast<int64_t>(b >> 3) - 8;
    }
  }

  std::string Time() {
    static const char* const kTimes[] = {
        "2026-11-20T15:30:00Z", "2026-11-06T15:30:00Z", "2026-11-20T15:30:01Z", "1970-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-12-24T00:00:00Z", "2026-11-20T15:30:00+01:00",
        "2026-02-29T00:00:00Z", "not a time",
    };
    const uint8_t b = bytes_.Next();
    if (b < 200) return kTimes[b % (sizeof kTimes / sizeof kTimes[0])];
    char buf[32];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", bytes_.Next() * 40, bytes_.Next() % 13,
             bytes_.Next() % 32, bytes_.Next() % 25, bytes_.Next() % 60, bytes_.Next() % 61);
    return buf;
  }

  std::string String() {
    // Values the shipped policies compare with, and shapes host() and
    // matches() parse.
    static const char* const kStrings[] = {
        "", "prod", "test", "dev", "alice", "bob", "carol", "approver", "operator", "auditor", "author",
        "http", "llm", "https://erp.internal/api", "https://u:p@h.internal:1/x", "https://[fd00::1]:9000/v1",
        "http://", "://x", "*", "*.internal", "erp.internal", "v-abc", "v-old", "${secrets.erp_token}",
        "erp_token", "confidential", "restricted", "schedule", "GET", "POST", "/api/v1/automations",
        "10.0.0.1", "Authorization", "Bearer abc", "\\", "\xc3\xa9t\xc3\xa9",
    };
    const uint8_t b = bytes_.Next();
    if (b < 224) return kStrings[b % (sizeof kStrings / sizeof kStrings[0])];
    std::string s;
    const int n = bytes_.Next() % 24;
    for (int i = 0; i < n; ++i) {
      const uint8_t c = bytes_.Next();
      s += c == 0xFF ? '\xff' : static_cast<char>(0x20 + c % 95);  // now and then not UTF-8
    }
    return s;
  }

  Bytes& bytes_;
  int depth_ = 0;
};

// The input for `hook` shaped by `bytes`, or nullopt where binding refuses
// it (wrong types, bad times, invalid UTF-8), which must be a clean refusal.
std::optional<Document> ShapedInput(const std::string& hook, const uint8_t* data, size_t size) {
  const Schema* schema = HookSchema(hook);
  if (schema == nullptr) __builtin_trap();
  Bytes bytes(data, size);
  const Json input = InputMaker(bytes).Make(schema->root());
  auto doc = Document::Bind(*schema, input);
  if (!doc.ok()) {
    if (doc.status().message().empty()) __builtin_trap();
    return std::nullopt;
  }
  // What was bound reads back as JSON the schema accepts again.
  std::string text;
  AppendJson(doc->root(), schema->root(), text);
  if (!Document::Bind(*schema, Json::parse(text)).ok()) __builtin_trap();
  return std::move(*doc);
}

Evaluator& TheEvaluator() {
  // One evaluator for every input, as a deciding thread keeps one: state
  // left by one evaluation must not leak into the next.
  static Evaluator evaluator(EvalLimits{.max_steps = 20000, .scratch_bytes = 4096});
  return evaluator;
}

void CheckVerdicts(const std::vector<RuleVerdict>& verdicts) {
  for (const auto& v : verdicts) {
    if (v.verdict == Verdict::kError && v.error.empty()) __builtin_trap();  // an error says what it is
    (void)v.ToJson().dump();
    for (const auto& o : v.observed) (void)o.json();  // valid JSON
  }
}

void EvaluateExpression(const std::string& text, const std::string& hook, const Document& doc) {
  Evaluator& ev = TheEvaluator();
  auto program = CompileText(text, *HookSchema(hook), nullptr);
  if (!program.ok()) return;
  Value v;
  if (ev.Run(*program, doc, &v)) {
    std::string out;
    AppendJson(v, program->type(), out, 20, 512);
    (void)Json::parse(out);  // must be valid JSON
  } else if (ev.error().empty()) {
    __builtin_trap();
  }
  if (program->type().kind != Kind::kBool) return;
  // As a rule, both ways round, so explanations walk it too.
  Policy policy;
  policy.name = "fuzz";
  policy.hook = hook;
  for (const bool deny : {false, true}) {
    auto test = CompileText(text, *HookSchema(hook), BoolType());
    if (!test.ok()) __builtin_trap();  // it compiled a moment ago
    Rule rule;
    rule.id = deny ? "deny" : "require";
    rule.deny = deny;
    rule.test = std::move(*test);
    rule.message.literals = {"failed"};
    policy.rules.push_back(std::move(rule));
  }
  std::vector<RuleVerdict> verdicts;
  EvaluatePolicy(policy, doc, ev, verdicts);
  CheckVerdicts(verdicts);
}

void EvaluateDocument(const std::string& text, const uint8_t* shape, size_t shape_size, bool shaped) {
  auto set = PolicySet::Build({{"fuzz.yaml", text}});
  if (!set.ok()) return;
  for (const auto& [name, policy] : (*set)->policies()) {
    std::optional<Document> shaped_doc;
    if (shaped) {
      shaped_doc = ShapedInput(policy.hook, shape, shape_size);
      if (!shaped_doc) continue;
    } else if (policy.hook != "promotion") {
      continue;
    }
    std::vector<RuleVerdict> verdicts;
    EvaluatePolicy(policy, shaped ? *shaped_doc : FixedInput(), TheEvaluator(), verdicts);
    CheckVerdicts(verdicts);
  }
  for (const auto& hook : HookNames()) {
    if (!(*set)->HasBindings(hook)) continue;
    std::optional<Document> shaped_doc;
    if (shaped) shaped_doc = ShapedInput(hook, shape, shape_size);
    const Document* doc = shaped ? (shaped_doc ? &*shaped_doc : nullptr) : hook == "promotion" ? &FixedInput() : nullptr;
    if (doc == nullptr) continue;
    for (const char* env : {"prod", "test"}) {
      const Decision d = (*set)->Decide(hook, env, *doc, TheEvaluator());
      (void)d.ToJson(true).dump();
      (void)d.Summary();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const bool expression = (mode & 1) != 0;
  const bool shaped = (mode & 2) != 0;
  const std::string& hook = HookNames()[(mode >> 2) % HookNames().size()];
  const char* begin = reinterpret_cast<const char*>(data) + 1;
  size_t text_size = size - 1;
  const uint8_t* shape = nullptr;
  size_t shape_size = 0;
  if (shaped) {
    const void* nul = memchr(begin, 0, text_size);
    if (nul != nullptr) {
      const size_t at = static_cast<size_t>(static_cast<const char*>(nul) - begin);
      shape = data + 1 + at + 1;
      shape_size = text_size - at - 1;
      text_size = at;
    }
  }
  const std::string text(begin, text_size);
  if (!expression) {
    EvaluateDocument(text, shape, shape_size, shaped);
    return 0;
  }
  if (!shaped) {
    EvaluateExpression(text, "promotion", FixedInput());
    return 0;
  }
  const std::optional<Document> doc = ShapedInput(hook, shape, shape_size);
  if (doc) EvaluateExpression(text, hook, *doc);
  return 0;
}
