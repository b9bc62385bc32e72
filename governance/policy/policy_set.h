// A complete, compiled set of policies and bindings, and the decisions it
// makes. A PolicySet is built whole or not at all: if any document fails to
// load, or a binding names a policy that is missing or made for another
// hook, Build fails and whatever set was in force stays in force.
//
// Thread safety: a built PolicySet is immutable and shared between threads;
// each deciding thread brings its own Evaluator.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "governance/policy/policy.h"

namespace cloister::policy {

enum class Verdict { kPass, kFail, kSkip, kError };
std::string_view VerdictName(Verdict v);

// Explanations point into the policy's source: a Decision keeps its set
// alive, and EvaluatePolicy's caller keeps the Policy alive.
struct Observation {
  std::string_view expr;  // the expression as written
  std::string value;      // what it evaluated to, as JSON text

  Json json() const { return Json::parse(value); }  // value is always valid JSON
};

struct RuleVerdict {
  const Policy* policy = nullptr;
  const Rule* rule = nullptr;
  Verdict verdict = Verdict::kPass;
  // For a failing rule (or one in error):
  std::string message;  // the rendered template
  std::string_view clause;  // the part of the condition that decided it
  std::vector<Observation> observed;
  std::string error;  // kError: what went wrong (a failing rule, fail closed)

  bool failed() const { return verdict == Verdict::kFail || verdict == Verdict::kError; }
  Json ToJson() const;
};

// Evaluates every rule of `policy` on `doc` into `out` (appended).
void EvaluatePolicy(const Policy& policy, const Document& doc, Evaluator& evaluator, std::vector<RuleVerdict>& out);

struct BindingResult {
  const PolicyBinding* binding = nullptr;
  std::vector<RuleVerdict> verdicts;
  bool failed = false;
};

// Who asks to override soft-mandatory failures, and why.
struct OverrideRequest {
  std::string user;
  std::vector<std::string> roles;  // the roles the user holds in the environment
  std::string reason;
};

struct Decision {
  // allow: nothing failed. warn: only advisory bindings failed.
  // overridable: soft-mandatory bindings failed (no hard one); overridden:
  // those were overridden. deny: a hard-mandatory binding failed.
  std::string outcome = "allow";
  bool allowed = true;
  std::vector<BindingResult> bindings;  // shadow ones included
  std::vector<std::string> override_roles;  // for overridable: who may override
  std::string override_refused;  // why an override request did not apply
  std::string policy_set_digest;
  // Keeps the policies and bindings the verdicts point to alive.
  std::shared_ptr<const class PolicySet> set;

  // The decision as the requester sees it (shadow bindings left out), or as
  // the ledger records it (everything).
  Json ToJson(bool include_shadow) const;
  // The failing rules' messages, for one-line error texts; a rule in
  // error adds " (error: <what went wrong>)".
  std::string Summary() const;
};

class PolicySet : public std::enable_shared_from_this<PolicySet> {
 public:
  // Loads and checks every document. invalid_argument naming the first
  // document that fails, with its file, line and column.
  static Result<std::shared_ptr<const PolicySet>> Build(const std::vector<SourceDocument>& documents);

  // SHA-256 hex over the sorted "<kind> <name> <document digest>\n" lines.
  const std::string& digest() const { return digest_; }
  const std::map<std::string, Policy>& policies() const { return policies_; }
  const std::map<std::string, PolicyBinding>& bindings() const { return bindings_; }
  // Whether any binding applies to `hook` (in any environment).
  bool HasBindings(std::string_view hook) const;

  // Evaluates the bindings for `hook` in `environment` on `doc`. `override`
  // (nullable) applies to soft-mandatory failures if the user holds a role
  // each failing binding names and gives a reason.
  // `extra` (nullable) adds bindings made elsewhere (a pipeline's
  // policies); every policy they name must be in this set, and the caller
  // keeps them alive as long as the Decision.
  Decision Decide(std::string_view hook, std::string_view environment, const Document& doc, Evaluator& evaluator,
                  const OverrideRequest* override = nullptr,
                  const std::vector<PolicyBinding>* extra = nullptr) const;

 private:
  std::map<std::string, Policy> policies_;
  std::map<std::string, PolicyBinding> bindings_;
  std::string digest_;
};

}  // namespace cloister::policy
