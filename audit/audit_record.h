// An audit event as callers describe it (audit-format.md, section 1), before
// the ledger gives it a seq and a time. Validate() enforces the format's
// rules so that nothing the ledger writes can break a verifier: lowercase
// dotted actions, known actor kinds and outcomes, valid UTF-8 everywhere, no
// floating-point numbers and integers within +/-(2^53 - 1) in details.
#pragma once

#include <cstdint>
#include <string>

#include "appliance/core/json.h"
#include "appliance/core/status.h"

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

  Status Validate() const;
  // The event object with its seq and time.
  Json ToEvent(uint64_t seq, const std::string& time) const;
  // The canonical (RFC 8785) bytes of ToEvent(seq, time), written directly:
  // the members of an event are known, so only details goes through the
  // general canonicalizer.
  std::string Canonical(uint64_t seq, const std::string& time) const;
};

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace cloister
