// Signs checkpoints (audit-format.md, section 3): at most once a second
// while events arrive, on demand (SignNow, for exports), and appends an
// audit.heartbeat event when the ledger has been idle for the heartbeat
// interval, so even an idle ledger gets a new, time-stamped checkpoint.
//
// Before signing, it proves the new root consistent with the previous
// checkpoint's, so the appliance never signs two inconsistent checkpoints.
// Thread-safe; owns one background thread.
#pragma once

#include <chrono>
#include <thread>

#include "appliance/core/logging.h"
#include "appliance/core/mutex.h"
#include "appliance/storage/read_pool.h"
#include "audit/audit_ledger.h"
#include "audit/verify/signed_note.h"

namespace cloister {

struct CheckpointerOptions {
  std::chrono::milliseconds interval{1000};
  std::chrono::seconds heartbeat{3600};
};

class Checkpointer {
 public:
  // Everything passed by reference must outlive the checkpointer.
  Checkpointer(Writer& writer, ReadPool& reads, AuditLedger& ledger, verify::NoteSigner signer, const Clock& clock,
               const Logger& logger, CheckpointerOptions options);
  ~Checkpointer();  // stops the thread

  // The checkpoint for the current head, signing one if the head has none.
  Result<StoredCheckpoint> SignNow();

  const verify::NoteSigner& signer() const { return signer_; }

 private:
  void Loop();

  Writer& writer_;
  ReadPool& reads_;
  AuditLedger& ledger_;
  const verify::NoteSigner signer_;
  const Clock& clock_;
  Logger logger_;
  const CheckpointerOptions options_;

  Mutex mu_;
  CondVar cv_;
  bool stopping_ CL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cloister
