#include "appliance/api/appliance.h"

#include <cstdio>
#include <optional>

#include "appliance/core/encoding.h"
#include "appliance/core/files.h"
#include "appliance/core/version.h"
#include "appliance/identity/session_store.h"
#include "appliance/identity/token_changes.h"
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

namespace {

// A restore recorded by cloisterctl in the data directory, to be recorded in
// the ledger by the next unseal.
struct PendingRestore {
  AuditRecord event;    // system.restore; the marker's details, token ids taken out
  TokenChanges tokens;  // from the marker
};

// The marker at `path`, nullopt when there is none. A marker that exists but
// cannot be read still means a restore happened: it is recorded as such (and
// sessions still end), never skipped.
std::optional<PendingRestore> ReadRestoreMarker(const std::string& path) {
  if (!PathExists(path)) return std::nullopt;
  PendingRestore r;
  r.event = RecordFor(Requester{{"system", "cloisterctl", "backup restore"}, "", "", ""},
                      "system.restore");
  auto text = ReadFile(path, 4 << 20);
  auto marker = text.ok() ? ParseJsonObject(*text) : Result<Json>(text.status());
  if (!marker.ok()) {
    r.event.details = {{"marker", "unreadable: " + marker.status().message()}};
    return r;
  }
  Json details = std::move(marker).value();
  if (details.contains("tokens")) {
    auto tokens = TokenChangesFromJson(details["tokens"]);
    details.erase("tokens");
    if (tokens.ok()) {
      r.tokens = std::move(tokens).value();
    } else {
      details["tokens_unreadable"] = tokens.status().message();
    }
  }
  r.event.details = std::move(details);
  if (Status valid = r.event.Validate(); !valid.ok()) {
    r.event.details = {{"marker", "invalid: " + valid.message()}};
  }
  return r;
}

Json TokenEntry(AuditService& audit, const TokenChange& t) {
  return {
      {"token", audit.Hmac(t.id)},
      {"name", IsValidUtf8(t.name) ? t.name : "(not UTF-8)"},
      {"owner",
       {{"id", t.owner_id}, {"name", IsValidUtf8(t.owner_name) ? t.owner_name : "(not UTF-8)"}}},
      {"created_at", t.created_at},
      {"revoked_at", t.revoked_at}};
}

// Inside the unit that records the unseal: ends every login session, revokes
// again each token that was revoked after the backup was taken (the restore
// revived it), and appends system.restore listing them, with a token.revoke
// event per token revoked again. Builds everything anew on each run, so a
// replay of the unit records the same thing.
Status RecordRestore(Transaction& tx, AuditService& audit, const Clock& clock,
                     const PendingRestore& restore) {
  CL_ASSIGN_OR_RETURN(const int64_t sessions, RevokeAllSessions(tx, clock));
  AuditRecord event = restore.event;
  std::vector<AuditRecord> revocations;
  Json revived = Json::array();
  for (const auto& t : restore.tokens.revoked_after_backup) {
    const Status revoked = RevokeToken(tx, t.id, clock);
    if (!revoked.ok() && revoked.code() != StatusCode::kNotFound) return revoked;
    Json entry = TokenEntry(audit, t);
    entry["revoked_again"] = revoked.ok();
    revived.push_back(entry);
    if (!revoked.ok()) continue;  // not live in the restored database: nothing revived
    AuditRecord revocation = RecordFor(Requester{event.actor, "", "", ""}, "token.revoke");
    revocation.target_kind = "token";
    revocation.target_id = entry["token"].get<std::string>();
    revocation.reason = "revoked after the backup was taken; the restore revived it";
    revocation.details = {{"name", entry["name"]}, {"owner", entry["owner"]}};
    revocations.push_back(std::move(revocation));
  }
  Json created = Json::array();
  for (const auto& t : restore.tokens.created_after_backup) created.push_back(TokenEntry(audit, t));
  if (!event.details.is_object()) event.details = Json::object();
  event.details["sessions_revoked"] = sessions;
  event.details["tokens_revoked_after_backup"] = revived;
  event.details["tokens_created_after_backup"] = created;
  CL_RETURN_IF_ERROR(audit.ledger().Append(tx, event).status());
  for (const auto& r : revocations) CL_RETURN_IF_ERROR(audit.ledger().Append(tx, r).status());
  return Status::Ok();
}

}  // namespace

Appliance::Appliance(SealManager& seal, Random& random, const Clock& clock, const Logger& logger,
                     AuditOptions audit_options, std::string config_digest)
    : seal_(seal),
      random_(random),
      clock_(clock),
      logger_(logger),
      audit_options_(audit_options),
      config_digest_(std::move(config_digest)) {}

void Appliance::SetServicesFactory(SessionServicesFactory factory) {
  MutexLock lock(lifecycle_mu_);
  services_factory_ = std::move(factory);
}

void Appliance::SetSessionHooks(SessionHook opened, SessionHook closing) {
  MutexLock lock(lifecycle_mu_);
  on_opened_ = std::move(opened);
  on_closing_ = std::move(closing);
}

Appliance::~Appliance() {
  MutexLock lock(mu_);
  session_.reset();
}

std::shared_ptr<Session> Appliance::session() const {
  MutexLock lock(mu_);
  return session_;
}

Result<SealStatus> Appliance::SubmitShare(std::string_view share, const Requester& who) {
  MutexLock lifecycle(lifecycle_mu_);
  return AfterUnseal(seal_.SubmitShare(share), who);
}

Result<SealStatus> Appliance::UnsealWithKeyFile(const Requester& who) {
  MutexLock lifecycle(lifecycle_mu_);
  return AfterUnseal(seal_.UnsealWithKeyFile(), who);
}

Result<SealStatus> Appliance::AfterUnseal(Result<SealStatus> unsealed, const Requester& who) {
  if (!unsealed.ok()) {
    NoteFailedUnseal(unsealed.status().reason());
    return unsealed;
  }
  if (!unsealed->sealed && !session()) {
    if (Status opened = OpenSession(who); !opened.ok()) {
      NoteFailedUnseal(opened.reason().empty() ? "unseal_failed" : opened.reason());
      return opened;
    }
  }
  return unsealed;
}

void Appliance::NoteFailedUnseal(const std::string& reason) {
  MutexLock lock(mu_);
  if (failed_unseals_.size() < 100) failed_unseals_.push_back(reason);
}

Status Appliance::OpenSession(const Requester& who) {
  auto session = std::make_shared<Session>();
  session->store = seal_.store();
  if (!session->store)
    return Status::Unavailable("the appliance sealed while unsealing").WithReason("sealed");
  auto info = session->store->reads().Read<ApplianceInfo>(
      [](ReadView db) { return ReadApplianceInfo(db); });
  if (!info.ok()) {
    session.reset();
    seal_.Seal();
    return info.status().Annotate("reading the appliance record");
  }
  session->info = *info;
  auto audit = AuditService::Open(session->store->writer(), session->store->reads(), random_,
                                  clock_, logger_, session->info.name, audit_options_);
  if (!audit.ok()) {
    session.reset();
    seal_.Seal();
    logger_.Error("opening the audit ledger failed (" + audit.status().message() +
                  "); the appliance sealed again");
    return Status::Unavailable("the audit ledger could not be opened (" + audit.status().message() +
                               "), so the appliance stays sealed")
        .WithReason("audit_unavailable");
  }
  session->audit = std::move(audit).value();
  if (services_factory_) {
    auto services = services_factory_(session);
    if (!services.ok()) {
      session.reset();
      seal_.Seal();
      logger_.Error("building the session's services failed (" + services.status().message() +
                    "); the appliance sealed again");
      return services.status().Annotate("building the unsealed appliance's services");
    }
    session->services = std::move(services).value();
  }

  auto check = session->audit->Verify(/*from_latest_checkpoint=*/true);
  if (!check.ok() || !check->ok) {
    logger_.Error("audit ledger self-check failed: " +
                  (check.ok() ? check->problem + " (first bad seq " +
                                    std::to_string(check->first_bad_seq) + ")"
                              : check.status().message()) +
                  "; writes are refused");
  }
  // A compromised ledger refuses every append: the appliance comes up so the
  // damage can be read and exported, and refuses every change (documented
  // as "ledger_integrity"). Otherwise the unseal happens only if recorded.
  const bool compromised = session->audit->ledger().compromised();
  std::vector<std::string> failures;
  Json unrecorded_seal;
  {
    MutexLock lock(mu_);
    failures = failed_unseals_;
    unrecorded_seal = unrecorded_seal_;
  }
  AuditRecord unseal = RecordFor(who, "system.unseal");
  unseal.details = {{"failed_attempts_while_sealed", failures.size()},
                    {"failure_reasons", failures},
                    {"config_sha256", config_digest_},
                    {"version", CloisterVersion()}};
  if (!unrecorded_seal.is_null()) unseal.details["unrecorded_seal"] = unrecorded_seal;
  // A restore (cloisterctl backup restore, done while cloisterd was stopped)
  // leaves a marker; the first unseal after it records it in the ledger.
  const std::string restore_marker = seal_.data_dir() + "/" + kRestoreMarker;
  const std::optional<PendingRestore> restored = ReadRestoreMarker(restore_marker);
  const Status recorded = compromised ? Status::Ok() : [&] {
    return session->store->writer().Write([&](Transaction& tx) -> Status {
      CL_RETURN_IF_ERROR(session->audit->ledger().Append(tx, unseal).status());
      for (const auto& m : session->store->migrations()) {
        AuditRecord migration = RecordFor(Requester{}, "system.migration");
        migration.actor = AuditActor{};
        migration.details = {{"version", m.version}, {"name", m.name}};
        CL_RETURN_IF_ERROR(session->audit->ledger().Append(tx, migration).status());
      }
      if (restored) CL_RETURN_IF_ERROR(RecordRestore(tx, *session->audit, clock_, *restored));
      return Status::Ok();
    });
  }();
  if (!recorded.ok()) {
    // Fail closed: an unseal the ledger does not show does not happen. The
    // session was never published, so no request saw it; dropping it stops
    // the checkpointer, and sealing closes the store and zeroes the data key.
    session.reset();
    seal_.Seal();
    logger_.Error("recording the unseal in the audit ledger failed (" + recorded.message() +
                  "); the appliance sealed again");
    return Status::Unavailable(
               "the unseal could not be recorded in the audit ledger (" + recorded.message() +
               "), so the appliance stays sealed; check the database's disk and permissions, "
               "then unseal again")
        .WithReason("audit_unavailable");
  }
  {
    MutexLock lock(mu_);
    if (!compromised) {
      failed_unseals_.clear();
      unrecorded_seal_ = nullptr;
    }
    session_ = session;
  }
  if (!compromised && restored) std::remove(restore_marker.c_str());
  // Runs execute only while changes can be recorded.
  if (!compromised && on_opened_) on_opened_(*session);
  return Status::Ok();
}

Status Appliance::Seal(const Requester& who) {
  MutexLock lifecycle(lifecycle_mu_);
  std::shared_ptr<Session> session = this->session();
  if (session && on_closing_)
    on_closing_(*session);  // background work ends before the seal is recorded
  if (session) {
    // Sealing protects the data, so it proceeds even when recording fails:
    // refusing to seal because the audit path is down would keep the data
    // open exactly when something is wrong. The failure is logged, and the
    // next unseal's event carries it so the ledger shows the gap.
    const Status recorded = session->audit->Record(RecordFor(who, "system.seal"));
    if (!recorded.ok()) {
      logger_.Error("recording the seal in the audit ledger failed: " + recorded.message() +
                    "; sealing anyway");
      MutexLock lock(mu_);
      unrecorded_seal_ = {
          {"at", FormatTimestamp(clock_.Now())},
          {"actor", {{"kind", who.actor.kind}, {"id", who.actor.id}, {"name", who.actor.name}}},
          {"error", recorded.message()}};
    }
  }
  {
    MutexLock lock(mu_);
    session_.reset();
  }
  session.reset();  // stops the checkpointer before the store closes
  return seal_.Seal();
}

}  // namespace cloister
