// Re-verifies the stored ledger: every event's seq and time against its
// bytes, times never decreasing, leaf and chain hashes, every stored subtree
// node, and every stored checkpoint (its signature, origin and root against
// the recomputed tree). Reports the first bad seq.
#pragma once

#include <cstdint>
#include <string>

#include "appliance/core/json.h"
#include "audit/audit_ledger.h"
#include "audit/verify/signed_note.h"

namespace cloister {

struct LedgerReport {
  bool ok = true;
  uint64_t from_seq = 0;  // where verification started
  uint64_t size = 0;      // ledger size verified up to
  uint64_t events_checked = 0;
  uint64_t checkpoints_checked = 0;
  uint64_t first_bad_seq = 0;  // when !ok
  std::string problem;         // when !ok

  Json ToJson() const;
};

// Verifies the whole ledger, or (from_latest_checkpoint) only what follows
// the latest checkpoint, starting from that checkpoint's verified root.
// `origin` is "<appliance name>/audit". Errors are read failures; a ledger
// that does not verify, damaged stored rows included, is an OK Result with
// report.ok == false.
Result<LedgerReport> VerifyLedger(ReadView db, const verify::VerifierKey& key, bool from_latest_checkpoint);

}  // namespace cloister
