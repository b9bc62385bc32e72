#include "appliance/api/appliance.h"

#include <cstdio>
#include <optional>

#include "appliance/core/files.h"
#include "appliance/core/version.h"
#include "audit/backup.h"

namespace cloister {

AuditRecord RecordFor(const Requester& who, std::string action, std::string outcome) {
  AuditRecord r;
  r.action = std::move(action);
  r.actor = who.actor;
  r.outcome = std::move(outcome);
  r.request_id = who.request_id;
  r.request_ip = who.request_id.empty() ? "" : who.ip;
  r.via_token = who.via_token;
  return r;
}

Appliance::Appliance(SealManager& seal, Random& random, const Clock& clock, const Logger& logger,
                     AuditOptions audit_options, std::string config_digest)
    : seal_(seal),
      random_(random),
      clock_(clock),
      logger_(logger),
      audit_options_(audit_options),
      config_digest_(std::move(config_digest)) {}

Appliance::~Appliance() {
  std::lock_guard lock(mu_);
  session_.reset();
}

std::shared_ptr<Session> Appliance::session() const {
  std::lock_guard lock(mu_);
  return session_;
}

Result<SealStatus> Appliance::SubmitShare(std::string_view share, const Requester& who) {
  std::lock_guard lifecycle(lifecycle_mu_);
  return AfterUnseal(seal_.SubmitShare(share), who);
}

Result<SealStatus> Appliance::UnsealWithKeyFile(const Requester& who) {
  std::lock_guard lifecycle(lifecycle_mu_);
  return AfterUnseal(seal_.UnsealWithKeyFile(), who);
}

Result<SealStatus> Appliance::AfterUnseal(Result<SealStatus> unsealed, const Requester& who) {
  if (!unsealed.ok()) {
    std::lock_guard lock(mu_);
    if (failed_unseals_.size() < 100) failed_unseals_.push_back(unsealed.status().reason());
    return unsealed;
  }
  if (!unsealed->sealed && !session()) CL_RETURN_IF_ERROR(OpenSession(who));
  return unsealed;
}

Status Appliance::OpenSession(const Requester& who) {
  auto session = std::make_shared<Session>();
  session->store = seal_.store();
  if (!session->store) return Status::Unavailable("the appliance sealed while unsealing").WithReason("sealed");
  auto info = session->store->reads().Read<ApplianceInfo>([](Connection& c) { return ReadApplianceInfo(c); });
  if (!info.ok()) {
    seal_.Seal();
    return info.status().Annotate("reading the appliance record");
  }
  session->info = *info;
  auto audit = AuditService::Open(session->store->writer(), session->store->reads(), random_, clock_, logger_,
                                  session->info.name, audit_options_);
  if (!audit.ok()) {
    seal_.Seal();
    return audit.status().Annotate("opening the audit ledger");
  }
  session->audit = std::move(audit).value();

  auto check = session->audit->Verify(/*from_latest_checkpoint=*/true);
  if (!check.ok() || !check->ok) {
    logger_.Error("audit ledger self-check failed: " +
                  (check.ok() ? check->problem + " (first bad seq " + std::to_string(check->first_bad_seq) + ")"
                              : check.status().message()) +
                  "; writes are refused");
  }
  std::vector<std::string> failures;
  {
    std::lock_guard lock(mu_);
    failures.swap(failed_unseals_);
    session_ = session;
  }
  AuditRecord unseal = RecordFor(who, "system.unseal");
  unseal.details = {{"failed_attempts_while_sealed", failures.size()},
                    {"failure_reasons", failures},
                    {"config_sha256", config_digest_},
                    {"version", CloisterVersion()}};
  // A restore (cloisterctl backup restore, done while cloisterd was stopped)
  // leaves a marker; the first unseal after it records it in the ledger.
  const std::string restore_marker = seal_.data_dir() + "/" + kRestoreMarker;
  std::optional<AuditRecord> restored;
  if (auto marker = ReadFile(restore_marker, 1 << 16); marker.ok()) {
    restored = RecordFor(Requester{{"system", "cloisterctl", "backup restore"}, "", "", ""}, "system.restore");
    auto details = ParseJsonObject(*marker);
    restored->details = details.ok() ? *details : Json{{"marker", "unreadable"}};
  }
  const Status recorded = session->audit->ledger().compromised() ? Status::Ok() : [&] {
    return session->store->writer().Write([&](Transaction& tx) -> Status {
      CL_RETURN_IF_ERROR(session->audit->ledger().Append(tx, unseal).status());
      for (const auto& m : session->store->migrations()) {
        AuditRecord migration = RecordFor(Requester{}, "system.migration");
        migration.actor = AuditActor{};
        migration.details = {{"version", m.version}, {"name", m.name}};
        CL_RETURN_IF_ERROR(session->audit->ledger().Append(tx, migration).status());
      }
      if (restored) CL_RETURN_IF_ERROR(session->audit->ledger().Append(tx, *restored).status());
      return Status::Ok();
    });
  }();
  if (!recorded.ok()) logger_.Error("recording the unseal in the audit ledger failed: " + recorded.message());
  if (recorded.ok() && restored) std::remove(restore_marker.c_str());
  return Status::Ok();
}

Status Appliance::Seal(const Requester& who) {
  std::lock_guard lifecycle(lifecycle_mu_);
  std::shared_ptr<Session> session = this->session();
  if (session) {
    // Sealing protects the data, so it proceeds even when recording fails.
    const Status recorded = session->audit->Record(RecordFor(who, "system.seal"));
    if (!recorded.ok()) logger_.Error("recording the seal in the audit ledger failed: " + recorded.message());
  }
  {
    std::lock_guard lock(mu_);
    session_.reset();
  }
  session.reset();  // stops the checkpointer before the store closes
  return seal_.Seal();
}

}  // namespace cloister
