#include "governance/policy/policy_set.h"

#include <algorithm>

#include "appliance/core/encoding.h"

namespace cloister::policy {
namespace {

bool ValidReason(const std::string& reason) {
  return std::any_of(reason.begin(), reason.end(), [](char c) { return c != ' ' && c != '\t' && c != '\n'; }) &&
         reason.size() <= 2000;
}

bool HoldsAny(const std::vector<std::string>& held, const std::vector<std::string>& wanted) {
  for (const auto& w : wanted) {
    if (std::find(held.begin(), held.end(), w) != held.end()) return true;
  }
  return false;
}

}  // namespace

Result<std::shared_ptr<const PolicySet>> PolicySet::Build(const std::vector<SourceDocument>& documents) {
  auto set = std::make_shared<PolicySet>();
  for (const SourceDocument& doc : documents) {
    CL_ASSIGN_OR_RETURN(DocumentHeader header, ReadHeader(doc));
    if (header.kind == "Policy") {
      CL_ASSIGN_OR_RETURN(Policy p, LoadPolicy(doc));
      const auto [it, inserted] = set->policies_.emplace(p.name, std::move(p));
      if (!inserted) {
        return Status::InvalidArgument(doc.origin + ": policy \"" + header.name + "\" is also defined in " +
                                       it->second.origin);
      }
    } else {
      CL_ASSIGN_OR_RETURN(PolicyBinding b, LoadBinding(doc));
      const auto [it, inserted] = set->bindings_.emplace(b.name, std::move(b));
      if (!inserted) {
        return Status::InvalidArgument(doc.origin + ": policy binding \"" + header.name + "\" is also defined in " +
                                       it->second.origin);
      }
    }
  }
  for (const auto& [name, b] : set->bindings_) {
    for (const auto& p : b.policies) {
      const auto it = set->policies_.find(p);
      if (it == set->policies_.end()) {
        return Status::FailedPrecondition(b.origin + ": policy binding \"" + name + "\" names policy \"" + p +
                                          "\", which does not exist");
      }
      if (it->second.hook != b.hook) {
        return Status::FailedPrecondition(b.origin + ": policy binding \"" + name + "\" is for hook " + b.hook +
                                          " but policy \"" + p + "\" is for hook " + it->second.hook);
      }
    }
    for (const auto& e : b.environments) {
      if (e != "*" && !ValidName(e)) {
        return Status::InvalidArgument(b.origin + ": policy binding \"" + name + "\": \"" + e +
                                       "\" is not an environment name");
      }
    }
  }
  std::string lines;
  for (const auto& [name, p] : set->policies_) lines += "Policy " + name + " " + p.digest + "\n";
  for (const auto& [name, b] : set->bindings_) lines += "PolicyBinding " + name + " " + b.digest + "\n";
  set->digest_ = Sha256Hex(lines);
  return std::shared_ptr<const PolicySet>(std::move(set));
}

bool PolicySet::HasBindings(std::string_view hook) const {
  return std::any_of(bindings_.begin(), bindings_.end(), [&](const auto& kv) { return kv.second.hook == hook; });
}

Decision PolicySet::Decide(std::string_view hook, std::string_view environment, const Document& doc,
                           Evaluator& evaluator, const OverrideRequest* override,
                           const std::vector<PolicyBinding>* extra) const {
  Decision d;
  d.policy_set_digest = digest_;
  d.set = shared_from_this();
  bool hard = false, soft = false, advisory = false, override_ok = true;
  std::vector<const PolicyBinding*> applying;
  for (const auto& [name, b] : bindings_) {
    if (b.hook == hook && b.AppliesTo(environment)) applying.push_back(&b);
  }
  if (extra != nullptr) {
    for (const PolicyBinding& b : *extra) applying.push_back(&b);
  }
  for (const PolicyBinding* binding : applying) {
    const PolicyBinding& b = *binding;
    const std::string& name = b.name;
    BindingResult& r = d.bindings.emplace_back();
    r.binding = &b;
    size_t rules = 0;
    for (const auto& p : b.policies) rules += policies_.at(p).rules.size();
    r.verdicts.reserve(rules);
    for (const auto& p : b.policies) EvaluatePolicy(policies_.at(p), doc, evaluator, r.verdicts);
    r.failed = std::any_of(r.verdicts.begin(), r.verdicts.end(), [](const RuleVerdict& v) { return v.failed(); });
    if (!r.failed) continue;
    switch (b.level) {
      case Level::kHardMandatory: hard = true; break;
      case Level::kAdvisory: advisory = true; break;
      case Level::kShadow: break;
      case Level::kSoftMandatory:
        soft = true;
        for (const auto& role : b.override_roles) {
          if (std::find(d.override_roles.begin(), d.override_roles.end(), role) == d.override_roles.end()) {
            d.override_roles.push_back(role);
          }
        }
        if (override != nullptr && !HoldsAny(override->roles, b.override_roles)) {
          override_ok = false;
          d.override_refused = "overriding policy binding \"" + name + "\" needs one of the roles: ";
          for (size_t i = 0; i < b.override_roles.size(); ++i) {
            d.override_refused += (i ? ", " : "") + b.override_roles[i];
          }
        }
        break;
    }
  }
  if (override != nullptr && soft && override_ok && !ValidReason(override->reason)) {
    override_ok = false;
    d.override_refused = "an override needs a written reason (1 to 2000 characters)";
  }
  if (hard) {
    d.outcome = "deny";
  } else if (soft) {
    d.outcome = override != nullptr && override_ok ? "overridden" : "overridable";
  } else if (advisory) {
    d.outcome = "warn";
  }
  d.allowed = d.outcome == "allow" || d.outcome == "warn" || d.outcome == "overridden";
  if (d.outcome != "overridable") d.override_roles.clear();
  return d;
}

Json Decision::ToJson(bool include_shadow) const {
  Json j = {{"outcome", outcome}, {"allowed", allowed}, {"policy_set_digest", policy_set_digest}};
  Json list = Json::array();
  for (const auto& r : bindings) {
    if (r.binding->level == Level::kShadow && !include_shadow) continue;
    Json verdicts = Json::array();
    for (const auto& v : r.verdicts) verdicts.push_back(v.ToJson());
    list.push_back({{"binding", r.binding->name},
                    {"level", LevelName(r.binding->level)},
                    {"failed", r.failed},
                    {"verdicts", std::move(verdicts)}});
  }
  j["bindings"] = std::move(list);
  if (!override_roles.empty()) j["override_roles"] = override_roles;
  if (!override_refused.empty()) j["override_refused"] = override_refused;
  return j;
}

std::string Decision::Summary() const {
  std::string out;
  for (const auto& r : bindings) {
    if (r.binding->level == Level::kShadow) continue;
    for (const auto& v : r.verdicts) {
      if (!v.failed()) continue;
      out += (out.empty() ? "" : "; ") + v.policy->name + "/" + v.rule->id + ": " + v.message;
      // A rule that could not be evaluated failed closed: say why.
      if (v.verdict == Verdict::kError) out += " (error: " + v.error + ")";
    }
  }
  return out;
}

}  // namespace cloister::policy
