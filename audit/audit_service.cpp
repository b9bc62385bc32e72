#include "audit/audit_service.h"

#include <algorithm>

namespace cloister {

Result<std::unique_ptr<AuditService>> AuditService::Open(Writer& writer, ReadPool& reads, Random& random,
                                                         const Clock& clock, const Logger& logger,
                                                         const std::string& appliance_name, AuditOptions options) {
  CL_RETURN_IF_ERROR(writer.Write([&](Transaction& tx) { return EnsureAuditKeys(tx, random, clock); }));
  CL_ASSIGN_OR_RETURN(AuditKeys keys, reads.Read<AuditKeys>([](ReadView db) { return LoadAuditKeys(db); }));
  const std::string origin = appliance_name + "/audit";
  verify::NoteSigner signer;
  std::array<uint8_t, 32> seed;
  std::copy(keys.signing_seed.data(), keys.signing_seed.data() + 32, seed.begin());
  std::string error;
  const bool ok = signer.Init(origin, seed, &error);
  std::fill(seed.begin(), seed.end(), 0);
  if (!ok) return Status::Corruption("audit signing key: " + error);
  std::unique_ptr<AuditService> service(new AuditService(writer, reads, clock, std::move(keys), origin));
  service->checkpointer_ = std::make_unique<Checkpointer>(writer, reads, service->ledger_, std::move(signer), clock,
                                                          logger, options.checkpoints);
  return service;
}

Status AuditService::Record(const AuditRecord& record, const std::function<Status(Transaction&)>& also) {
  // Prepared here, on the requester's thread: the writer only finishes it.
  CL_ASSIGN_OR_RETURN(PreparedEvent event, PreparedEvent::Prepare(record));
  return writer_.Write([&](Transaction& tx) -> Status {
    if (also) CL_RETURN_IF_ERROR(also(tx));
    return ledger_.Append(tx, event).status();
  });
}

Result<LedgerReport> AuditService::Verify(bool from_latest_checkpoint) {
  verify::VerifierKey key;
  std::string error;
  if (!verify::ParseVerifierKey(verifier_key(), &key, &error)) return Status::Internal(error);
  CL_ASSIGN_OR_RETURN(LedgerReport report, reads_.Read<LedgerReport>([&](ReadView db) {
                        return VerifyLedger(db, key, from_latest_checkpoint);
                      }));
  if (!report.ok) ledger_.MarkCompromised(report.first_bad_seq, report.problem);
  return report;
}

}  // namespace cloister
