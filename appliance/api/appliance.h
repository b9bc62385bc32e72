// The appliance's lifecycle above storage: a Session exists while the
// appliance is unsealed and holds the open store and its audit service.
// Unseal opens the audit service, verifies the ledger from its latest
// checkpoint (a mismatch keeps the appliance up but refuses writes with
// "ledger_integrity") and records the unseal, the migrations it applied and
// the configuration digest. It fails closed: when that event cannot be
// recorded the appliance seals again (the store closes, the data key is
// zeroed) and the unseal returns unavailable with reason
// "audit_unavailable"; no request is served in between.
// The first unseal after a restore (cloisterctl backup restore) records
// system.restore in the same unit, and in it revokes every login session and
// every API token revoked after the backup was taken.
// Seal records the seal, then closes the session; it seals even when the
// event cannot be recorded (see Seal).
// Failed unseal attempts, which cannot be written while sealed, are counted
// and recorded with the next unseal.
//
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "appliance/core/mutex.h"
#include "appliance/storage/appliance_info.h"
#include "appliance/storage/seal_manager.h"
#include "audit/audit_service.h"

namespace cloister {

struct SessionServices;  // api_context.h

struct Session {
  std::shared_ptr<Store> store;
  ApplianceInfo info;
  std::unique_ptr<AuditService> audit;  // after store: destroyed first
  // The services over this session, built once at its unseal; last, so
  // destroyed first. Null when the appliance was wired without a factory.
  std::shared_ptr<SessionServices> services;
};

// Builds a new session's services (see Appliance::SetServicesFactory). The
// services must not keep `session` alive: they hold references to its store
// and audit service, which outlive them.
using SessionServicesFactory = std::function<Result<std::shared_ptr<SessionServices>>(
    const std::shared_ptr<Session>& session)>;

// Called with a session once its unseal is recorded and it is published
// (start background work), and before its seal is recorded (stop it while
// the store is still open).
using SessionHook = std::function<void(Session& session)>;

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
  Appliance(SealManager& seal, Random& random, const Clock& clock, const Logger& logger,
            AuditOptions audit_options, std::string config_digest);
  ~Appliance();

  SealStatus seal_status() const { return seal_.CurrentStatus(); }
  SealManager& seal_manager() { return seal_; }
  // The open session, or null while sealed.
  std::shared_ptr<Session> session() const;

  Result<SealStatus> SubmitShare(std::string_view share, const Requester& who);
  Result<SealStatus> UnsealWithKeyFile(const Requester& who);
  SealStatus ResetProgress() { return seal_.ResetProgress(); }
  // The factory each unseal builds the session's services with; set once by
  // the wiring before the first unseal. An unseal whose services cannot be
  // built seals again.
  void SetServicesFactory(SessionServicesFactory factory) CL_EXCLUDES(lifecycle_mu_);
  // The hooks around each session's life (see SessionHook); set once by the
  // wiring before the first unseal.
  void SetSessionHooks(SessionHook opened, SessionHook closing) CL_EXCLUDES(lifecycle_mu_);
  // Seals. Sealing is the safe direction, so it happens even when the
  // system.seal event cannot be recorded: the failure is logged and the next
  // unseal's event carries it ("unrecorded_seal"). OK if already sealed.
  Status Seal(const Requester& who);

 private:
  Result<SealStatus> AfterUnseal(Result<SealStatus> unsealed, const Requester& who)
      CL_REQUIRES(lifecycle_mu_);
  Status OpenSession(const Requester& who) CL_REQUIRES(lifecycle_mu_);
  void NoteFailedUnseal(const std::string& reason) CL_EXCLUDES(mu_);

  SealManager& seal_;
  Random& random_;
  const Clock& clock_;
  Logger logger_;
  const AuditOptions audit_options_;
  const std::string config_digest_;

  // Lock order: lifecycle_mu_, then mu_ (never the other way round).
  // lifecycle_mu_ is held across calls into seal_, which takes its own lock
  // and never calls back; mu_ is never held across them.
  Mutex lifecycle_mu_;  // serializes unseal and seal
  SessionServicesFactory services_factory_ CL_GUARDED_BY(lifecycle_mu_);
  SessionHook on_opened_ CL_GUARDED_BY(lifecycle_mu_);
  SessionHook on_closing_ CL_GUARDED_BY(lifecycle_mu_);
  mutable Mutex mu_ CL_ACQUIRED_AFTER(lifecycle_mu_);
  std::shared_ptr<Session> session_ CL_GUARDED_BY(mu_);
  std::vector<std::string> failed_unseals_ CL_GUARDED_BY(mu_);
  Json unrecorded_seal_ CL_GUARDED_BY(mu_);  // null, or the seal the ledger could not record
};

// Builds an audit record for `who`.
AuditRecord RecordFor(const Requester& who, std::string action, std::string outcome = "success");

}  // namespace cloister
