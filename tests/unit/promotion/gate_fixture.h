// The promotion tests' gate fixture: a promotion that passes every check
// once one approver approves, and builders for windows, approvals and
// policy sets.
#pragma once

#include <gtest/gtest.h>

#include "governance/policy/calendar.h"
#include "governance/promotion/gate.h"

namespace cloister::promotion::gate_testing {

inline const std::string kVersion = "aaaaaaaaaaaa" + std::string(52, '1');
inline const std::string kOther = "bbbbbbbbbbbb" + std::string(52, '2');

inline int64_t At(const char* text) {
  const auto t = policy::ParseTime(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(0);
}

// Bits of Window::days: 1 Monday .. 7 Sunday.
inline constexpr unsigned kFriday = 1u << 5, kSaturday = 1u << 6;

inline Window Weekly(const std::string& name, unsigned days, int from_minute, int to_minute, int32_t offset_seconds = 0) {
  Window w;
  w.name = name;
  w.weekly = true;
  w.days = days;
  w.from_minute = from_minute;
  w.to_minute = to_minute;
  w.offset_seconds = offset_seconds;
  return w;
}

inline Window Dated(const std::string& name, const char* from, const char* to) {
  Window w;
  w.name = name;
  w.from = At(from);
  w.to = At(to);
  return w;
}

inline GateApproval Approval(const std::string& name, std::vector<std::string> roles = {"approver"},
                      const std::string& version = kVersion, const std::string& decision = "approve") {
  return {"usr_" + name, name, decision, version, std::move(roles), "ok", "2026-11-21T11:00:00Z"};
}

inline constexpr const char* kNeedsReason = R"(apiVersion: cloister/v1
kind: Policy
metadata: {name: needs-reason}
hook: promotion
rules:
  - id: reason
    description: A promotion says why.
    require: 'promotion.reason != ""'
    message: "a promotion to {{ promotion.to }} needs a reason"
)";

inline std::string Binding(const std::string& level, const std::string& extra = "") {
  return "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata: {name: reasons}\nhook: promotion\n"
         "policies: [needs-reason]\nenvironments: [prod]\nlevel: " + level + "\n" + extra;
}

inline std::shared_ptr<const policy::PolicySet> Policies(const std::vector<std::string>& texts) {
  std::vector<policy::SourceDocument> docs;
  for (size_t i = 0; i < texts.size(); ++i) docs.push_back({"doc" + std::to_string(i) + ".yaml", texts[i]});
  auto set = policy::PolicySet::Build(docs);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return set.ok() ? *set : nullptr;
}

inline constexpr const char* kSummary = "needs-reason/reason: a promotion to prod needs a reason";

class GateTest : public ::testing::Test {
 protected:
  // A promotion of kVersion from staging to prod that passes every check
  // once one approver approves, on Saturday 2026-11-21 at noon UTC.
  void SetUp() override {
    in_ = GateInput{};
    in_.id = "prm-1";
    in_.automation = "invoice-triage";
    in_.version = kVersion;
    in_.from = "staging";
    in_.to = "prod";
    in_.requester = "usr_rita";
    in_.requester_name = "rita";
    in_.author = "usr_arthur";
    in_.author_name = "arthur";
    in_.created_at = "2026-11-21T10:00:00.000000Z";
    in_.pipeline.name = "default";
    in_.stage.environment = "prod";
    in_.stage.approvals.required = 1;
    in_.stage.rollback.roles = {"approver", "operator"};
    in_.live_in_source = kVersion;
    in_.environments = {"dev", "staging", "prod"};
    in_.now = At("2026-11-21T12:00:00Z");
    in_.policies = Policies({});
  }

  GateResult Run(Phase phase = Phase::kRequest) {
    in_.pipeline.stages[in_.to] = in_.stage;
    auto r = EvaluateGate(in_, phase);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GateResult{};
  }

  static Check Find(const GateResult& r, const std::string& name) {
    for (const auto& c : r.checks) {
      if (c.name == name) return c;
    }
    ADD_FAILURE() << "no check " << name;
    return {};
  }

  GateInput in_;
};

}  // namespace cloister::promotion::gate_testing
