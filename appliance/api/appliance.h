// The appliance's lifecycle above storage: a Session exists while the
// appliance is unsealed and holds the open store and its audit service.
// Unseal opens the audit service, verifies the ledger from its latest
// checkpoint (a mismatch keeps the appliance up but refuses writes with
// "ledger_integrity") and records the unseal, the migrations it applied and
// the configuration digest. Seal records the seal, then closes the session.
// Failed unseal attempts, which cannot be written while sealed, are counted
// and recorded with the next unseal.
//
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/storage/appliance_info.h"
#include "appliance/storage/seal_manager.h"
#include "audit/audit_service.h"

namespace cloister {

struct Session {
  std::shared_ptr<Store> store;
  ApplianceInfo info;
  std::unique_ptr<AuditService> audit;  // after store: destroyed first
};

// Who asked, for audit events.
struct Requester {
  AuditActor actor{"anonymous", "anonymous", ""};
  std::string request_id;
  std::string ip;
  std::string via_token;  // the API token used, in HMAC form; "" for none
};

class Appliance {
 public:
  // Everything passed by reference must outlive the appliance.
  Appliance(SealManager& seal, Random& random, const Clock& clock, const Logger& logger, AuditOptions audit_options,
            std::string config_digest);
  ~Appliance();

  SealStatus seal_status() const { return seal_.CurrentStatus(); }
  SealManager& seal_manager() { return seal_; }
  // The open session, or null while sealed.
  std::shared_ptr<Session> session() const;

  Result<SealStatus> SubmitShare(std::string_view share, const Requester& who);
  Result<SealStatus> UnsealWithKeyFile(const Requester& who);
  SealStatus ResetProgress() { return seal_.ResetProgress(); }
  Status Seal(const Requester& who);

 private:
  Result<SealStatus> AfterUnseal(Result<SealStatus> unsealed, const Requester& who);
  Status OpenSession(const Requester& who);

  SealManager& seal_;
  Random& random_;
  const Clock& clock_;
  Logger logger_;
  const AuditOptions audit_options_;
  const std::string config_digest_;

  std::mutex lifecycle_mu_;  // serializes unseal and seal; taken before mu_
  mutable std::mutex mu_;    // guards session_ and failed_unseals_
  std::shared_ptr<Session> session_;
  std::vector<std::string> failed_unseals_;
};

// Builds an audit record for `who`.
AuditRecord RecordFor(const Requester& who, std::string action, std::string outcome = "success");

}  // namespace cloister
