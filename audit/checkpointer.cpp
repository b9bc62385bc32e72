#include "audit/checkpointer.h"

namespace cloister {

Checkpointer::Checkpointer(Writer& writer, ReadPool& reads, AuditLedger& ledger, verify::NoteSigner signer,
                           const Clock& clock, const Logger& logger, CheckpointerOptions options)
    : writer_(writer), reads_(reads), ledger_(ledger), signer_(std::move(signer)), clock_(clock), logger_(logger),
      options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

Checkpointer::~Checkpointer() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

Result<StoredCheckpoint> Checkpointer::SignNow() {
  return writer_.Write<StoredCheckpoint>([&](Transaction& tx) -> Result<StoredCheckpoint> {
    const ReadView db = tx.view();
    CL_ASSIGN_OR_RETURN(const LedgerHead head, AuditLedger::Head(db));
    CL_ASSIGN_OR_RETURN(auto latest, AuditLedger::LatestCheckpoint(db));
    if (latest && latest->size == head.size) return *latest;
    if (head.size == 0) return Status::FailedPrecondition("the audit ledger is empty: nothing to sign");
    CL_ASSIGN_OR_RETURN(const Hash root, AuditLedger::Root(db, head.size));
    if (latest) {
      Status read_error;
      auto mth = [&](uint64_t b, uint64_t e) {
        auto h = AuditLedger::SubtreeHash(db, b, e);
        if (!h.ok()) read_error = h.status();
        return h.ok() ? *h : Hash{};
      };
      const auto proof = verify::ConsistencyProof(latest->size, head.size, mth);
      CL_RETURN_IF_ERROR(read_error);
      if (!verify::VerifyConsistency(latest->size, head.size, latest->root, root, proof)) {
        ledger_.MarkCompromised(latest->size, "the tree is not an extension of checkpoint " + std::to_string(latest->size));
        return Status::Corruption("refusing to sign: the tree of " + std::to_string(head.size) +
                                  " events is not consistent with checkpoint " + std::to_string(latest->size))
            .WithReason("ledger_integrity");
      }
    }
    StoredCheckpoint out;
    out.size = head.size;
    out.root = root;
    out.note = signer_.Sign(verify::FormatCheckpoint({signer_.name(), head.size, root}));
    out.created_at = FormatTimestamp(clock_.Now());
    CL_RETURN_IF_ERROR(AuditLedger::StoreCheckpoint(tx, out));
    return out;
  });
}

void Checkpointer::Loop() {
  uint64_t last_size = UINT64_MAX;
  auto last_activity = clock_.Monotonic();
  MutexLock lock(mu_);
  while (!cv_.WaitFor(lock, options_.interval, [this] {
    mu_.AssertHeld();
    return stopping_;
  })) {
    lock.Unlock();
    auto size = reads_.Read<uint64_t>([](ReadView db) { return AuditLedger::Size(db); });
    if (size.ok()) {
      if (*size != last_size) {
        last_size = *size;
        last_activity = clock_.Monotonic();
      } else if (clock_.Monotonic() - last_activity >= options_.heartbeat) {
        AuditRecord beat;
        beat.action = "audit.heartbeat";
        Status st = writer_.Write([&](Transaction& tx) { return ledger_.Append(tx, beat).status(); });
        if (!st.ok()) logger_.Warning("audit heartbeat failed: " + st.message());
        last_activity = clock_.Monotonic();
      }
      if (*size > 0 && !ledger_.compromised()) {
        auto signed_checkpoint = SignNow();
        if (!signed_checkpoint.ok() && signed_checkpoint.status().code() != StatusCode::kUnavailable) {
          logger_.Error("signing an audit checkpoint failed: " + signed_checkpoint.status().message());
        }
      }
    }
    lock.Lock();
  }
}

}  // namespace cloister
