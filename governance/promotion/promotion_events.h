// The audit events of automations, pipelines and promotions, each built in
// one place (docs/audit-format.md lists the actions). Every builder starts
// from `base`, the caller's record (actor, request, via_token), and fills
// the action, target, environment and details; nothing here appends.
#pragma once

#include <string>

#include "audit/audit_record.h"
#include "governance/policy/policy_set.h"
#include "governance/promotion/promotion_store.h"

namespace cloister::promotion {

// "promotion.<something>" on promotion `p`: target, environment (the
// target's), and the details every promotion event carries (automation,
// version, from, to, kind, state, emergency); an emergency's reason.
AuditRecord PromotionEvent(const AuditRecord& base, const std::string& action, const PromotionRecord& p);

// A change of state: "promotion.requested" for the first, else
// "promotion.<new state>", with the state left and the note.
AuditRecord TransitionEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& from_state,
                            const std::string& note);

// "promotion.approval": an approval (with the roles held) or a rejection.
AuditRecord ApprovalEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& decision,
                          const std::string& comment, const std::vector<std::string>* roles);

// "promotion.override" and "promotion.review".
AuditRecord OverrideEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& reason);
AuditRecord ReviewEvent(const AuditRecord& base, const PromotionRecord& p, const std::string& comment);

// A refused operation on promotion `id` (outcome "denied"): the refusal's
// message as the reason, its wire reason as the rule, its details, and what
// was refused (target environment, automation, version, state) when the
// promotion is known.
AuditRecord RefusalEvent(const AuditRecord& base, const std::string& action, const std::string& id,
                         const Status& why, const PromotionRecord* p);

// "policy.decision": a policy decision with its explanation, the hook, and
// the input it was evaluated on (and its canonical digest). The caller sets
// the target and adds what names the subject.
AuditRecord PolicyDecisionEvent(const AuditRecord& base, const std::string& hook, const policy::Decision& decision,
                                const Json& input);

// The promotion gate's "policy.decision" on `p`: PolicyDecisionEvent for the
// promotion hook, targeting the promotion; an applied override's reason.
AuditRecord PromotionDecisionEvent(const AuditRecord& base, const PromotionRecord& p, const policy::Decision& decision,
                                   const Json& input, const std::string* override_reason);

// "automation.save" of `version` as number `seq` of automation `name`.
AuditRecord AutomationSavedEvent(const AuditRecord& base, const std::string& name, const std::string& environment,
                                 const std::string& version, int64_t seq, const std::string& previous_version,
                                 bool new_content, const std::string& source);

// "pipeline.put" of version `version` of pipeline `name`.
AuditRecord PipelinePutEvent(const AuditRecord& base, const std::string& name, int64_t version,
                             const std::string& digest, const Json& pipeline);

}  // namespace cloister::promotion
