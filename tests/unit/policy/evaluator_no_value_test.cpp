// Accesses after a node that produced no value: a failed index, field or
// call. Each must end the evaluation with the first runtime error, which
// names what was missing, and the rule must fail closed; none may read
// through the value that was never produced (before the fix, a field of an
// out-of-range element dereferenced a null pointer and killed the process).
#include <gtest/gtest.h>

#include "governance/policy/policy_set.h"
#include "governance/policy/policy_tests.h"
#include "governance/policy/program.h"
#include "tests/support/test_support.h"

namespace cloister::policy {
namespace {

// One step, one approval, no trigger, no live environments, no evidence: the
// shape of a first save or a first promotion.
const Json& OneStep() {
  static const Json input = {
      {"time", "2026-11-20T15:30:00Z"},
      {"promotion",
       {{"to", "prod"},
        {"author", "alice"},
        {"approvals", {{{"user", "bob"}, {"roles", {"approver"}}, {"at", "2026-11-20T15:00:00Z"}}}}}},
      {"definition",
       {{"name", "one-step"},
        {"description", std::string(600, 'A')},
        {"steps", {{{"id", "fetch"}, {"type", "http"}, {"url", "https://erp.internal/api"}}}}}}};
  return input;
}

// The value of `expr` on `input` as JSON, or "error: <runtime error>".
Json Eval(std::string_view expr, const Json& input = OneStep(), EvalLimits limits = {}) {
  const Schema& schema = *HookSchema("promotion");
  auto program = CompileText(expr, schema, nullptr);
  if (!program.ok()) return "load: " + program.status().message();
  auto doc = Document::Bind(schema, input);
  if (!doc.ok()) return "bind: " + doc.status().message();
  Evaluator ev(limits);
  Value v;
  if (!ev.Run(*program, *doc, &v)) return "error: " + ev.error();
  return ToJson(v, program->type());
}

const std::string kStep1Missing = "error: index 1 is out of range for \"definition.steps\" of size 1";

TEST(PolicyNoValueTest, FieldOfAnOutOfRangeElementIsAnErrorNotACrash) {
  // The reported crash: a field of the second step of a one-step definition.
  EXPECT_EQ(Eval("definition.steps[1].url != \"\""), kStep1Missing);
  EXPECT_EQ(Eval("definition.steps[1].url"), kStep1Missing);
  EXPECT_EQ(Eval("definition.steps[1].url == \"\""), kStep1Missing);  // no value is not ""
  EXPECT_EQ(Eval("definition.steps[1].headers[0].name == \"x\""), kStep1Missing);
  EXPECT_EQ(Eval("definition.steps[1].secrets[0]"), kStep1Missing);
  EXPECT_EQ(Eval("promotion.approvals[3].roles[0] == \"approver\""),
            "error: index 3 is out of range for \"promotion.approvals\" of size 1");
  EXPECT_EQ(Eval("promotion.approvals[-1].user"),
            "error: index -1 is out of range for \"promotion.approvals\" of size 1");
  EXPECT_EQ(Eval("live[0].since < now()"), "error: index 0 is out of range for \"live\" of size 0");
  // The index itself taken from an element that is not there.
  EXPECT_EQ(Eval("definition.steps[size(definition.steps[2].secrets)].id"),
            "error: index 2 is out of range for \"definition.steps\" of size 1");
  // A field path past the end of a list inside an element that exists.
  EXPECT_EQ(Eval("definition.steps[0].headers[0].value"),
            "error: index 0 is out of range for \"definition.steps[0].headers\" of size 0");
}

TEST(PolicyNoValueTest, FieldOfAMissingOptionalObjectReadsZeroValuesAsDocumented) {
  // Absent objects and fields are not "no value": they bind to zero values.
  EXPECT_EQ(Eval("definition.trigger.type"), "");
  EXPECT_EQ(Eval("size(definition.steps[0].headers)"), 0);
  EXPECT_EQ(Eval("environment.name == \"\" && size(environment.egress_allow) == 0"), true);
  Json input = OneStep();
  input["definition"]["steps"] = Json::array({nullptr});
  input["definition"]["trigger"] = nullptr;
  EXPECT_EQ(Eval("definition.steps[0].url == \"\" && definition.trigger.schedule == \"\"", input), true);
  // ... but a missing element under a missing object is still missing.
  EXPECT_EQ(Eval("definition.steps[0].headers[0].name", input),
            "error: index 0 is out of range for \"definition.steps[0].headers\" of size 0");
  EXPECT_EQ(Eval("definition.steps[1].url", input), kStep1Missing);
}

TEST(PolicyNoValueTest, CallsOnNoValueAreErrors) {
  EXPECT_EQ(Eval("host(definition.steps[1].url) == \"\""), kStep1Missing);
  EXPECT_EQ(Eval("size(definition.steps[1].secrets) == 0"), kStep1Missing);
  EXPECT_EQ(Eval("size(definition.steps[1].url)"), kStep1Missing);
  EXPECT_EQ(Eval("lower(definition.steps[1].id)"), kStep1Missing);
  EXPECT_EQ(Eval("startsWith(definition.steps[1].url, \"https://\")"), kStep1Missing);
  EXPECT_EQ(Eval("endsWith(\"x\", definition.steps[1].url)"), kStep1Missing);
  EXPECT_EQ(Eval("contains(definition.steps[1].url, \"\")"), kStep1Missing);
  EXPECT_EQ(Eval("matches(definition.steps[1].url, \"*\")"), kStep1Missing);
  EXPECT_EQ(Eval("matches(\"x\", definition.steps[1].model)"), kStep1Missing);
  EXPECT_EQ(Eval("definition.steps[1].type in [\"http\", \"llm\"]"), kStep1Missing);
  EXPECT_EQ(Eval("\"erp_token\" in definition.steps[1].secrets"), kStep1Missing);
  EXPECT_EQ(Eval("weekday(promotion.approvals[1].at) == 5"),
            "error: index 1 is out of range for \"promotion.approvals\" of size 1");
  EXPECT_EQ(Eval("date(promotion.approvals[1].at)"),
            "error: index 1 is out of range for \"promotion.approvals\" of size 1");
  EXPECT_EQ(Eval("now() - promotion.approvals[1].at > days(14)"),
            "error: index 1 is out of range for \"promotion.approvals\" of size 1");
  EXPECT_EQ(Eval("days(size(definition.steps[1].params)) > 0"), kStep1Missing);
  EXPECT_EQ(Eval("-size(definition.steps[1].params) < 0"), kStep1Missing);
  EXPECT_EQ(Eval("!(definition.steps[1].url == \"\")"), kStep1Missing);
}

TEST(PolicyNoValueTest, AccessesAfterAFailedCallAreErrors) {
  // Calls that fail at run time (scratch space, time range) feed further
  // calls, comparisons and sizes: the first error stands.
  const EvalLimits small{.max_steps = 1000, .scratch_bytes = 512};
  EXPECT_EQ(Eval("size(lower(definition.description)) > 0", OneStep(), small),
            "error: scratch space of 512 bytes exhausted");
  EXPECT_EQ(Eval("host(lower(definition.description)) == \"\"", OneStep(), small),
            "error: scratch space of 512 bytes exhausted");
  EXPECT_EQ(Eval("lower(lower(definition.description)) == \"a\"", OneStep(), small),
            "error: scratch space of 512 bytes exhausted");
  EXPECT_EQ(Eval("size(date(now() + days(9000000))) == 10"),
            "error: time out of range in \"now() + days(9000000)\"");
  EXPECT_EQ(Eval("startsWith(date(now() + days(9000000)), \"2\")"),
            "error: time out of range in \"now() + days(9000000)\"");
  // An index taken from a failed call.
  EXPECT_EQ(Eval("definition.steps[hour(now() + days(9000000))].url"),
            "error: time out of range in \"now() + days(9000000)\"");
  // Arithmetic that fails, then used as an index.
  EXPECT_EQ(Eval("definition.steps[9223372036854775807 + 1].url"),
            "error: integer overflow in \"9223372036854775807 + 1\"");
  EXPECT_EQ(Eval("definition.steps[1 / 0].url"), "error: division by zero in \"0\"");
}

TEST(PolicyNoValueTest, QuantifiersOverNoValueAreErrors) {
  // A quantifier over a list that is not there is an error, not an empty list.
  EXPECT_EQ(Eval("all(definition.steps[1].headers, h, h.name != \"\")"), kStep1Missing);
  EXPECT_EQ(Eval("exists(definition.steps[1].params, p, p.value == \"x\")"), kStep1Missing);
  EXPECT_EQ(Eval("count(definition.steps[1].secrets, s, s != \"\") == 0"), kStep1Missing);
  // The variable's element lacks what the predicate indexes.
  EXPECT_EQ(Eval("exists(definition.steps, s, s.headers[0].name == \"Authorization\")"),
            "error: index 0 is out of range for \"s.headers\" of size 0");
  EXPECT_EQ(Eval("all(promotion.approvals, a, a.roles[1] == \"auditor\")"),
            "error: index 1 is out of range for \"a.roles\" of size 1");
  EXPECT_EQ(Eval("count(promotion.approvals, a, host(definition.steps[1].url) == a.user) == 0"), kStep1Missing);
}

TEST(PolicyNoValueTest, QuantifiersOverEmptyOrAbsentListsAreNotErrors) {
  // An empty or absent list binds the variable to nothing and the predicate
  // never runs: documented results, no error.
  EXPECT_EQ(Eval("all(live, l, l.version != \"\")"), true);
  EXPECT_EQ(Eval("exists(evidence, e, e.passed)"), false);
  EXPECT_EQ(Eval("count(definition.steps[0].headers, h, h.name == \"x\")"), 0);
  EXPECT_EQ(Eval("all(definition.steps[0].params, p, definition.steps[5].url == p.value)"), true);
}

TEST(PolicyNoValueTest, NestedCombinationsAreErrors) {
  EXPECT_EQ(Eval("all(promotion.approvals, a, exists(definition.steps[1].headers, h, h.name == a.user))"),
            kStep1Missing);
  EXPECT_EQ(Eval("exists(promotion.approvals, a, a.roles[0] in definition.steps[2].secrets)"),
            "error: index 2 is out of range for \"definition.steps\" of size 1");
  EXPECT_EQ(Eval("count(definition.steps, s, all(s.params, p, host(p.value) != \"\") && "
                 "s.headers[size(s.secrets) + 1].value == \"\") > 0"),
            "error: index 1 is out of range for \"s.headers\" of size 0");
  EXPECT_EQ(Eval("size(definition.steps[1].headers[0].name) + size(promotion.approvals[0].roles) > 0"),
            kStep1Missing);
  EXPECT_EQ(Eval("definition.steps[0].url != \"\" && lower(host(definition.steps[1].endpoint)) == \"x\""),
            kStep1Missing);
  // The first error is the one reported.
  EXPECT_EQ(Eval("definition.steps[4].url == live[2].version"),
            "error: index 4 is out of range for \"definition.steps\" of size 1");
  // Short-circuiting still decides before an access is made.
  EXPECT_EQ(Eval("size(definition.steps) < 2 || definition.steps[1].url != \"\""), true);
  EXPECT_EQ(Eval("size(definition.steps) > 1 && definition.steps[1].url != \"\""), false);
}

TEST(PolicyNoValueTest, AnEvaluatorGoesOnAfterAnError) {
  // One evaluator per thread decides request after request: an error leaves
  // it fit for the next evaluation.
  const Schema& schema = *HookSchema("promotion");
  auto bad = CompileText("definition.steps[1].url != \"\"", schema, BoolType());
  auto good = CompileText("all(definition.steps, s, s.url != \"\")", schema, BoolType());
  ASSERT_TRUE(bad.ok() && good.ok());
  Evaluator ev;
  Value v;
  for (int i = 0; i < 3; ++i) {
    auto doc = Document::Bind(schema, OneStep());
    ASSERT_TRUE(doc.ok());
    EXPECT_FALSE(ev.Run(*bad, *doc, &v));
    EXPECT_EQ(ev.error(), "index 1 is out of range for \"definition.steps\" of size 1");
    ASSERT_TRUE(ev.Run(*good, *doc, &v)) << ev.error();
    EXPECT_EQ(v.integer, 1);
  }
}

TEST(PolicyNoValueTest, VariablesNeverPointIntoAnEarlierDocument) {
  // Explanations evaluate single instructions with variables the caller
  // binds; one read before binding reads no value, not an element of the
  // document evaluated before (which is gone).
  const Schema& schema = *HookSchema("promotion");
  auto program = CompileText("exists(definition.steps, s, s.url == \"x\")", schema, BoolType());
  ASSERT_TRUE(program.ok());
  Evaluator ev;
  Value v;
  {
    auto first = Document::Bind(schema, OneStep());
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(ev.Run(*program, *first, &v));
  }
  auto second = Document::Bind(schema, OneStep());
  ASSERT_TRUE(second.ok());
  ev.Begin(*program, *second);
  const int32_t predicate = program->code()[static_cast<size_t>(program->root())].c;
  EXPECT_EQ(ev.var(0).size, 0u);
  ev.Eval(predicate);  // s.url == "x" with s unbound: reads no value
  EXPECT_FALSE(ev.failed());
}

const char* kSecondStepPolicy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: second-step-url
hook: promotion
rules:
  - id: second-step-url
    description: The second step has a URL.
    require: definition.steps[1].url != ""
    message: "the second step calls {{ host(definition.steps[1].url) }}"
  - id: second-step-url-deny
    description: The second step has a URL (as a deny rule).
    deny: definition.steps[1].url == ""
  - id: guarded
    description: A guarded read of the second step.
    require: size(definition.steps) < 2 || definition.steps[1].url != ""
)";

TEST(PolicyNoValueTest, RulesReadingNoValueFailClosedWithTheErrorInTheirExplanation) {
  auto set = PolicySet::Build({{"p.yaml", kSecondStepPolicy}});
  ASSERT_TRUE(set.ok()) << set.status().message();
  const Policy& policy = (*set)->policies().at("second-step-url");
  auto doc = Document::Bind(*HookSchema("promotion"), OneStep());
  ASSERT_TRUE(doc.ok());
  Evaluator ev;
  std::vector<RuleVerdict> verdicts;
  EvaluatePolicy(policy, *doc, ev, verdicts);
  ASSERT_EQ(verdicts.size(), 3u);
  const std::string missing = "index 1 is out of range for \"definition.steps\" of size 1";
  for (int i = 0; i < 2; ++i) {  // require and deny alike
    EXPECT_EQ(verdicts[i].verdict, Verdict::kError) << verdicts[i].rule->id;
    EXPECT_TRUE(verdicts[i].failed());
    EXPECT_EQ(verdicts[i].error, missing);
    const Json j = verdicts[i].ToJson();
    EXPECT_EQ(j["verdict"], "error");
    EXPECT_EQ(j["error"], missing);
  }
  // The message's placeholder reads no value too: shown as the error.
  EXPECT_EQ(verdicts[0].message, "the second step calls <" + missing + ">");
  EXPECT_EQ(verdicts[2].verdict, Verdict::kPass);
}

TEST(PolicyNoValueTest, ADecisionRefusesAndItsSummaryNamesTheError) {
  const std::string binding =
      "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata:\n  name: steps\nhook: promotion\n"
      "policies: [second-step-url]\nenvironments: [prod]\nlevel: hard_mandatory\n";
  auto set = PolicySet::Build({{"p.yaml", kSecondStepPolicy}, {"b.yaml", binding}});
  ASSERT_TRUE(set.ok()) << set.status().message();
  auto doc = Document::Bind(*HookSchema("promotion"), OneStep());
  ASSERT_TRUE(doc.ok());
  Evaluator ev;
  const Decision d = (*set)->Decide("promotion", "prod", *doc, ev);
  EXPECT_EQ(d.outcome, "deny");
  EXPECT_FALSE(d.allowed);
  const std::string missing = "index 1 is out of range for \"definition.steps\" of size 1";
  EXPECT_EQ(d.Summary(), "second-step-url/second-step-url: the second step calls <" + missing + "> (error: " + missing +
                             "); second-step-url/second-step-url-deny: The second step has a URL (as a deny rule). (error: " + missing +
                             ")");
}

TEST(PolicyNoValueTest, FixtureRunnerReportsTheReportedCaseInsteadOfCrashing) {
  // The reproduction as an administrator ran it: `cloisterctl policy test DIR`.
  testing::TempDir dir;
  testing::WriteText(dir.File("steps.yaml"), R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: second-step-url
hook: promotion
rules:
  - id: second-step-url
    description: The second step has a URL.
    require: definition.steps[1].url != ""
    message: "the second step has no URL"
)");
  testing::WriteText(dir.File("steps_test.yaml"), R"(policies: [second-step-url]
input:
  time: "2026-11-18T10:00:00Z"
  definition:
    name: one-step
    steps:
      - {id: fetch, type: http, url: "https://erp.internal/api"}
cases:
  - name: one step fails closed
    expect: {decision: deny, failing: [second-step-url]}
  - name: one step, wrongly expected to pass
    expect: {decision: allow}
  - name: two steps pass
    input:
      definition:
        steps:
          - {id: fetch, type: http, url: "https://erp.internal/api"}
          - {id: post, type: http, url: "https://erp.internal/out"}
    expect: {decision: allow}
)");
  auto report = RunPolicyTests(dir.path());
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->cases.size(), 3u);
  EXPECT_TRUE(report->cases[0].passed) << report->cases[0].failure;
  EXPECT_FALSE(report->cases[1].passed);
  EXPECT_NE(report->cases[1].failure.find("(index 1 is out of range for \"definition.steps\" of size 1)"),
            std::string::npos)
      << report->cases[1].failure;
  EXPECT_TRUE(report->cases[2].passed) << report->cases[2].failure;
  EXPECT_EQ(report->failures, 1);
}

}  // namespace
}  // namespace cloister::policy
