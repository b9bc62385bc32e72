// The promotion gate's policy check (levels, overrides, pipeline-bound
// policies, the input document), break-glass and rollbacks.
#include "governance/promotion/gate.h"

#include <gtest/gtest.h>

#include "tests/unit/promotion/gate_fixture.h"

namespace cloister::promotion {
namespace {

using namespace gate_testing;  // NOLINT(build/namespaces): the fixture and its builders

// ---- policy ------------------------------------------------------------------

TEST_F(GateTest, PolicyWaitsForTheApprovals) {
  in_.policies = Policies({kNeedsReason, Binding("hard_mandatory")});
  const GateResult r = Run();
  const Check c = Find(r, "policy");
  EXPECT_EQ(c.status, "pending");
  EXPECT_EQ(c.message, "evaluated once the approvals are in and nothing else fails");
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(r.next_state, PromotionState::kAwaitingApproval);
  EXPECT_EQ(r.note, "approvals: 0 of 1 approvals");
}

TEST_F(GateTest, HardMandatoryDenialBlocks) {
  in_.approvals = {Approval("bob")};
  in_.policies = Policies({kNeedsReason, Binding("hard_mandatory")});
  const GateResult r = Run();
  const Check c = Find(r, "policy");
  EXPECT_EQ(c.status, "fail");
  EXPECT_EQ(c.message, std::string("refused by policy: ") + kSummary);
  EXPECT_EQ(r.next_state, PromotionState::kBlocked);
  ASSERT_TRUE(r.policy.has_value());
  EXPECT_EQ(r.policy->decision.outcome, "deny");
  EXPECT_FALSE(r.policy->override_applied);
  EXPECT_EQ(r.policy->input, PromotionPolicyInput(in_));
  EXPECT_EQ(r.note, std::string("policy: refused by policy: ") + kSummary);
}

TEST_F(GateTest, SoftMandatoryFailureWaitsForAnOverride) {
  in_.approvals = {Approval("bob")};
  in_.policies = Policies({kNeedsReason, Binding("soft_mandatory", "override_roles: [admin]\n")});
  const GateResult r = Run(Phase::kReview);
  const Check c = Find(r, "policy");
  EXPECT_EQ(c.status, "waiting");
  EXPECT_EQ(c.message, std::string("needs an override by one of [\"admin\"]: ") + kSummary);
  EXPECT_EQ(c.details, Json::parse(R"({"override_roles": ["admin"]})"));
  EXPECT_EQ(r.next_state, PromotionState::kAwaitingApproval);
  EXPECT_EQ(r.policy->decision.outcome, "overridable");
}

TEST_F(GateTest, OverrideByARoleTheBindingNamesPasses) {
  in_.approvals = {Approval("bob")};
  in_.policies = Policies({kNeedsReason, Binding("soft_mandatory", "override_roles: [admin]\n")});
  in_.override_request = policy::OverrideRequest{"ada", {"admin"}, "the change window was agreed"};
  const GateResult r = Run(Phase::kReview);
  EXPECT_EQ(Find(r, "policy").status, "pass");
  EXPECT_EQ(Find(r, "policy").message, "passed (overridden)");
  EXPECT_TRUE(r.policy->override_applied);
  EXPECT_EQ(r.next_state, PromotionState::kApproved);
}

TEST_F(GateTest, OverrideWithoutTheRoleKeepsWaiting) {
  in_.approvals = {Approval("bob")};
  in_.policies = Policies({kNeedsReason, Binding("soft_mandatory", "override_roles: [admin]\n")});
  in_.override_request = policy::OverrideRequest{"bob", {"approver"}, "please"};
  const GateResult r = Run(Phase::kReview);
  EXPECT_EQ(Find(r, "policy").status, "waiting");
  EXPECT_EQ(Find(r, "policy").message, std::string("needs an override by one of [\"admin\"]: ") + kSummary +
                                           " (overriding policy binding \"reasons\" needs one of the roles: admin)");
  EXPECT_FALSE(r.policy->override_applied);
}

TEST_F(GateTest, AdvisoryFailurePasses) {
  in_.approvals = {Approval("bob")};
  in_.policies = Policies({kNeedsReason, Binding("advisory")});
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "policy").status, "pass");
  EXPECT_EQ(Find(r, "policy").message, "passed (warn)");
  EXPECT_EQ(r.next_state, PromotionState::kApproved);
  in_.reason = "quarterly close";
  EXPECT_EQ(Find(Run(), "policy").message, "every binding passed");
}

TEST_F(GateTest, PipelinePoliciesAreHardMandatoryAndOutliveTheGate) {
  in_.approvals = {Approval("bob")};
  in_.policies = Policies({kNeedsReason});
  in_.stage.policies = {"needs-reason"};
  std::optional<GateResult> copy;
  {
    const GateResult r = Run();
    EXPECT_EQ(Find(r, "policy").status, "fail");
    copy = r;
  }
  ASSERT_TRUE(copy->policy.has_value());
  const policy::Decision& d = copy->policy->decision;
  ASSERT_EQ(d.bindings.size(), 1u);
  EXPECT_EQ(d.bindings[0].binding->name, "pipeline:default/prod/needs-reason");
  EXPECT_EQ(d.ToJson(true)["bindings"].at(0).at("level"), "hard_mandatory");
  EXPECT_EQ(copy->policy->bindings->size(), 1u);
}

TEST_F(GateTest, PipelinePolicyThatIsNotLoadedBlocks) {
  in_.approvals = {Approval("bob")};
  in_.stage.policies = {"nope", "also-nope"};
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "policy").status, "fail");
  EXPECT_EQ(Find(r, "policy").message, "the pipeline requires promotion policies that are not loaded: nope, also-nope");
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(r.next_state, PromotionState::kBlocked);
}

TEST_F(GateTest, InputThatDoesNotBindIsAnError) {
  in_.approvals = {Approval("bob")};
  in_.definition.policy_view = {{"bogus", 1}};
  auto r = EvaluateGate(in_, Phase::kRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GateTest, PolicyInputNamesPeopleAndFillsTimes) {
  in_.approvals = {Approval("bob"), Approval("carol", {"approver"}, kVersion, "reject")};
  in_.approvals[0].at = "not a time";
  in_.created_at = "";
  in_.scheduled_for = "2026-11-22T10:00:00Z";
  in_.live = {{"prod", kOther, "2026-11-01T08:00:00.000000Z"}, {"staging", kVersion, "2026-11-20T08:00:00.000000Z"},
              {"test", kOther, "2026-11-20T08:00:00.000000Z"}};
  in_.target_variables = {"B", "A"};
  in_.target_secrets = {"S"};
  in_.target_egress_allow = {"*.internal"};
  in_.definition.policy_view = {{"name", "invoice-triage"}};
  const Json want = {
      {"time", "2026-11-21T12:00:00Z"},
      {"promotion",
       {{"id", "prm-1"},
        {"automation", "invoice-triage"},
        {"version", kVersion},
        {"from", "staging"},
        {"to", "prod"},
        {"requester", "rita"},
        {"author", "arthur"},
        {"requested_at", "2026-11-21T12:00:00Z"},
        {"scheduled_for", "2026-11-22T10:00:00Z"},
        {"emergency", false},
        {"reason", ""},
        {"approvals",
         Json::array({{{"user", "bob"}, {"roles", Json::array({"approver"})}, {"at", "2026-11-21T12:00:00Z"},
                       {"version", kVersion}, {"comment", "ok"}}})}}},
      {"definition", {{"name", "invoice-triage"}}},
      {"environment",
       {{"name", "prod"},
        {"position", 2},
        {"egress_allow", Json::array({"*.internal"})},
        {"model_endpoints", Json::array()},
        {"variables", Json::array({"A", "B"})},
        {"secrets", Json::array({"S"})}}},
      {"live", Json::array({{{"environment", "staging"}, {"version", kVersion}, {"since", "2026-11-20T08:00:00Z"}},
                            {{"environment", "prod"}, {"version", kOther}, {"since", "2026-11-01T08:00:00Z"}}})},
      {"evidence", Json::array()}};
  EXPECT_EQ(PromotionPolicyInput(in_), want);
  in_.created_at = "2026-11-21T10:00:00.000000Z";
  in_.scheduled_for = "";
  const Json stored = PromotionPolicyInput(in_);
  EXPECT_EQ(stored["promotion"]["requested_at"], "2026-11-21T10:00:00Z");
  EXPECT_FALSE(stored["promotion"].contains("scheduled_for"));
}

// ---- break-glass and rollback ---------------------------------------------

TEST_F(GateTest, BreakGlassSkipsWindowsAndApprovals) {
  in_.emergency = true;
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")};
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "window").status, "skipped");
  EXPECT_EQ(Find(r, "window").message, "break-glass: deny window \"freeze\" is in force until 2026-11-22T00:00:00Z");
  EXPECT_EQ(Find(r, "approvals").status, "skipped");
  EXPECT_EQ(Find(r, "approvals").message,
            "break-glass: approvals skipped; an approver must review this promotion afterwards");
  EXPECT_EQ(Find(r, "policy").status, "pass");
  EXPECT_EQ(r.next_state, PromotionState::kApproved);
}

TEST_F(GateTest, BreakGlassSkipsOnlyWhatTheStageAllows) {
  in_.emergency = true;
  in_.stage.break_glass_skips_windows = false;
  in_.stage.break_glass_skips_approvals = false;
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")};
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "window").status, "fail");
  EXPECT_EQ(Find(r, "approvals").status, "waiting");
  EXPECT_EQ(r.next_state, PromotionState::kBlocked);
}

TEST_F(GateTest, BreakGlassWithTheApprovalsInPassesThem) {
  in_.emergency = true;
  in_.approvals = {Approval("bob")};
  EXPECT_EQ(Find(Run(), "approvals").status, "pass");
}

TEST_F(GateTest, RollbackSkipsSourceWindowAndPolicy) {
  in_.kind = "rollback";
  in_.from = "prod";
  in_.live_in_source.reset();
  in_.approvals = {Approval("bob")};
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")};
  in_.policies = Policies({kNeedsReason, Binding("hard_mandatory")});
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "source").status, "pass");
  EXPECT_EQ(Find(r, "source").message, "rollback to the version live in prod before the current one");
  EXPECT_EQ(Find(r, "window").status, "skipped");
  EXPECT_EQ(Find(r, "window").message, "rollbacks are not held by deny windows");
  EXPECT_EQ(Find(r, "policy").status, "skipped");
  EXPECT_EQ(Find(r, "policy").message, "rollbacks return to a version that passed its gates");
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(r.next_state, PromotionState::kApproved);
}

TEST(GateOverrideTest, ReadsTheStoredOverride) {
  auto none = OverrideFromJson(Json());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto ov = OverrideFromJson(Json::parse(
      R"({"user": "ada", "user_id": "usr_ada", "roles": ["admin"], "reason": "agreed", "at": "2026-11-21T12:00:00Z"})"));
  ASSERT_TRUE(ov.ok());
  ASSERT_TRUE(ov->has_value());
  EXPECT_EQ((*ov)->user, "ada");
  EXPECT_EQ((*ov)->roles, std::vector<std::string>{"admin"});
  EXPECT_EQ((*ov)->reason, "agreed");
  EXPECT_EQ(OverrideFromJson(Json::parse(R"({"roles": "admin"})")).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(OverrideFromJson(Json::parse(R"({"reason": 3})")).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace cloister::promotion
