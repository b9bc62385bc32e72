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
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<StoredCheckpoint> Checkpointer::SignNow() {
  return writer_.Write<StoredCheckpoint>([&](Transaction& tx) -> Result<StoredCheckpoint> {
    Connection& conn = tx.connection();
    CL_ASSIGN_OR_RETURN(const LedgerHead head, AuditLedger::Head(conn));
    CL_ASSIGN_OR_RETURN(auto latest, AuditLedger::LatestCheckpoint(conn));
    if (latest && latest->size == head.size) return *latest;
    if (head.size == 0) return Status::FailedPrecondition("the audit ledger is empty: nothing to sign");
    CL_ASSIGN_OR_RETURN(const Hash root, AuditLedger::Root(conn, head.size));
    if (latest) {
      Status read_error;
      auto mth = [&](uint64_t b, uint64_t e) {
        auto h = AuditLedger::SubtreeHash(conn, b, e);
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
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    auto head = reads_.Read<LedgerHead>([](Connection& c) { return AuditLedger::Head(c); });
    if (head.ok()) {
      if (head->size != last_size) {
        last_size = head->size;
        last_activity = clock_.Monotonic();
      } else if (clock_.Monotonic() - last_activity >= options_.heartbeat) {
        AuditRecord beat;
        beat.action = "audit.heartbeat";
        Status st = writer_.Write([&](Transaction& tx) { return ledger_.Append(tx, beat).status(); });
        if (!st.ok()) logger_.Warning("audit heartbeat failed: " + st.message());
        last_activity = clock_.Monotonic();
      }
      if (head->size > 0 && !ledger_.compromised()) {
        auto signed_checkpoint = SignNow();
        if (!signed_checkpoint.ok() && signed_checkpoint.status().code() != StatusCode::kUnavailable) {
          logger_.Error("signing an audit checkpoint failed: " + signed_checkpoint.status().message());
        }
      }
    }
    lock.lock();
  }
}

}  // namespace cloister
