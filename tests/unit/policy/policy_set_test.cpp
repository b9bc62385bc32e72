// Policy and binding documents: strict loading with positions, whole-set
// building, enforcement levels, overrides and explanations.
#include "governance/policy/policy_set.h"

#include <gtest/gtest.h>

#include "governance/policy/policy_tests.h"

namespace cloister::policy {
namespace {

const char* kPolicy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: approvals
hook: promotion
rules:
  - id: two-approvers
    description: Two approvers other than the author.
    when: promotion.to == "prod"
    require: |
      count(promotion.approvals, a, a.user != promotion.author) >= 2
    message: "approvers other than the author: {{ count(promotion.approvals, a, a.user != promotion.author) }}, required: 2"
  - id: no-self
    description: The author does not approve.
    deny: exists(promotion.approvals, a, a.user == promotion.author)
)";

std::string Binding(const std::string& name, const std::string& level, const std::string& extra = "") {
  return "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata:\n  name: " + name +
         "\nhook: promotion\npolicies: [approvals]\nenvironments: [prod]\nlevel: " + level + "\n" + extra;
}

std::string LoadError(const std::string& text) {
  auto set = PolicySet::Build({{"p.yaml", text}});
  return set.ok() ? "ok" : set.status().message();
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(PolicyLoaderTest, LoadsAPolicy) {
  auto p = LoadPolicy({"p.yaml", kPolicy});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->name, "approvals");
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_TRUE(p->rules[0].when.has_value());
  EXPECT_FALSE(p->rules[0].deny);
  EXPECT_TRUE(p->rules[1].deny);
  EXPECT_EQ(p->digest.size(), 64u);
}

TEST(PolicyLoaderTest, StrictErrorsNameFileLineAndColumn) {
  EXPECT_EQ(LoadError(Replace(kPolicy, "    when:", "    whenn:")),
            "p.yaml:9:5: unknown key \"rules[0].whenn\" (known keys here: id, description, controls, when, require, "
            "deny, message)");
  EXPECT_EQ(LoadError(Replace(kPolicy, "hook: promotion\n", "hook: promotion\nhook: promotion\n")),
            "p.yaml:6:1: duplicate key \"hook\"");
  EXPECT_EQ(LoadError(Replace(kPolicy, "  name: approvals", "  name: [approvals]")),
            "p.yaml:4:9: metadata.name: expected a string");
  EXPECT_EQ(LoadError(Replace(kPolicy, "hook: promotion", "hook: deploy")),
            "p.yaml:5:7: hook: must be one of promotion, automation.save, run.step, api.request, got \"deploy\"");
  EXPECT_EQ(LoadError(Replace(kPolicy, "cloister/v1", "cloister/v2")),
            "p.yaml:1:13: apiVersion: must be \"cloister/v1\", got \"cloister/v2\"");
  // An unknown input field inside a block scalar: the line and column of the field itself.
  EXPECT_EQ(LoadError(Replace(kPolicy, "a.user != promotion.author) >= 2", "a.usr != promotion.author) >= 2")),
            "p.yaml:11:37: unknown input field \"usr\" of \"a\" (its fields: user, roles, at, version, comment) (in "
            "rules[0].require)");
  // In a plain scalar and in a message placeholder.
  EXPECT_EQ(LoadError(Replace(kPolicy, "promotion.to == \"prod\"", "promotion.to == 3")),
            "p.yaml:9:11: \"==\" compares two values of one type: \"promotion.to\" (string) and \"3\" (int) (in "
            "rules[0].when)");
  EXPECT_EQ(LoadError(Replace(kPolicy, "required: 2\"", "required: {{ promotion.nope }}\"")).substr(0, 46),
            "p.yaml:12:126: unknown input field \"nope\" of \"");
  EXPECT_EQ(LoadError(Replace(kPolicy, "    deny: exists", "    require: true\n    deny: exists")),
            "p.yaml:15:14: rules[1].require: give exactly one of require and deny");
  EXPECT_EQ(LoadError(Replace(kPolicy, "  - id: no-self", "  - id: two-approvers")),
            "p.yaml:13:9: rules[1].id: rule id \"two-approvers\" is used twice");
  EXPECT_EQ(LoadError(Replace(kPolicy, "rules:\n", "rules: 3\nx:\n")).substr(0, 29), "p.yaml:7:1: unknown key \"x\" (");
  EXPECT_EQ(LoadError("apiVersion: cloister/v1\nkind: Policy\nmetadata: {name: Bad_Name}\nhook: promotion\n"),
            "p.yaml:3:18: metadata.name: must be 1-64 characters of a-z, 0-9, '.', '_' and '-', got \"Bad_Name\"");
  EXPECT_EQ(LoadError("{{{"), "p.yaml:1:1: end of map flow not found");  // yaml-cpp's own words
  EXPECT_EQ(LoadError(std::string(300 * 1024, '#')), "p.yaml: document is 307200 bytes; the limit is 262144");
  EXPECT_EQ(LoadError(Replace(kPolicy, "Two approvers", "Two \xff approvers")), "p.yaml: document is not valid UTF-8");
}

TEST(PolicyLoaderTest, BindingsAreCheckedAgainstTheSet) {
  EXPECT_EQ(LoadError(Binding("b", "hard_mandatory")),
            "p.yaml: policy binding \"b\" names policy \"approvals\", which does not exist");
  auto both = [](const std::string& binding) {
    auto set = PolicySet::Build({{"a.yaml", kPolicy}, {"b.yaml", binding}});
    return set.ok() ? std::string("ok") : set.status().message();
  };
  EXPECT_EQ(both(Binding("b", "hard_mandatory")), "ok");
  EXPECT_EQ(both(Binding("b", "strict")),
            "b.yaml:8:8: level: must be advisory, soft_mandatory, hard_mandatory or shadow, got \"strict\"");
  EXPECT_EQ(both(Binding("b", "soft_mandatory")),
            "b.yaml:1:1: override_roles: a soft_mandatory binding names the roles that may override it");
  EXPECT_EQ(both(Binding("b", "advisory", "override_roles: [admin]\n")),
            "b.yaml:9:17: override_roles: only a soft_mandatory binding can be overridden");
  EXPECT_EQ(both(Binding("b", "soft_mandatory", "override_roles: [root]\n")),
            "b.yaml:9:17: override_roles: unknown role \"root\"");
  EXPECT_EQ(both(Replace(Binding("b", "shadow"), "hook: promotion", "hook: api.request")),
            "b.yaml: policy binding \"b\" is for hook api.request but policy \"approvals\" is for hook promotion");
  auto dup = PolicySet::Build({{"a.yaml", kPolicy}, {"c.yaml", kPolicy}});
  EXPECT_EQ(dup.status().message(), "c.yaml: policy \"approvals\" is also defined in a.yaml");
}

// Policy "p" with the one promotion rule "r".
std::string OneRulePolicy(const std::string& description, const std::string& require) {
  return "apiVersion: cloister/v1\nkind: Policy\nmetadata: {name: p}\nhook: promotion\nrules:\n  - id: r\n"
         "    description: " + description + "\n    require: '" + require + "'\n";
}

Json PromotionInput(const Json& approvals, const std::string& to = "prod") {
  return {{"promotion", {{"to", to}, {"author", "alice"}, {"approvals", approvals}}}};
}

class DecisionTest : public ::testing::Test {
 protected:
  std::shared_ptr<const PolicySet> Set(const std::vector<std::string>& bindings) {
    std::vector<SourceDocument> docs = {{"approvals.yaml", kPolicy}};
    for (size_t i = 0; i < bindings.size(); ++i) docs.push_back({"b" + std::to_string(i) + ".yaml", bindings[i]});
    auto set = PolicySet::Build(docs);
    EXPECT_TRUE(set.ok()) << set.status().message();
    return *set;
  }
  Decision Decide(const PolicySet& set, const Json& input, const OverrideRequest* o = nullptr,
                  const std::string& env = "prod") {
    auto doc = Document::Bind(*HookSchema("promotion"), input);
    EXPECT_TRUE(doc.ok());
    return set.Decide("promotion", env, *doc, ev_, o);
  }
  Evaluator ev_;
};

TEST_F(DecisionTest, ExplainsTheFailingClauseWithObservedValues) {
  auto set = Set({Binding("prod-gate", "hard_mandatory")});
  const Decision d = Decide(*set, PromotionInput({{{"user", "bob"}}, {{"user", "alice"}}}));
  EXPECT_EQ(d.outcome, "deny");
  EXPECT_FALSE(d.allowed);
  ASSERT_EQ(d.bindings.size(), 1u);
  const auto& v = d.bindings[0].verdicts;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].verdict, Verdict::kFail);
  EXPECT_EQ(v[0].message, "approvers other than the author: 1, required: 2");
  EXPECT_EQ(v[0].clause, "count(promotion.approvals, a, a.user != promotion.author) >= 2");
  ASSERT_EQ(v[0].observed.size(), 1u);
  EXPECT_EQ(v[0].observed[0].expr, "count(promotion.approvals, a, a.user != promotion.author)");
  EXPECT_EQ(v[0].observed[0].json(), 1);
  // The deny rule names the approval that matched and what it saw there.
  EXPECT_EQ(v[1].verdict, Verdict::kFail);
  EXPECT_EQ(v[1].clause, "exists(promotion.approvals, a, a.user == promotion.author)");
  ASSERT_EQ(v[1].observed.size(), 3u);
  EXPECT_EQ(v[1].observed[0].expr, "a");
  EXPECT_EQ(v[1].observed[0].json(), "promotion.approvals[1]");
  EXPECT_EQ(v[1].observed[1].expr, "a.user");
  EXPECT_EQ(v[1].observed[1].json(), "alice");
  EXPECT_EQ(v[1].observed[2].expr, "promotion.author");
  EXPECT_EQ(d.Summary(),
            "approvals/two-approvers: approvers other than the author: 1, required: 2; approvals/no-self: The author "
            "does not approve.");
  const Json j = d.ToJson(false);
  EXPECT_EQ(j["bindings"][0]["verdicts"][0]["observed"][0]["value"], 1);
  EXPECT_EQ(j["policy_set_digest"], set->digest());
}

TEST_F(DecisionTest, ConjunctionsReportTheFirstFalseClause) {
  const std::string policy =
      OneRulePolicy("d", "promotion.to == \"prod\" && size(promotion.approvals) > 3 && promotion.author != \"\"");
  auto set = PolicySet::Build({{"p.yaml", policy}});
  ASSERT_TRUE(set.ok()) << set.status().message();
  auto doc = Document::Bind(*HookSchema("promotion"), PromotionInput({{{"user", "bob"}}}));
  std::vector<RuleVerdict> out;
  EvaluatePolicy((*set)->policies().at("p"), *doc, ev_, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].clause, "size(promotion.approvals) > 3");
  ASSERT_EQ(out[0].observed.size(), 1u);
  EXPECT_EQ(out[0].observed[0].expr, "size(promotion.approvals)");
  EXPECT_EQ(out[0].observed[0].json(), 1);
}

TEST_F(DecisionTest, EachLevelDecidesDifferently) {
  const Json failing = PromotionInput(Json::array());
  EXPECT_EQ(Decide(*Set({Binding("b", "advisory")}), failing).outcome, "warn");
  EXPECT_TRUE(Decide(*Set({Binding("b", "advisory")}), failing).allowed);
  EXPECT_EQ(Decide(*Set({Binding("b", "hard_mandatory")}), failing).outcome, "deny");
  const Decision shadow = Decide(*Set({Binding("b", "shadow")}), failing);
  EXPECT_EQ(shadow.outcome, "allow");
  EXPECT_TRUE(shadow.bindings[0].failed);
  EXPECT_TRUE(shadow.ToJson(false)["bindings"].empty());
  EXPECT_EQ(shadow.ToJson(true)["bindings"].size(), 1u);
  const Decision soft = Decide(*Set({Binding("b", "soft_mandatory", "override_roles: [approver]\n")}), failing);
  EXPECT_EQ(soft.outcome, "overridable");
  EXPECT_FALSE(soft.allowed);
  EXPECT_EQ(soft.override_roles, std::vector<std::string>{"approver"});
  // Hard wins over soft; a binding for another environment does not apply.
  auto mixed = Set({Binding("a", "soft_mandatory", "override_roles: [approver]\n"), Binding("z", "hard_mandatory")});
  EXPECT_EQ(Decide(*mixed, failing).outcome, "deny");
  EXPECT_EQ(Decide(*mixed, failing, nullptr, "test").outcome, "allow");
  EXPECT_TRUE(Decide(*mixed, failing, nullptr, "test").bindings.empty());
  // A passing input is allowed at every level.
  EXPECT_EQ(Decide(*mixed, PromotionInput({{{"user", "bob"}}, {{"user", "carol"}}})).outcome, "allow");
}

TEST_F(DecisionTest, OverridesNeedANamedRoleAndAReason) {
  auto set = Set({Binding("b", "soft_mandatory", "override_roles: [approver, admin]\n")});
  const Json failing = PromotionInput(Json::array());
  OverrideRequest ok{"dora", {"approver"}, "INC-2231: regulator deadline, reviewed by phone"};
  EXPECT_EQ(Decide(*set, failing, &ok).outcome, "overridden");
  EXPECT_TRUE(Decide(*set, failing, &ok).allowed);
  OverrideRequest wrong_role{"erin", {"author", "operator"}, "because"};
  const Decision refused = Decide(*set, failing, &wrong_role);
  EXPECT_EQ(refused.outcome, "overridable");
  EXPECT_EQ(refused.override_refused, "overriding policy binding \"b\" needs one of the roles: approver, admin");
  OverrideRequest blank{"dora", {"approver"}, "  \n"};
  EXPECT_EQ(Decide(*set, failing, &blank).override_refused, "an override needs a written reason (1 to 2000 characters)");
  // An override cannot lift a hard-mandatory failure.
  auto hard = Set({Binding("a", "soft_mandatory", "override_roles: [approver]\n"), Binding("h", "hard_mandatory")});
  EXPECT_EQ(Decide(*hard, failing, &ok).outcome, "deny");
}

TEST_F(DecisionTest, RuntimeErrorsFailTheRule) {
  const std::string policy = OneRulePolicy("Divides by the number of approvals.", "10 / size(promotion.approvals) > 1");
  auto set = PolicySet::Build({{"p.yaml", policy}});
  ASSERT_TRUE(set.ok());
  auto doc = Document::Bind(*HookSchema("promotion"), PromotionInput(Json::array()));
  std::vector<RuleVerdict> out;
  EvaluatePolicy((*set)->policies().at("p"), *doc, ev_, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, Verdict::kError);
  EXPECT_TRUE(out[0].failed());
  EXPECT_EQ(out[0].error, "division by zero in \"size(promotion.approvals)\"");
}

TEST(PolicySetTest, DigestChangesWithAnyDocumentAndNotWithOrder) {
  auto a = PolicySet::Build({{"a.yaml", kPolicy}, {"b.yaml", Binding("b", "advisory")}});
  auto b = PolicySet::Build({{"b.yaml", Binding("b", "advisory")}, {"a.yaml", kPolicy}});
  auto c = PolicySet::Build({{"a.yaml", kPolicy}, {"b.yaml", Binding("b", "shadow")}});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->digest(), (*b)->digest());
  EXPECT_NE((*a)->digest(), (*c)->digest());
}

TEST(PolicyPacksTest, ShippedPacksPassTheirFixturesWithFullCoverage) {
  auto report = RunPolicyTests(CLOISTER_SOURCE_DIR "/policies");
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->failures, 0) << report->Text();
  EXPECT_EQ(report->CoveragePercent(), 100) << report->Text();
  EXPECT_GE(report->cases.size(), 40u);
}

}  // namespace
}  // namespace cloister::policy
