// The promotion gate as a pure function, case by case: approvals, windows,
// configuration, source, scheduling, and the state the checks lead to in
// each phase.
#include "governance/promotion/gate.h"

#include <gtest/gtest.h>

#include "tests/unit/promotion/gate_fixture.h"

namespace cloister::promotion {
namespace {

using namespace gate_testing;  // NOLINT(build/namespaces): the fixture and its builders

// ---- approvals -----------------------------------------------------------

TEST_F(GateTest, CountsEachApproverOnce) {
  in_.stage.approvals.required = 2;
  in_.approvals = {Approval("bob"), Approval("bob")};
  const GateResult r = Run();
  const Check c = Find(r, "approvals");
  EXPECT_EQ(c.status, "waiting");
  EXPECT_EQ(c.message, "1 of 2 approvals");
  EXPECT_EQ(c.details["counted"], Json::array({"bob"}));
  EXPECT_EQ(c.details["not_counted"], Json::parse(R"([{"user": "bob", "why": ""}])"));
  EXPECT_EQ(r.next_state, PromotionState::kAwaitingApproval);
}

TEST_F(GateTest, TwoDistinctApproversMeetARuleOfTwo) {
  in_.stage.approvals.required = 2;
  in_.approvals = {Approval("bob"), Approval("carol")};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.status, "pass");
  EXPECT_EQ(c.message, "2 of 2 approvals");
  EXPECT_EQ(c.details, Json::parse(R"({"required": 2, "counted": ["bob", "carol"], "not_counted": [],
                                       "roles": ["approver"], "users": []})"));
}

TEST_F(GateTest, RequesterAndAuthorDoNotCount) {
  in_.approvals = {Approval("rita"), Approval("arthur")};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.status, "waiting");
  EXPECT_EQ(c.details["not_counted"], Json::parse(R"([{"user": "rita", "why": "rita requested this promotion"},
                                                      {"user": "arthur", "why": "arthur wrote version aaaaaaaaaaaa"}])"));
}

TEST_F(GateTest, RuleMayAllowRequesterAndAuthor) {
  in_.stage.approvals.required = 2;
  in_.stage.approvals.allow_requester = true;
  in_.stage.approvals.allow_author = true;
  in_.approvals = {Approval("rita"), Approval("arthur")};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.status, "pass");
  EXPECT_EQ(c.details["counted"], Json::array({"rita", "arthur"}));
}

TEST_F(GateTest, ApprovalOfAnotherVersionDoesNotCount) {
  in_.approvals = {Approval("bob", {"approver"}, kOther)};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.status, "waiting");
  EXPECT_EQ(c.details["not_counted"], Json::parse(R"([{"user": "bob", "why": "approved another version"}])"));
}

TEST_F(GateTest, RejectionsAreNeitherCountedNorListed) {
  in_.approvals = {Approval("bob", {"approver"}, kVersion, "reject")};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.message, "0 of 1 approvals");
  EXPECT_EQ(c.details["not_counted"], Json::array());
}

TEST_F(GateTest, ApproverNeedsARoleOfTheRuleOrAdmin) {
  in_.stage.approvals.roles = {"operator"};
  in_.stage.approvals.required = 2;
  in_.approvals = {Approval("bob", {"approver", "author"}), Approval("ada", {"admin"}), Approval("otto", {"operator"})};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.status, "pass");
  EXPECT_EQ(c.details["counted"], Json::array({"ada", "otto"}));
  EXPECT_EQ(c.details["not_counted"],
            Json::parse(R"([{"user": "bob", "why": "bob holds none of the roles [\"operator\"] in prod"}])"));
}

TEST_F(GateTest, NamedUsersCountWithoutARole) {
  in_.stage.approvals.roles = {};
  in_.stage.approvals.users = {"carol"};
  in_.approvals = {Approval("carol", {}), Approval("dave", {})};
  const Check c = Find(Run(), "approvals");
  EXPECT_EQ(c.status, "pass");
  EXPECT_EQ(c.details["counted"], Json::array({"carol"}));
  EXPECT_EQ(c.details["users"], Json::array({"carol"}));
}

TEST_F(GateTest, RollbackUsesTheRollbackRule) {
  in_.stage.approvals.roles = {"approver"};
  in_.approvals = {Approval("otto", {"operator"})};
  EXPECT_EQ(Find(Run(), "approvals").status, "waiting");
  in_.kind = "rollback";
  EXPECT_EQ(Find(Run(), "approvals").status, "pass");
}

TEST_F(GateTest, EligibleSaysWhy) {
  std::string why;
  const ApprovalRule rule;
  EXPECT_TRUE(Eligible(Approval("bob"), in_, rule, &why));
  EXPECT_FALSE(Eligible(Approval("rita"), in_, rule, &why));
  EXPECT_EQ(why, "rita requested this promotion");
  EXPECT_FALSE(Eligible(Approval("arthur"), in_, rule, &why));
  EXPECT_EQ(why, "arthur wrote version aaaaaaaaaaaa");
  EXPECT_FALSE(Eligible(Approval("bob", {"approver"}, kOther), in_, rule, &why));
  EXPECT_EQ(why, "approved another version");
  EXPECT_FALSE(Eligible(Approval("bob", {"auditor"}), in_, rule, &why));
  EXPECT_EQ(why, "bob holds none of the roles [\"approver\"] in prod");
  EXPECT_TRUE(Eligible(Approval("bob", {"admin"}), in_, rule, &why));
}

// ---- windows -------------------------------------------------------------

TEST_F(GateTest, OutsideEveryAllowWindowBlocks) {
  in_.approvals = {Approval("bob")};
  in_.stage.allow_windows = {Weekly("weekdays", 0x3e, 9 * 60, 17 * 60)};
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "window").status, "fail");
  EXPECT_EQ(Find(r, "window").message, "outside every allow window (weekdays)");
  EXPECT_EQ(r.next_state, PromotionState::kBlocked);
  EXPECT_EQ(Find(r, "policy").status, "pending");
}

TEST_F(GateTest, InsideAnAllowWindowPasses) {
  in_.approvals = {Approval("bob")};
  in_.stage.allow_windows = {Weekly("weekdays", 0x3e, 9 * 60, 17 * 60), Weekly("saturday", kSaturday, 10 * 60, 14 * 60)};
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "window").status, "pass");
  EXPECT_EQ(Find(r, "window").message, "no deny window at 2026-11-21T12:00:00Z");
  EXPECT_EQ(r.next_state, PromotionState::kApproved);
}

TEST_F(GateTest, DenyWindowWinsOverAllowWindow) {
  in_.stage.allow_windows = {Weekly("saturday", kSaturday, 0, 24 * 60)};
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z")};
  const Check c = Find(Run(), "window");
  EXPECT_EQ(c.status, "fail");
  EXPECT_EQ(c.message, "deny window \"freeze\" is in force until 2026-11-23T00:00:00Z");
}

TEST_F(GateTest, WeeklyWindowIsReadAtItsUtcOffset) {
  // 12:00 UTC is 17:00 at +05:00: inside 16:00-18:00 there, outside at UTC.
  in_.stage.deny_windows = {Weekly("evening", kSaturday, 16 * 60, 18 * 60, 5 * 3600)};
  const Check c = Find(Run(), "window");
  EXPECT_EQ(c.status, "fail");
  EXPECT_EQ(c.message, "deny window \"evening\" is in force until 2026-11-21T13:00:00Z");
  in_.stage.deny_windows = {Weekly("evening", kSaturday, 16 * 60, 18 * 60)};
  EXPECT_EQ(Find(Run(), "window").status, "pass");
}

TEST_F(GateTest, OvernightWindowWrapsPastMidnight) {
  in_.stage.deny_windows = {Weekly("friday-night", kFriday, 22 * 60, 6 * 60)};
  in_.now = At("2026-11-20T23:00:00Z");  // Friday
  EXPECT_EQ(Find(Run(), "window").status, "fail");
  in_.now = At("2026-11-21T03:00:00Z");  // Saturday morning, still Friday night's window
  EXPECT_EQ(Find(Run(), "window").message, "deny window \"friday-night\" is in force until 2026-11-21T06:00:00Z");
  in_.now = At("2026-11-21T06:00:00Z");
  EXPECT_EQ(Find(Run(), "window").status, "pass");
  in_.now = At("2026-11-20T21:59:00Z");
  EXPECT_EQ(Find(Run(), "window").status, "pass");
}

TEST_F(GateTest, ReviewTurnsAWindowIntoANotice) {
  in_.approvals = {Approval("bob")};
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")};
  const GateResult r = Run(Phase::kReview);
  const Check c = Find(r, "window");
  EXPECT_EQ(c.status, "notice");
  EXPECT_EQ(c.message, "deny window \"freeze\" is in force until 2026-11-22T00:00:00Z; the deployment must wait until it ends");
  EXPECT_EQ(r.next_state, PromotionState::kApproved);
  EXPECT_EQ(Find(r, "policy").status, "pass");
}

TEST_F(GateTest, AtDeploymentAWindowHoldsTheDeploymentWithoutFailingThePromotion) {
  in_.approvals = {Approval("bob")};
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")};
  const GateResult deploy = Run(Phase::kDeploy);
  EXPECT_EQ(Find(deploy, "window").status, "fail");
  EXPECT_EQ(deploy.next_state, PromotionState::kApproved);
  EXPECT_TRUE(deploy.caller_deploys);
  EXPECT_TRUE(deploy.HeldByWindow());
  EXPECT_EQ(Find(deploy, "policy").status, "pass");
  EXPECT_EQ(deploy.note, "window: deny window \"freeze\" is in force until 2026-11-22T00:00:00Z");
  const GateResult request = Run(Phase::kRequest);
  EXPECT_EQ(request.next_state, PromotionState::kBlocked);
  EXPECT_FALSE(request.caller_deploys);
}

TEST_F(GateTest, WindowIsCheckedAtTheScheduledTimeUntilDeployment) {
  in_.approvals = {Approval("bob")};
  in_.scheduled_for = "2026-11-22T10:00:00Z";
  in_.stage.deny_windows = {Dated("sunday", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")};
  EXPECT_EQ(Find(Run(Phase::kRequest), "window").status, "fail");
  const GateResult deploy = Run(Phase::kDeploy);  // now is Saturday
  EXPECT_EQ(Find(deploy, "window").message, "no deny window at 2026-11-21T12:00:00Z");
  EXPECT_FALSE(deploy.HeldByWindow());
}

// ---- configuration, source, schedule -------------------------------------

TEST_F(GateTest, MissingVariablesAndSecretsBlock) {
  in_.approvals = {Approval("bob")};
  in_.definition.variables = {"API_URL", "TIMEOUT"};
  in_.definition.secrets = {"TOKEN"};
  in_.target_variables = {"TIMEOUT", "UNUSED"};
  const GateResult r = Run();
  const Check c = Find(r, "configuration");
  EXPECT_EQ(c.status, "fail");
  EXPECT_EQ(c.message, "prod lacks variable API_URL, secret TOKEN");
  EXPECT_EQ(c.details, Json::parse(R"({"missing_variables": ["API_URL"], "missing_secrets": ["TOKEN"]})"));
  EXPECT_EQ(r.next_state, PromotionState::kBlocked);
  EXPECT_EQ(Find(r, "policy").status, "pending");
  EXPECT_FALSE(r.policy.has_value());

  in_.target_variables = {"API_URL", "TIMEOUT"};
  in_.target_secrets = {"TOKEN"};
  const Check ok = Find(Run(), "configuration");
  EXPECT_EQ(ok.status, "pass");
  EXPECT_EQ(ok.message, "every variable and secret the version references is set in prod");
  EXPECT_TRUE(ok.details.is_null());
}

TEST_F(GateTest, VersionNoLongerLiveInTheSourceBlocks) {
  in_.live_in_source = kOther;
  Check c = Find(Run(), "source");
  EXPECT_EQ(c.status, "fail");
  EXPECT_EQ(c.message, "version aaaaaaaaaaaa is no longer live in staging (superseded by bbbbbbbbbbbb)");
  EXPECT_EQ(c.details["live_in_source"], kOther);
  in_.live_in_source.reset();
  c = Find(Run(), "source");
  EXPECT_EQ(c.message, "version aaaaaaaaaaaa is no longer live in staging");
  EXPECT_TRUE(c.details["live_in_source"].is_null());
  in_.live_in_source = kVersion;
  EXPECT_EQ(Find(Run(), "source").message, "version is live in staging");
}

TEST_F(GateTest, SchedulingNotAllowedBlocks) {
  in_.approvals = {Approval("bob")};
  in_.scheduled_for = "2026-11-22T10:00:00Z";
  in_.stage.scheduling = false;
  const GateResult r = Run();
  EXPECT_EQ(Find(r, "schedule").status, "fail");
  EXPECT_EQ(Find(r, "schedule").message, "the pipeline does not allow scheduled promotions into prod");
  EXPECT_EQ(r.next_state, PromotionState::kBlocked);
  in_.stage.scheduling = true;
  const GateResult allowed = Run();
  EXPECT_EQ(allowed.next_state, PromotionState::kScheduled);
  for (const auto& c : allowed.checks) EXPECT_NE(c.name, "schedule");
}

// ---- the next state ------------------------------------------------------------

TEST_F(GateTest, NextStateTable) {
  struct Case {
    Phase phase;
    bool fail, waiting, future;
    PromotionState want;
    bool caller_deploys;
  };
  const Case cases[] = {
      {Phase::kRequest, true, false, false, PromotionState::kBlocked, false},
      {Phase::kReview, true, false, false, PromotionState::kBlocked, false},
      {Phase::kDeploy, true, false, false, PromotionState::kFailed, false},
      {Phase::kRequest, true, true, false, PromotionState::kBlocked, false},
      {Phase::kRequest, false, true, false, PromotionState::kAwaitingApproval, false},
      {Phase::kDeploy, false, true, false, PromotionState::kAwaitingApproval, false},
      {Phase::kRequest, false, false, true, PromotionState::kScheduled, false},
      {Phase::kReview, false, false, true, PromotionState::kScheduled, false},
      {Phase::kDeploy, false, false, true, PromotionState::kApproved, true},
      {Phase::kRequest, false, false, false, PromotionState::kApproved, false},
      {Phase::kReview, false, false, false, PromotionState::kApproved, false},
      {Phase::kDeploy, false, false, false, PromotionState::kApproved, true},
  };
  for (const Case& c : cases) {
    SetUp();
    in_.definition.variables = {"API_URL"};
    if (!c.fail) in_.target_variables = {"API_URL"};
    if (!c.waiting) in_.approvals = {Approval("bob")};
    in_.scheduled_for = c.future ? "2026-11-21T13:00:00Z" : "2026-11-21T11:00:00Z";
    const GateResult r = Run(c.phase);
    const std::string at = std::to_string(&c - cases);
    EXPECT_EQ(StateName(r.next_state), StateName(c.want)) << "case " << at;
    EXPECT_EQ(r.caller_deploys, c.caller_deploys) << "case " << at;
  }
}

TEST_F(GateTest, NoteListsFailuresAndWhatIsAwaited) {
  in_.definition.secrets = {"TOKEN"};
  in_.stage.deny_windows = {Dated("freeze", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")};
  EXPECT_EQ(Run().note,
            "configuration: prod lacks secret TOKEN; window: deny window \"freeze\" is in force until "
            "2026-11-22T00:00:00Z");
  in_.target_secrets = {"TOKEN"};
  EXPECT_EQ(Run(Phase::kReview).note, "approvals: 0 of 1 approvals");
}

TEST_F(GateTest, ChecksComeInOrderAndSerializeWithoutNullDetails) {
  in_.approvals = {Approval("bob")};
  const GateResult r = Run();
  const Json j = r.ChecksJson();
  ASSERT_EQ(j.size(), 5u);
  std::vector<std::string> names;
  for (const auto& c : j) names.push_back(c["name"].get<std::string>());
  EXPECT_EQ(names, (std::vector<std::string>{"source", "configuration", "window", "approvals", "policy"}));
  EXPECT_EQ(j[0], Json::parse(R"({"name": "source", "status": "pass", "message": "version is live in staging"})"));
  EXPECT_TRUE(j[3].contains("details"));
}

}  // namespace
}  // namespace cloister::promotion
