// An audit event as callers describe it (audit-format.md, section 1), before
// the ledger gives it a seq and a time. Validate() enforces the format's
// rules so that nothing the ledger writes can break a verifier: lowercase
// dotted actions, known actor kinds and outcomes, valid UTF-8 everywhere, no
// floating-point numbers and integers within +/-(2^53 - 1) in details.
#pragma once

#include <cstdint>
#include <string>

#include "appliance/core/encoding.h"
#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "audit/verify/merkle.h"

namespace cloister {

struct AuditActor {
  std::string kind = "system";  // user, token, system, anonymous
  std::string id = "cloisterd";
  std::string name = "cloisterd";
};

struct AuditRecord {
  std::string action;              // e.g. "system.unseal"
  AuditActor actor;
  std::string outcome = "success";  // success, denied, error
  std::string target_kind;          // with target_id, or both empty
  std::string target_id;
  std::string env;
  std::string reason;
  std::string request_id;  // with request_ip, or both empty
  std::string request_ip;
  Json details;  // an object, or null for none
  // When the actor acted through an API token: the token in HMAC form,
  // written into the event as details.via_token (the actor stays the
  // token's owner). Empty otherwise.
  std::string via_token;

  // details with via_token merged in: what the event carries.
  Json EventDetails() const;

  Status Validate() const;
  // The event object with its seq and time.
  Json ToEvent(uint64_t seq, const std::string& time) const;
  // The canonical (RFC 8785) bytes of ToEvent(seq, time), written directly:
  // the members of an event are known, so only details goes through the
  // general canonicalizer. They split at "seq": CanonicalPrefix() is every
  // member before it (independent of seq and time), CanonicalSuffix() the rest.
  std::string Canonical(uint64_t seq, const std::string& time) const {
    return CanonicalPrefix() + CanonicalSuffix(seq, time);
  }
  std::string CanonicalPrefix() const;
  std::string CanonicalSuffix(uint64_t seq, std::string_view time) const;
  // The ",\"target\":{...}" member of the suffix, or "".
  std::string CanonicalTarget() const;
};

// An event ready for the ledger but for its seq and time: validated, and the
// canonical bytes before "seq" written and hashed. Preparing on the
// requester's thread leaves the single writer only the short remainder.
// Copyable; immutable once prepared.
class PreparedEvent {
 public:
  static Result<PreparedEvent> Prepare(const AuditRecord& record);

  const std::string& prefix() const { return prefix_; }
  // The rest of the event's canonical bytes, once its seq and time are known.
  std::string Suffix(uint64_t seq, std::string_view time) const;
  // The leaf hash of prefix() + suffix.
  verify::Hash Leaf(std::string_view suffix) const { return hasher_.Finish(suffix); }

 private:
  PreparedEvent(std::string prefix, std::string target) : prefix_(std::move(prefix)), target_(std::move(target)) {
    hasher_.Update(prefix_);
  }

  std::string prefix_;
  std::string target_;  // CanonicalTarget()
  verify::LeafHasher hasher_;
};

}  // namespace cloister
