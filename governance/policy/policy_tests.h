// Policy directories and their fixture tests (`cloisterctl policy test DIR`).
//
// A directory holds policy documents (*.yaml) and fixtures (*_test.yaml):
//
//   policies: [baseline]        # the policies under test (all of one hook)
//   input: {...}                # optional base input, shared by the cases
//   cases:
//     - name: prod needs two approvers
//       input: {...}            # merged over the base: objects by key, lists replaced
//       expect:
//         decision: deny        # allow (no rule fails) or deny
//         failing: [prod-two-approvers]   # exactly these rule ids fail
//
// Inputs are read against the hook's schema, so a misspelt field in a fixture
// is an error with its line, like one in a policy.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "governance/policy/policy_set.h"

namespace cloister::policy {

// The policy documents under `dir` (recursively, *.yaml but not *_test.yaml),
// in path order. not_found if `dir` is not a directory.
Result<std::vector<SourceDocument>> ReadPolicyDirectory(const std::string& dir);

struct CaseResult {
  std::string file;
  std::string name;
  bool passed = false;
  std::string failure;  // what differed
};

struct RuleCoverage {
  int failed = 0;  // cases in which the rule failed
  int passed = 0;  // cases in which it passed
};

struct PolicyTestReport {
  std::vector<CaseResult> cases;
  std::map<std::string, RuleCoverage> coverage;  // "policy/rule"
  int failures = 0;

  // Percentage of rules seen failing in at least one case.
  int CoveragePercent() const;
  std::string Text() const;
};

// Runs every *_test.yaml under `dir` against the policies there.
// invalid_argument if a policy or fixture does not load (naming file, line
// and column); case failures are in the report.
Result<PolicyTestReport> RunPolicyTests(const std::string& dir);

}  // namespace cloister::policy
