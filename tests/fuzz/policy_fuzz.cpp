// libFuzzer target for the policy loader and expression language: the bytes
// are a Policy or PolicyBinding document (first byte even) or an expression
// (odd). Whatever loads is evaluated on a fixed input with a small budget, so
// the compiler's type checks and the evaluator's runtime checks are fuzzed
// together. Run for a bounded time by `make test` (tests/fuzz/run_fuzz.sh):
//   CXX=clang++ cmake -S . -B build-fuzz -DCLOISTER_FUZZ=ON && cmake --build build-fuzz --target policy_fuzz
//   build-fuzz/tests/fuzz/policy_fuzz -max_total_time=60 policies/
#include <cstddef>
#include <cstdint>
#include <string>

#include "governance/policy/policy_set.h"

namespace {

using namespace cloister::policy;
using cloister::Json;

const Document& Input() {
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static Evaluator evaluator(EvalLimits{.max_steps = 20000, .scratch_bytes = 4096});
  if (data[0] % 2 == 1) {
    auto program = CompileText(text, *HookSchema("promotion"), nullptr);
    Value v;
    if (program.ok() && evaluator.Run(*program, Input(), &v)) {
      std::string out;
      AppendJson(v, program->type(), out, 20, 512);
      (void)Json::parse(out);  // must be valid JSON
    }
    return 0;
  }
  auto set = PolicySet::Build({{"fuzz.yaml", text}});
  if (!set.ok()) return 0;
  for (const auto& [name, policy] : (*set)->policies()) {
    if (policy.hook != "promotion") continue;
    std::vector<RuleVerdict> verdicts;
    EvaluatePolicy(policy, Input(), evaluator, verdicts);
    for (const auto& v : verdicts) (void)v.ToJson();
  }
  return 0;
}
