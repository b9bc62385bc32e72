// Type checking, every operator and function, runtime errors and the step
// budget of compiled policy expressions.
#include "governance/policy/program.h"

#include <gtest/gtest.h>

#include "governance/policy/calendar.h"

namespace cloister::policy {
namespace {

const Json& Input() {
  static const Json input = {
      {"time", "2026-11-20T15:30:00Z"},  // a Friday
      {"promotion",
       {{"version", "v-abc"},
        {"to", "prod"},
        {"author", "alice"},
        {"requested_at", "2026-11-20T12:00:00Z"},
        {"approvals",
         {{{"user", "bob"}, {"roles", {"approver"}}, {"version", "v-abc"}},
          {{"user", "alice"}, {"roles", {"author"}}, {"version", "v-abc"}},
          {{"user", "carol"}, {"roles", {"approver", "auditor"}}, {"version", "v-old"}}}}}},
      {"definition",
       {{"name", "Invoice-Triage"},
        {"tags", {"finance", "llm"}},
        {"steps",
         {{{"id", "fetch"}, {"type", "http"}, {"url", "https://svc:pw@ERP.internal:8443/api?q=1"}},
          {{"id", "draft"}, {"type", "llm"}, {"endpoint", "https://[fd00::1]:9000/v1"}}}}}},
      {"environment", {{"name", "prod"}, {"position", 2}, {"egress_allow", {"*.internal", "erp.example"}}}}};
  return input;
}

// The value of `expr` on Input(), as JSON, or "error: ..." for load and
// runtime errors alike.
Json Eval(std::string_view expr, EvalLimits limits = {}, const Json& input = Input()) {
  const Schema& schema = *HookSchema("promotion");
  auto program = CompileText(expr, schema, nullptr);
  if (!program.ok()) return "error: " + program.status().message();
  auto doc = Document::Bind(schema, input);
  if (!doc.ok()) return "bind: " + doc.status().message();
  Evaluator ev(limits);
  Value v;
  if (!ev.Run(*program, *doc, &v)) return "error: " + ev.error();
  return ToJson(v, program->type());
}

TEST(PolicyProgramTest, LiteralsAndFieldPaths) {
  EXPECT_EQ(Eval("42"), 42);
  EXPECT_EQ(Eval("\"x\""), "x");
  EXPECT_EQ(Eval("true"), true);
  EXPECT_EQ(Eval("[1, 2, 3]"), Json::array({1, 2, 3}));
  EXPECT_EQ(Eval("promotion.author"), "alice");
  EXPECT_EQ(Eval("promotion.approvals[2].roles[1]"), "auditor");
  EXPECT_EQ(Eval("environment.position"), 2);
  EXPECT_EQ(Eval("promotion.requested_at"), "2026-11-20T12:00:00Z");
  // Absent fields read as zero values.
  EXPECT_EQ(Eval("definition.owner"), "");
  EXPECT_EQ(Eval("promotion.emergency"), false);
  EXPECT_EQ(Eval("size(live)"), 0);
  EXPECT_EQ(Eval("definition.trigger.type"), "");
}

TEST(PolicyProgramTest, Operators) {
  EXPECT_EQ(Eval("1 + 2 * 3 - 4"), 3);
  EXPECT_EQ(Eval("7 / 2"), 3);
  EXPECT_EQ(Eval("-7 % 3"), -1);
  EXPECT_EQ(Eval("-(3)"), -3);
  EXPECT_EQ(Eval("1 == 1 && \"a\" != \"b\""), true);
  EXPECT_EQ(Eval("2 < 3 && 3 <= 3 && 4 > 3 && 3 >= 3"), true);
  EXPECT_EQ(Eval("\"abc\" < \"abd\""), true);
  EXPECT_EQ(Eval("false || !false"), true);
  EXPECT_EQ(Eval("true && false"), false);
  EXPECT_EQ(Eval("promotion.to in [\"test\", \"prod\"]"), true);
  EXPECT_EQ(Eval("\"finance\" in definition.tags"), true);
  EXPECT_EQ(Eval("3 in [1, 2]"), false);
  EXPECT_EQ(Eval("promotion.approvals[0].user == \"bob\""), true);
  EXPECT_EQ(Eval("true == promotion.emergency"), false);
}

TEST(PolicyProgramTest, ShortCircuitingSkipsErrors) {
  EXPECT_EQ(Eval("false && 1 / 0 == 1"), false);
  EXPECT_EQ(Eval("true || 1 / 0 == 1"), true);
}

TEST(PolicyProgramTest, Quantifiers) {
  EXPECT_EQ(Eval("count(promotion.approvals, a, a.user != promotion.author)"), 2);
  EXPECT_EQ(Eval("count(promotion.approvals, a, \"approver\" in a.roles)"), 2);
  EXPECT_EQ(Eval("all(promotion.approvals, a, a.version == promotion.version)"), false);
  EXPECT_EQ(Eval("all(live, l, false)"), true);
  EXPECT_EQ(Eval("exists(promotion.approvals, a, a.user == promotion.author)"), true);
  EXPECT_EQ(Eval("exists(live, l, true)"), false);
  // Nested, with the inner variable shadowing nothing and both in scope.
  EXPECT_EQ(Eval("count(promotion.approvals, a, exists(promotion.approvals, b, a.user != b.user && "
                 "a.version == b.version))"),
            2);
  EXPECT_EQ(Eval("size(definition.tags) + size(\"four\")"), 6);
}

TEST(PolicyProgramTest, StringFunctions) {
  EXPECT_EQ(Eval("startsWith(promotion.version, \"v-\")"), true);
  EXPECT_EQ(Eval("startsWith(\"v\", \"v-\")"), false);
  EXPECT_EQ(Eval("endsWith(definition.name, \"Triage\")"), true);
  EXPECT_EQ(Eval("contains(definition.name, \"-Tri\")"), true);
  EXPECT_EQ(Eval("lower(definition.name)"), "invoice-triage");
  EXPECT_EQ(Eval("lower(\"already\")"), "already");
  EXPECT_EQ(Eval("host(definition.steps[0].url)"), "ERP.internal");
  EXPECT_EQ(Eval("host(definition.steps[1].endpoint)"), "fd00::1");
  EXPECT_EQ(Eval("host(\"not a url\")"), "");
  EXPECT_EQ(Eval("matches(lower(host(definition.steps[0].url)), \"*.internal\")"), true);
  EXPECT_EQ(Eval("matches(\"erp.internal.evil\", \"*.internal\")"), false);
  EXPECT_EQ(Eval("matches(\"a?c\", \"a\\\\?c\")"), true);
  EXPECT_EQ(Eval("matches(\"abc\", \"a\\\\?c\")"), false);
  EXPECT_EQ(Eval("matches(\"abc\", \"a?c\")"), true);
  EXPECT_EQ(Eval("matches(\"\", \"*\")"), true);
}

TEST(PolicyProgramTest, TimeFunctions) {
  EXPECT_EQ(Eval("now()"), "2026-11-20T15:30:00Z");
  EXPECT_EQ(Eval("weekday(now())"), 5);
  EXPECT_EQ(Eval("hour(now())"), 15);
  EXPECT_EQ(Eval("minute(now())"), 30);
  EXPECT_EQ(Eval("date(now())"), "2026-11-20");
  // A fixed offset moves the wall clock across midnight and the weekday with it.
  EXPECT_EQ(Eval("hour(now(), \"+09:00\")"), 0);
  EXPECT_EQ(Eval("weekday(now(), \"+09:00\")"), 6);
  EXPECT_EQ(Eval("date(now(), \"+09:00\")"), "2026-11-21");
  EXPECT_EQ(Eval("hour(now(), \"-05:30\")"), 10);
  EXPECT_EQ(Eval("date(now(), \"UTC\")"), "2026-11-20");
  EXPECT_EQ(Eval("now() - promotion.requested_at"), 3 * 3600 + 1800);
  EXPECT_EQ(Eval("now() - promotion.requested_at > hours(3)"), true);
  EXPECT_EQ(Eval("now() + days(1)"), "2026-11-21T15:30:00Z");
  EXPECT_EQ(Eval("minutes(2) + 1"), 121);
  EXPECT_EQ(Eval("now() >= time(\"2026-11-20\") && now() < time(\"2026-11-21T00:00:00+00:00\")"), true);
  EXPECT_EQ(Eval("time(\"2026-11-20T16:30:00+01:00\") == now()"), true);
}

TEST(PolicyProgramTest, CalendarAgreesAcrossCenturiesAndLeapDays) {
  EXPECT_EQ(FormatTime(*ParseTime("2000-02-29T23:59:59Z")), "2000-02-29T23:59:59Z");
  EXPECT_FALSE(ParseTime("2100-02-29"));
  EXPECT_FALSE(ParseTime("2026-13-01"));
  EXPECT_FALSE(ParseTime("2026-11-20T24:00:00Z"));
  EXPECT_FALSE(ParseTime("2026-11-20T10:00:00"));  // no zone
  EXPECT_EQ(*ParseTime("1969-12-31T23:59:59Z"), -1);
  EXPECT_EQ(ToCivil(-1).weekday, 3);  // a Wednesday
  EXPECT_EQ(ToCivil(0).weekday, 4);
  EXPECT_EQ(*ParseOffset("-08:00"), -8 * 3600);
  EXPECT_FALSE(ParseOffset("+19:00"));
  EXPECT_FALSE(ParseOffset("Europe/Paris"));
}

TEST(PolicyProgramTest, TypeErrorsAtLoadNamePlaceAndTypes) {
  EXPECT_EQ(Eval("promotion.autor == \"x\""),
            "error: 1:1: unknown input field \"autor\" of \"promotion\" (its fields: id, automation, version, from, "
            "to, requester, author, requested_at, scheduled_for, emergency, reason, approvals)");
  EXPECT_EQ(Eval("promo.author"),
            "error: 1:1: unknown name \"promo\"; the promotion input has: time, promotion, definition, environment, "
            "live, evidence");
  EXPECT_EQ(Eval("promotion.author == 1"),
            "error: 1:1: \"==\" compares two values of one type: \"promotion.author\" (string) and \"1\" (int)");
  EXPECT_EQ(Eval("1 && true"), "error: 1:1: \"&&\" needs two bools, not \"1\" (int)");
  EXPECT_EQ(Eval("!promotion.author"), "error: 1:1: \"!\" needs a bool, not \"promotion.author\" (string)");
  EXPECT_EQ(Eval("now() + now()"),
            "error: 1:1: \"+\" takes ints, a time and an int (seconds), or two times to subtract: \"now()\" (time) "
            "and \"now()\" (time)");
  EXPECT_EQ(Eval("\"prod\" in promotion.approvals"),
            "error: 1:1: \"in\" needs a value and a list of that type: \"prod\" (string) in "
            "\"promotion.approvals\" (list<object>)");
  EXPECT_EQ(Eval("size(1)"), "error: 1:1: size() takes a list or a string, not \"1\" (int)");
  EXPECT_EQ(Eval("count(definition.tags, t)"), "error: 1:1: usage: count(list, x, predicate on x)");
  EXPECT_EQ(Eval("all(definition.tags, t, t)"),
            "error: 1:25: usage: all(list, x, predicate on x); \"t\" (string) is the wrong type");
  EXPECT_EQ(Eval("exists(definition.tags, promotion, true)"),
            "error: 1:25: \"promotion\" is an input field; name the variable differently");
  EXPECT_EQ(Eval("hour(now(), \"Europe/Paris\")"),
            "error: 1:13: \"Europe/Paris\" is not an offset: use \"UTC\" or \"+HH:MM\"/\"-HH:MM\"");
  EXPECT_EQ(Eval("hour(now(), promotion.to)"), "error: 1:13: usage: hour(time) or hour(time, \"+01:00\") (a literal string)");
  EXPECT_EQ(Eval("time(\"next tuesday\")"), "error: 1:6: \"next tuesday\" is not an RFC 3339 time or a YYYY-MM-DD date");
  EXPECT_EQ(Eval("hour(1)"), "error: 1:6: usage: hour(time) or hour(time, \"+01:00\"); \"1\" (int) is the wrong type");
  EXPECT_EQ(Eval("regex(\"a\")").get<std::string>().substr(0, 35), "error: 1:1: unknown function \"regex");
  EXPECT_EQ(Eval("promotion.to == null"), "error: 1:17: null is not a value in policies: an absent field reads as \"\", 0, false or []");
  EXPECT_EQ(Eval("[]"), "error: 1:1: an empty list literal has no element type; leave the clause out");
  EXPECT_EQ(Eval("[1, \"a\"]"), "error: 1:5: list elements must share one type: \"a\" (string) in a list of int");
  EXPECT_EQ(Eval("[promotion.to]"), "error: 1:2: list literals hold literal strings, integers or booleans only");
  EXPECT_EQ(Eval("promotion.to.x"), "error: 1:1: \"promotion.to\" (string) has no fields");
  EXPECT_EQ(Eval("promotion.to[0]"), "error: 1:1: \"promotion.to\" (string) is not a list");
  EXPECT_EQ(Eval("definition.tags[\"a\"]"), "error: 1:17: a list index must be an int, not \"a\" (string)");
  EXPECT_EQ(Eval("definition.tags == definition.tags"),
            "error: 1:1: \"==\" compares two values of one type: \"definition.tags\" (list<string>) and "
            "\"definition.tags\" (list<string>)");
  EXPECT_EQ(Eval("\"a\" < 1"), "error: 1:1: \"<\" orders two ints, two times or two strings: \"a\" (string) and \"1\" (int)");
  EXPECT_EQ(Eval("-\"a\""), "error: 1:1: \"-\" needs an int, not \"a\" (string)");
  EXPECT_EQ(Eval("true * 2"), "error: 1:1: \"*\" needs two ints: \"true\" (bool) and \"2\" (int)");
}

TEST(PolicyProgramTest, ConditionsMustBeBool) {
  auto p = CompileText("promotion.to", *HookSchema("promotion"), BoolType(), 7, 13);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "7:13: this expression is a string; a bool is needed here");
}

TEST(PolicyProgramTest, RuntimeErrorsFailClosed) {
  EXPECT_EQ(Eval("1 / (environment.position - 2)"), "error: division by zero in \"environment.position - 2\"");
  EXPECT_EQ(Eval("1 % 0"), "error: division by zero in \"0\"");
  EXPECT_EQ(Eval("9223372036854775807 + 1"), "error: integer overflow in \"9223372036854775807 + 1\"");
  EXPECT_EQ(Eval("-9223372036854775807 - 2"), "error: integer overflow in \"-9223372036854775807 - 2\"");
  EXPECT_EQ(Eval("9223372036854775807 * 2"), "error: integer overflow in \"9223372036854775807 * 2\"");
  EXPECT_EQ(Eval("days(9223372036854775807)"), "error: integer overflow in \"days(9223372036854775807)\"");
  EXPECT_EQ(Eval("definition.tags[2]"), "error: index 2 is out of range for \"definition.tags\" of size 2");
  EXPECT_EQ(Eval("definition.tags[-1]"), "error: index -1 is out of range for \"definition.tags\" of size 2");
  EXPECT_EQ(Eval("hour(now() + days(9000000))"), "error: time out of range in \"now() + days(9000000)\"");
}

TEST(PolicyProgramTest, StepBudgetStopsRunawayQuantifiers) {
  // 30 elements nested four deep is 810,000 predicate evaluations.
  Json input = Input();
  input["definition"]["tags"] = Json::array();
  for (int i = 0; i < 30; ++i) input["definition"]["tags"].push_back("t" + std::to_string(i));
  const std::string expr =
      "count(definition.tags, a, count(definition.tags, b, count(definition.tags, c, "
      "count(definition.tags, d, a == d) > 0) > 0) > 0) > 0";
  EXPECT_EQ(Eval(expr, EvalLimits{.max_steps = 100000}, input), "error: step budget of 100000 exhausted");
  EXPECT_EQ(Eval(expr, EvalLimits{.max_steps = 100000000}, input), true);
}

TEST(PolicyProgramTest, ScratchSpaceIsBounded) {
  Json input = Input();
  input["definition"]["description"] = std::string(600, 'A');
  EXPECT_EQ(Eval("size(lower(definition.description))", EvalLimits{.max_steps = 1000, .scratch_bytes = 512}, input),
            "error: scratch space of 512 bytes exhausted");
  EXPECT_EQ(Eval("size(lower(definition.description))", EvalLimits{}, input), 600);
}

TEST(PolicyProgramTest, EvaluatorIsReusableWithoutLeakingState) {
  const Schema& schema = *HookSchema("promotion");
  auto failing = CompileText("1 / 0 == 1", schema, BoolType());
  auto fine = CompileText("lower(definition.name) == \"invoice-triage\"", schema, BoolType());
  ASSERT_TRUE(failing.ok() && fine.ok());
  auto doc = Document::Bind(schema, Input());
  ASSERT_TRUE(doc.ok());
  Evaluator ev;
  Value v;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(ev.Run(*failing, *doc, &v));
    ASSERT_TRUE(ev.Run(*fine, *doc, &v)) << ev.error();
    EXPECT_EQ(v.integer, 1);
  }
}

TEST(PolicyDocumentTest, BindingRejectsUnknownFieldsAndWrongTypes) {
  const Schema& schema = *HookSchema("promotion");
  auto bind = [&](const Json& j) {
    auto d = Document::Bind(schema, j);
    return d.ok() ? std::string("ok") : d.status().message();
  };
  EXPECT_EQ(bind({{"promotion", {{"autor", "x"}}}}),
            "input /promotion/autor: unknown field (fields here: id, automation, version, from, to, requester, "
            "author, requested_at, scheduled_for, emergency, reason, approvals)");
  EXPECT_EQ(bind({{"promotion", {{"approvals", {{{"user", 7}}}}}}}), "input /promotion/approvals/0/user: expected a string");
  EXPECT_EQ(bind({{"time", "yesterday"}}), "input /time: expected an RFC 3339 time such as \"2026-11-22T10:00:00Z\"");
  EXPECT_EQ(bind({{"environment", {{"position", 1.5}}}}), "input /environment/position: expected an integer");
  EXPECT_EQ(bind({{"environment", {{"position", 18446744073709551615ull}}}}), "input /environment/position: integer out of range");
  EXPECT_EQ(bind({{"live", "all"}}), "input /live: expected a list");
  EXPECT_EQ(bind(Json::array()), "input: expected a JSON object");
  EXPECT_EQ(bind({{"a/b~c", 1}}).substr(0, 18), "input /a~1b~0c: un");
  EXPECT_EQ(bind({{"promotion", nullptr}, {"time", nullptr}}), "ok");
}

// Found by policy_fuzz: a string literal of stray UTF-8 lead bytes compiled,
// and its value could not be written as JSON in an explanation.
TEST(PolicyProgramTest, InvalidUtf8InAnExpressionIsRefusedAtLoad) {
  EXPECT_EQ(Eval("\"\xf0\xf0\xf0\" == promotion.to"), "error: 1:1: expression is not valid UTF-8");
  EXPECT_EQ(Eval("lower(\"\xc3\xa9t\xc3\xa9\")"), "\xc3\xa9t\xc3\xa9");
}

TEST(PolicyDocumentTest, InputStringsMustBeUtf8) {
  auto d = Document::Bind(*HookSchema("api.request"), {{"request", {{"path", std::string("/v1/\xf0\xf0")}}}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "input /request/path: string is not valid UTF-8");
}

TEST(PolicyDocumentTest, GlobMatchIsLinearOnHostileInput) {
  const std::string text(5000, 'a');
  const std::string pattern = std::string(50, '*') + "b";
  EXPECT_FALSE(GlobMatch(text, pattern));
  EXPECT_TRUE(GlobMatch(text + "b", pattern));
}

TEST(PolicyDocumentTest, UrlHostIgnoresUserinfoPortsAndPaths) {
  EXPECT_EQ(UrlHost("https://user:pw@api.internal:8443/x@y"), "api.internal");
  EXPECT_EQ(UrlHost("https://api.internal?next=https://evil"), "api.internal");
  EXPECT_EQ(UrlHost("https://good.internal@evil.example/"), "evil.example");
  EXPECT_EQ(UrlHost("http://[::1]:80/"), "::1");
  EXPECT_EQ(UrlHost("://nohost"), "");
  EXPECT_EQ(UrlHost("api.internal/x"), "");
}

}  // namespace
}  // namespace cloister::policy
