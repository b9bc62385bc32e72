// The audit ledger of an unsealed appliance: the ledger, its keys, the
// checkpointer and the verifier key that auditors pin. Created after unseal
// (on the open store), destroyed before the store closes.
//
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "appliance/core/logging.h"
#include "appliance/core/random.h"
#include "appliance/storage/read_pool.h"
#include "audit/audit_keys.h"
#include "audit/checkpointer.h"
#include "audit/ledger_verifier.h"

namespace cloister {

struct AuditOptions {
  CheckpointerOptions checkpoints;
};

class AuditService {
 public:
  // Loads the keys (creating them for a database that predates the ledger)
  // and starts the checkpointer. `appliance_name` makes the origin
  // "<name>/audit". Writer, reads, random, clock must outlive the service.
  static Result<std::unique_ptr<AuditService>> Open(Writer& writer, ReadPool& reads, Random& random, const Clock& clock,
                                                    const Logger& logger, const std::string& appliance_name,
                                                    AuditOptions options);

  AuditLedger& ledger() { return ledger_; }
  Checkpointer& checkpointer() { return *checkpointer_; }
  const std::string& origin() const { return origin_; }
  std::string verifier_key() const { return checkpointer_->signer().verifier_key(); }
  // The ledger's HMAC form of a sensitive value.
  std::string Hmac(std::string_view value) const { return AuditHmac(keys_.hmac_key, value); }

  // Appends one event in a unit of its own and waits until it is durable;
  // `also`, when given, runs in the same unit (a change the event records).
  Status Record(const AuditRecord& record, const std::function<Status(Transaction&)>& also = nullptr);
  // Verifies the ledger (all of it, or from the latest checkpoint); on
  // failure marks the ledger compromised so that writes are refused.
  Result<LedgerReport> Verify(bool from_latest_checkpoint);

 private:
  AuditService(Writer& writer, ReadPool& reads, const Clock& clock, AuditKeys keys, std::string origin)
      : writer_(writer), reads_(reads), ledger_(clock), keys_(std::move(keys)), origin_(std::move(origin)) {}

  Writer& writer_;
  ReadPool& reads_;
  AuditLedger ledger_;
  AuditKeys keys_;
  std::string origin_;
  std::unique_ptr<Checkpointer> checkpointer_;  // last: stops first
};

}  // namespace cloister
