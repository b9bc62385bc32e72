#include "governance/promotion/promotion_events.h"

#include "appliance/core/encoding.h"
#include "audit/verify/jcs.h"

namespace cloister::promotion {

AuditRecord PromotionEvent(const AuditRecord& base, const std::string& action, const PromotionRecord& p) {
  AuditRecord e = base;
  e.action = action;
  e.outcome = "success";
  e.target_kind = "promotion";
  e.target_id = p.id;
  e.env = p.to;
  e.details = {{"automation", p.automation},
               {"version", p.version},
               {"from", p.from},
               {"to", p.to},
               {"kind", p.kind},
               {"state", std::string(StateName(p.state))},
               {"emergency", p.emergency}};
  if (p.emergency) e.reason = "emergency: " + p.reason;
  return e;
}

AuditRecord TransitionEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& from_state,
                            const std::string& note) {
  AuditRecord e = PromotionEvent(
      base, from_state.empty() ? "promotion.requested" : "promotion." + std::string(StateName(p.state)), p);
  e.details["from_state"] = from_state.empty() ? Json() : Json(from_state);
  e.details["note"] = note;
  return e;
}

AuditRecord ApprovalEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& decision,
                          const std::string& comment, const std::vector<std::string>* roles) {
  AuditRecord e = PromotionEvent(base, "promotion.approval", p);
  e.details["decision"] = decision;
  e.details["comment"] = comment;
  if (roles != nullptr) e.details["roles"] = *roles;
  return e;
}

AuditRecord OverrideEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& reason) {
  AuditRecord e = PromotionEvent(base, "promotion.override", p);
  e.reason = "override: " + reason;
  return e;
}

AuditRecord ReviewEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& comment) {
  AuditRecord e = PromotionEvent(base, "promotion.review", p);
  e.details["comment"] = comment;
  return e;
}

AuditRecord RefusalEvent(const AuditRecord& base, const std::string& action, const std::string& id,
                         const Status& why, const PromotionRecord* p) {
  AuditRecord e = base;
  e.action = action;
  e.outcome = "denied";
  e.target_kind = "promotion";
  e.target_id = id;
  e.reason = why.message().substr(0, 500);
  // What was refused and by which rule, so a search by environment and
  // outcome finds it: the promotion's target, automation and version.
  e.details = {{"promotion", id}, {"rule", why.reason()}};
  if (why.details().is_object()) e.details["refusal"] = why.details();
  if (p != nullptr) {
    e.env = p->to;
    e.details["automation"] = p->automation;
    e.details["version"] = p->version;
    e.details["state"] = std::string(StateName(p->state));
  }
  return e;
}

AuditRecord PolicyDecisionEvent(const AuditRecord& base, const std::string& hook, const policy::Decision& decision,
                                const Json& input) {
  AuditRecord e = base;
  e.action = "policy.decision";
  e.outcome = decision.allowed ? "success" : "denied";
  e.details = decision.ToJson(true);
  e.details["hook"] = hook;
  e.details["input_digest"] = Sha256Hex(verify::Canonicalize(input));
  e.details["input"] = input;
  return e;
}

AuditRecord PromotionDecisionEvent(const AuditRecord& base, const PromotionRecord& p, const policy::Decision& decision,
                                   const Json& input, const std::string* override_reason) {
  const AuditRecord target = PromotionEvent(base, "policy.decision", p);
  AuditRecord e = PolicyDecisionEvent(base, "promotion", decision, input);
  e.target_kind = target.target_kind;
  e.target_id = target.target_id;
  e.env = target.env;
  e.reason = target.reason;
  e.details["promotion"] = p.id;
  e.details["version"] = p.version;
  if (override_reason != nullptr) e.reason = "override: " + *override_reason;
  return e;
}

AuditRecord AutomationSavedEvent(const AuditRecord& base, const std::string& name, const std::string& environment,
                                 const std::string& version, int64_t seq, const std::string& previous_version,
                                 bool new_content, const std::string& source) {
  AuditRecord e = base;
  e.action = "automation.save";
  e.target_kind = "automation";
  e.target_id = name;
  e.env = environment;
  e.details = {{"version", version},
               {"seq", seq},
               {"previous_version", previous_version.empty() ? Json() : Json(previous_version)},
               {"new_content", new_content},
               {"source_digest", Sha256Hex(source)}};
  return e;
}

AuditRecord PipelinePutEvent(const AuditRecord& base, const std::string& name, int64_t version,
                             const std::string& digest, const Json& pipeline) {
  AuditRecord e = base;
  e.action = "pipeline.put";
  e.target_kind = "pipeline";
  e.target_id = name;
  e.details = {{"version", version}, {"digest", digest}, {"pipeline", pipeline}};
  return e;
}

}  // namespace cloister::promotion
