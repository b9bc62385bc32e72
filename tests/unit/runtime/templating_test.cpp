// References in step text, typed JSON rendering, and policy-language
// expressions evaluated against a run's scope.
#include "appliance/runtime/templating.h"

#include <gtest/gtest.h>

namespace cloister::runtime {
namespace {

RunScope Scope() {
  RunScope s;
  s.inputs = {{"invoice_id", "INV-7"},
              {"max_amount", 10000},
              {"rush", true},
              {"note", nullptr},
              {"customer", {{"name", "Acme"}, {"tags", {"gold", "eu"}}}}};
  s.vars = {{"region", "eu-west"}, {"base", "https://erp.internal"}};
  s.secrets = {{"erp_token", "s3cr3t-value"}};
  s.steps = {{"fetch",
              {{"status", 200},
               {"output",
                {{"items",
                  {{{"name", "paper"}, {"qty", 3}, {"price", 2.5}},
                   {{"name", "toner"}, {"qty", 1}, {"price", 80}, {"urgent", true}}}},
                 {"total", 87.5},
                 {"currency", "EUR"},
                 {"mixed", {1, "two"}},
                 {"note", nullptr}}}}},
             {"classify", {{"output", {{"label", "urgent"}, {"score", 93}}}}},
             {"sign-off", {{"output", {{"approved", true}, {"by", "rita"}}}}},
             {"draft", {{"output", "Dear customer"}}}};
  return s;
}

policy::EvalLimits Limits(int64_t max_steps = 100000) {
  policy::EvalLimits l;
  l.max_steps = max_steps;
  return l;
}

std::string Text(std::string_view text, bool allow_secrets = false) {
  auto r = RenderText(text, Scope(), allow_secrets);
  return r.ok() ? *r : "error " + r.status().ToString();
}

Json Eval(std::string_view expr, bool want_bool = false, int64_t max_steps = 100000,
          const RunScope& scope = Scope()) {
  auto r = EvaluateExpression(expr, scope, want_bool, Limits(max_steps));
  return r.ok() ? *r : Json("error " + r.status().ToString());
}

// ---- RenderText ----------------------------------------------------------------

TEST(TemplatingTest, RendersEachReferenceKind) {
  EXPECT_EQ(Text("id=${inputs.invoice_id}"), "id=INV-7");
  EXPECT_EQ(Text("${vars.base}/api?r=${vars.region}"), "https://erp.internal/api?r=eu-west");
  EXPECT_EQ(Text("Bearer ${secrets.erp_token}", true), "Bearer s3cr3t-value");
  EXPECT_EQ(Text("label: ${steps.classify.output.label}"), "label: urgent");
  EXPECT_EQ(Text("status ${steps.fetch.status}"), "status 200");
  EXPECT_EQ(Text("${steps.draft.output}!"), "Dear customer!");
  EXPECT_EQ(Text("by ${steps.sign-off.output.by}"), "by rita");
  EXPECT_EQ(Text("no references, a lone $ and $5"), "no references, a lone $ and $5");
}

TEST(TemplatingTest, RendersNonStringsAsCompactJsonAndNullAsEmpty) {
  EXPECT_EQ(Text("${inputs.max_amount}|${inputs.rush}|${inputs.note}|"), "10000|true||");
  EXPECT_EQ(Text("${inputs.customer}"), R"({"name":"Acme","tags":["gold","eu"]})");
  EXPECT_EQ(Text("${steps.classify.output}"), R"({"label":"urgent","score":93})");
  EXPECT_EQ(Text("${steps.fetch.output.total}"), "87.5");
  EXPECT_EQ(Text("${inputs.customer.tags}"), R"(["gold","eu"])");
}

TEST(TemplatingTest, NestedPathsAndIndexes) {
  EXPECT_EQ(Text("${steps.fetch.output.items[1].name} x${steps.fetch.output.items[1].qty}"),
            "toner x1");
  EXPECT_EQ(Text("${inputs.customer.tags[1]}"), "eu");
  EXPECT_EQ(Text("${steps.fetch.output.mixed[1]}"), "two");
}

TEST(TemplatingTest, DoubleDollarIsALiteral) {
  EXPECT_EQ(Text("cost: $${inputs.invoice_id} and ${inputs.invoice_id}"),
            "cost: ${inputs.invoice_id} and INV-7");
  EXPECT_EQ(Text("$${"), "${");
  EXPECT_EQ(Text("$${secrets.erp_token}"), "${secrets.erp_token}");  // not a reference: no error
}

TEST(TemplatingTest, MissingReferencesAreErrorsNamingThem) {
  EXPECT_EQ(Text("${inputs.nope}"), "error invalid_argument: ${inputs.nope}: no input \"nope\"");
  EXPECT_EQ(Text("${vars.zone}"), "error invalid_argument: ${vars.zone}: no variable \"zone\"");
  EXPECT_EQ(Text("${secrets.db}", true), "error invalid_argument: ${secrets.db}: no secret \"db\"");
  EXPECT_EQ(Text("${steps.later.output}"),
            "error invalid_argument: ${steps.later.output}: no finished step \"later\"");
  EXPECT_EQ(Text("${steps.classify.status}"),
            "error invalid_argument: ${steps.classify.status}: step \"classify\" has no status");
  EXPECT_EQ(
      Text("a ${steps.fetch.output.items[3]} b"),
      "error invalid_argument: ${steps.fetch.output.items[3]}: no element 3 (the list has 2)");
  EXPECT_EQ(Text("${steps.fetch.output.items[0].colour}"),
            "error invalid_argument: ${steps.fetch.output.items[0].colour}: no field \"colour\"");
  EXPECT_EQ(Text("${steps.fetch.output.currency.code}"),
            "error invalid_argument: ${steps.fetch.output.currency.code}: no field \"code\": the "
            "value is a string, not an object");
  EXPECT_EQ(Text("${steps.fetch.output.total[0]}"),
            "error invalid_argument: ${steps.fetch.output.total[0]}: no element 0: the value is a "
            "number, not a list");
}

TEST(TemplatingTest, MalformedReferencesAreErrors) {
  EXPECT_NE(Text("${inputs.invoice_id").find("unterminated"), std::string::npos);
  EXPECT_NE(Text("${env.HOME}").find("${env.HOME}: expected ${inputs.NAME}"), std::string::npos);
  EXPECT_NE(Text("${vars.region.x}").find("single name"), std::string::npos);
  EXPECT_NE(Text("${steps.fetch}").find("expected ${steps.ID.output...}"), std::string::npos);
  EXPECT_NE(Text("${steps.fetch.outputs}").find("expected ${steps.ID.output...}"),
            std::string::npos);
  EXPECT_NE(Text("${steps.fetch.output.items[-1]}").find("[N]"), std::string::npos);
  EXPECT_NE(Text("${steps.fetch.output.items[x]}").find("[N]"), std::string::npos);
  EXPECT_NE(Text("${steps.fetch.output..a}").find("empty field name"), std::string::npos);
  EXPECT_NE(Text("x ${= 1 + 1} y").find("must be the whole value"), std::string::npos);
}

TEST(TemplatingTest, SecretsRefusedWhereNotAllowed) {
  const std::string refused = Text("Bearer ${secrets.erp_token}", false);
  EXPECT_EQ(refused, "error invalid_argument: ${secrets.erp_token}: secrets may not be used here");
  // Refused before the lookup: a missing secret answers the same way.
  EXPECT_EQ(Text("${secrets.absent}", false),
            "error invalid_argument: ${secrets.absent}: secrets may not be used here");
  auto json = RenderJson(Json{{"h", "${secrets.erp_token}"}}, Scope(), false, Limits());
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().message().find("s3cr3t"), std::string::npos);
  EXPECT_NE(json.status().message().find("secrets may not be used here"), std::string::npos);
}

// ---- RenderJson ----------------------------------------------------------------

TEST(TemplatingTest, SingleReferencesKeepTheirJsonType) {
  const Json tmpl = {
      {"amount", "${inputs.max_amount}"},
      {"rush", "${inputs.rush}"},
      {"note", "${inputs.note}"},
      {"items", "${steps.fetch.output.items}"},
      {"first", "${steps.fetch.output.items[0]}"},
      {"status", "${steps.fetch.status}"},
      {"region", "${vars.region}"},
      {"text", "invoice ${inputs.invoice_id}"},
      {"literal", "$${inputs.invoice_id}"},
      {"list",
       {"${inputs.max_amount}", 7, nullptr, {{"deep", "${steps.sign-off.output.approved}"}}}},
      {"n", 1.5}};
  auto r = RenderJson(tmpl, Scope(), false, Limits());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const RunScope s = Scope();
  EXPECT_EQ((*r)["amount"], 10000);
  EXPECT_EQ((*r)["rush"], true);
  EXPECT_TRUE((*r)["note"].is_null());
  EXPECT_EQ((*r)["items"], s.steps["fetch"]["output"]["items"]);
  EXPECT_EQ((*r)["first"]["price"], 2.5);
  EXPECT_EQ((*r)["status"], 200);
  EXPECT_EQ((*r)["region"], "eu-west");
  EXPECT_EQ((*r)["text"], "invoice INV-7");
  EXPECT_EQ((*r)["literal"], "${inputs.invoice_id}");
  EXPECT_EQ((*r)["list"], Json::array({10000, 7, nullptr, {{"deep", true}}}));
  EXPECT_EQ((*r)["n"], 1.5);
  // Two references in one string are text.
  auto two = RenderJson("${inputs.max_amount}${inputs.rush}", s, false, Limits());
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, "10000true");
}

TEST(TemplatingTest, ExpressionValuesKeepTheirResultType) {
  const Json tmpl = {{"big", "${= inputs.max_amount > 100}"},
                     {"count", "${= size(steps.fetch.output.items)}"},
                     {"label", "${=lower(\"URGENT-\") }"}};
  auto r = RenderJson(tmpl, Scope(), false, Limits());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["big"], true);
  EXPECT_EQ((*r)["count"], 2);
  EXPECT_EQ((*r)["label"], "urgent-");
  auto bad = RenderJson(Json{{"x", "${= secrets.erp_token}"}}, Scope(), true, Limits());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown name \"secrets\""), std::string::npos);
}

TEST(TemplatingTest, RenderJsonRefusesDeepNesting) {
  Json deep = "x";
  for (int i = 0; i < 70; ++i) deep = Json::array({deep});
  auto r = RenderJson(deep, Scope(), false, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deeper than 64"), std::string::npos);
}

// ---- EvaluateExpression ----------------------------------------------------------

TEST(TemplatingTest, ComparesStepOutputsAndInputs) {
  EXPECT_EQ(Eval(R"(steps.classify.output.label == "urgent" && inputs.max_amount > 100)", true),
            true);
  EXPECT_EQ(Eval(R"(steps.classify.output.label == "routine")", true), false);
  EXPECT_EQ(Eval("steps.classify.output.score >= 90 && steps.fetch.status == 200", true), true);
  EXPECT_EQ(Eval("steps.fetch.output.items[1].qty + inputs.max_amount"), 10001);
  EXPECT_EQ(Eval("inputs.customer.tags[0]"), "gold");
  EXPECT_EQ(Eval("vars.region == \"eu-west\"", true), true);
  EXPECT_EQ(Eval("steps.draft.output"), "Dear customer");
}

TEST(TemplatingTest, InSizeExistsAndStringFunctions) {
  EXPECT_EQ(Eval(R"(steps.classify.output.label in ["urgent", "suspicious"])", true), true);
  EXPECT_EQ(Eval(R"("eu" in inputs.customer.tags)", true), true);
  EXPECT_EQ(Eval("size(steps.fetch.output.items)"), 2);
  EXPECT_EQ(Eval("size(inputs.invoice_id)"), 5);
  EXPECT_EQ(Eval(R"(exists(steps.fetch.output.items, i, i.name == "toner" && i.qty == 1))", true),
            true);
  EXPECT_EQ(Eval(R"(exists(steps.fetch.output.items, i, i.name == "ink"))", true), false);
  // A field only one element has reads as its zero value in the others.
  EXPECT_EQ(Eval("count(steps.fetch.output.items, i, i.urgent)"), 1);
  EXPECT_EQ(Eval("all(steps.fetch.output.items, i, i.qty > 0)", true), true);
  EXPECT_EQ(
      Eval(R"(startsWith(inputs.invoice_id, "INV-") && endsWith(vars.base, ".internal"))", true),
      true);
  EXPECT_EQ(Eval(R"(contains(steps.draft.output, "cust"))", true), true);
  EXPECT_EQ(Eval(R"(lower(steps.fetch.output.currency))"), "eur");
  EXPECT_EQ(Eval(R"(matches(steps.classify.output.label, "urg*"))", true), true);
  EXPECT_EQ(Eval(R"(host(vars.base))"), "erp.internal");
}

TEST(TemplatingTest, DashedStepIdsAreWrittenWithUnderscores) {
  EXPECT_EQ(Eval("steps.sign_off.output.approved", true), true);
  EXPECT_EQ(Eval(R"(steps.sign_off.output.by == "rita")", true), true);
  // Two ids that read the same are both unreadable, never the wrong one.
  RunScope s = Scope();
  s.steps["sign_off"] = {{"output", {{"approved", false}, {"by", "mallory"}}}};
  const Json r = Eval("steps.sign_off.output.approved", true, 100000, s);
  ASSERT_TRUE(r.is_string());
  EXPECT_NE(r.get<std::string>().find("ambiguous"), std::string::npos) << r;
}

TEST(TemplatingTest, FloatsAreComparedAsText) {
  EXPECT_EQ(Eval(R"(steps.fetch.output.total == "87.5")", true), true);
  EXPECT_EQ(Eval("steps.fetch.output.items[0].price"), "2.5");
  // Integers beside floats in one field become text too.
  EXPECT_EQ(Eval("steps.fetch.output.items[1].price"), "80");
  const Json r = Eval("steps.fetch.output.total > 80", true);
  ASSERT_TRUE(r.is_string());
  EXPECT_NE(r.get<std::string>().find("orders two ints"), std::string::npos) << r;
}

TEST(TemplatingTest, NullsAreAbsentAndUnreadableFieldsSayWhy) {
  EXPECT_EQ(
      Eval(R"(steps.fetch.output.note == "")", true),
      Json("error invalid_argument: expression \"steps.fetch.output.note == \"\"\": 1:1: unknown "
           "input field \"note\" of \"steps.fetch.output\" (its fields: )"));
  EXPECT_EQ(Eval("size(steps.fetch.output.mixed)")
                    .get<std::string>()
                    .find("steps.fetch.output.mixed: a list of mixed types (int and string)") !=
                std::string::npos,
            true)
      << Eval("size(steps.fetch.output.mixed)");
  // Not named, so never inferred: a mixed list elsewhere does not stop an expression.
  EXPECT_EQ(Eval("size(steps.fetch.output.items)"), 2);
}

TEST(TemplatingTest, SecretsAreNotVisibleToExpressions) {
  const Json r = Eval("secrets.erp_token == \"s3cr3t-value\"", true);
  ASSERT_TRUE(r.is_string());
  EXPECT_EQ(r.get<std::string>(),
            "error invalid_argument: expression \"secrets.erp_token == \"s3cr3t-value\"\": 1:1: "
            "unknown name \"secrets\"; the automation input has: inputs, vars, steps");
}

TEST(TemplatingTest, BudgetExhaustionIsResourceExhausted) {
  RunScope s = Scope();
  s.steps["fetch"]["output"]["big"] = Json::array();
  for (int i = 0; i < 1000; ++i) s.steps["fetch"]["output"]["big"].push_back(i);
  EXPECT_EQ(Eval("count(steps.fetch.output.big, x, x > 10)", false, 100000, s), 989);
  auto r = EvaluateExpression("count(steps.fetch.output.big, x, x > 10)", s, false, Limits(50));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(),
            "expression \"count(steps.fetch.output.big, x, x > 10)\": step budget of 50 exhausted");
}

TEST(TemplatingTest, SyntaxAndTypeErrorsNameLineAndColumn) {
  auto r = EvaluateExpression("steps.classify.output.label ==", Scope(), true, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("expression \"steps.classify.output.label ==\": 1:31: ", 0),
            0u)
      << r.status().message();
  auto multi = EvaluateExpression("inputs.rush &&\n  inputs.max_amount", Scope(), true, Limits());
  ASSERT_FALSE(multi.ok());
  EXPECT_NE(multi.status().message().find(": 1:1: \"&&\" needs two bools"), std::string::npos)
      << multi.status().message();
  auto field = EvaluateExpression("steps.classify.output.lable", Scope(), false, Limits());
  ASSERT_FALSE(field.ok());
  EXPECT_NE(field.status().message().find("unknown input field \"lable\""), std::string::npos);
}

TEST(TemplatingTest, WantBoolRefusesOtherResults) {
  auto r = EvaluateExpression("steps.classify.output.score", Scope(), true, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("this expression is an int; a bool is needed here"),
            std::string::npos);
  EXPECT_EQ(Eval("steps.classify.output.score", false), 93);
}

TEST(TemplatingTest, RuntimeErrorsAreInvalidArgument) {
  auto r = EvaluateExpression("steps.fetch.output.items[5].qty", Scope(), false, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("index 5 is out of range"), std::string::npos);
  auto div = EvaluateExpression("inputs.max_amount / (steps.fetch.status - 200)", Scope(), false,
                                Limits());
  ASSERT_FALSE(div.ok());
  EXPECT_NE(div.status().message().find("division by zero"), std::string::npos);
}

TEST(TemplatingTest, NowIsRefused) {
  // The compiler would read now() from an input field "time" this document lacks.
  auto r = EvaluateExpression("hour(now()) > 8", Scope(), true, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1:6: now() is not available"), std::string::npos)
      << r.status().message();
}

TEST(TemplatingTest, ViewLimits) {
  RunScope s = Scope();
  // Deeper than Document's 32 levels: left out with a reason, not a bind error.
  Json deep = 1;
  for (int i = 0; i < 40; ++i) deep = Json{{"a", deep}};
  s.steps["deep"] = {{"output", {{"a", deep}, {"b", 5}}}};
  auto r = EvaluateExpression(
      "steps.deep.output.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a == 1",
      s, true, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper than 32 levels"), std::string::npos)
      << r.status().message();
  // Only the part past the limit is left out.
  EXPECT_EQ(Eval("steps.deep.output.b == 5", true, 100000, s), true);
  // Invalid UTF-8 is left out with a reason.
  s.steps["bin"] = {{"output", {{"text", std::string("\xff\xfe")}}}};
  auto bin = EvaluateExpression("steps.bin.output.text == \"\"", s, true, Limits());
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.status().message().find(
                "(left out of the view: steps.bin.output.text: a string that is not valid UTF-8)"),
            std::string::npos)
      << bin.status().message();
  // An integer past int64 is text.
  s.steps["huge"] = {{"output", 18446744073709551615ull}};
  EXPECT_EQ(Eval("steps.huge.output", false, 100000, s), "18446744073709551615");
}

TEST(TemplatingTest, WideObjectsKeepTheFieldsTheExpressionNames) {
  RunScope s;
  Json wide = Json::object();
  for (int i = 0; i < 100; ++i) wide["x" + std::to_string(i)] = i;
  s.steps["wide"] = {{"output", wide}};
  Json other = Json::object();
  for (int i = 0; i < 100; ++i) other["y" + std::to_string(i)] = i;
  s.inputs["other"] = other;
  // Past the language's 64 fields per object, but the only field named.
  EXPECT_EQ(Eval("steps.wide.output.x99", false, 100000, s), 99);
  // 65 names of one object: the 65th (in name order) is left out, saying why.
  std::string expr = "steps.wide.output.x0";
  for (int i = 1; i < 65; ++i) expr += " + steps.wide.output.x" + std::to_string(i);
  auto r = EvaluateExpression(expr, s, false, Limits());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("steps.wide.output.x9: past the first 64 fields"),
            std::string::npos)
      << r.status().message();
  // 40 names in each of two objects is fine.
  expr = "0";
  for (int i = 0; i < 40; ++i) {
    expr +=
        " + steps.wide.output.x" + std::to_string(i) + " + inputs.other.y" + std::to_string(i + 50);
  }
  EXPECT_EQ(Eval(expr, false, 100000, s), 780 + 2780);
}

TEST(TemplatingTest, EmptyAndNullListsAndOddKeys) {
  RunScope s;
  s.inputs = {{"tags", Json::array()}, {"ids", {nullptr, 4}}, {"bad-key", 1}};
  EXPECT_EQ(Eval("size(inputs.tags) == 0 && !(\"x\" in inputs.tags)", true, 100000, s), true);
  EXPECT_EQ(Eval("inputs.ids[0] + inputs.ids[1]", false, 100000, s), 4);
  EXPECT_TRUE(Eval("inputs.bad_key", false, 100000, s).is_string());
}

}  // namespace
}  // namespace cloister::runtime
