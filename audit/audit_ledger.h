// The audit ledger (audit-format.md): events appended in the same
// transaction as the change they record. A row holds the event's canonical
// bytes and its chain hash, nothing else: times, filter fields and leaf
// hashes are read from the bytes, so no field exists twice. The hashes of
// every complete subtree of the RFC 6962 tree of 32 leaves or more
// (level >= 5) are stored beside. A proof reads O(log n) stored hashes plus,
// for its lowest subtrees, at most 32 events in one range read; storing the
// small subtrees would cost a row for every other append for no gain.
//
// Append runs only inside a writer unit. The ledger keeps the tree's right
// edge (one hash per set bit of the size) cached between appends. The cache
// is trusted only while the writer reports no rollback since it was built;
// after a rollback it is checked against the stored head (size and chain
// hash) and rebuilt, so a rolled-back or replayed batch never leaves it stale.
//
// The static readers take a ReadView (a read connection, or the writer's
// inside a unit). A stored hash that is not 32 bytes is corruption naming
// its row: audit_events by seq, audit_checkpoints by size, audit_nodes by
// "level/idx"; never zeros. An event whose bytes do not parse is returned
// as it is stored (with time "") for the verifier to report.
//
// Thread safety: Append on the writer thread; the static readers on any
// connection; the integrity flag from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/mutex.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"
#include "audit/audit_record.h"
#include "audit/verify/merkle.h"

namespace cloister {

using verify::Hash;

struct LedgerHead {
  uint64_t size = 0;       // number of events; the next seq
  Hash chain{};            // chain hash of the last event (zeros when empty)
  std::string last_time;   // time of the last event ("" when empty)
};

struct StoredEvent {
  uint64_t seq = 0;
  std::string time;
  std::string data;  // the JCS bytes
  Hash leaf{};
  Hash chain{};
};

struct StoredCheckpoint {
  uint64_t size = 0;
  Hash root{};
  std::string note;  // the signed note, verbatim
  std::string created_at;
};

struct EventFilter {
  uint64_t from_seq = 0;
  uint64_t to_seq = UINT64_MAX;  // inclusive
  std::string since;             // RFC 3339; "" for no bound
  std::string until;             // inclusive
  std::string actor;             // actor id
  std::string action;
  std::string env;
  std::string outcome;
};

// Subtrees of 2^kFirstStoredLevel leaves and more are stored.
inline constexpr int kFirstStoredLevel = 5;

class AuditLedger {
 public:
  explicit AuditLedger(const Clock& clock) : clock_(clock) {}

  // Appends `record` in `tx` and returns its seq. invalid_argument for a
  // record that breaks the format; unavailable with reason "ledger_integrity"
  // once the ledger has failed a verification (nothing is written then).
  Result<uint64_t> Append(Transaction& tx, const AuditRecord& record);
  // The same for an event prepared on the requester's thread (the cheaper
  // path for the writer).
  Result<uint64_t> Append(Transaction& tx, const PreparedEvent& event);

  // After a failed self-check: every later Append is refused.
  void MarkCompromised(uint64_t first_bad_seq, const std::string& why);
  bool compromised() const { return compromised_.load(); }
  // "seq N: why", or "" when intact.
  std::string integrity_failure() const;

  static Result<LedgerHead> Head(ReadView db);
  // The number of events (the next seq), read without decoding any.
  static Result<uint64_t> Size(ReadView db);
  static Result<Hash> LeafHash(ReadView db, uint64_t seq);
  // RFC 6962 MTH(D[begin:end]) from stored nodes; 0 <= begin < end <= size.
  static Result<Hash> SubtreeHash(ReadView db, uint64_t begin, uint64_t end);
  static Result<Hash> Root(ReadView db, uint64_t size);
  // Events with seq in [from, to], in order, at most `limit`.
  static Result<std::vector<StoredEvent>> Events(ReadView db, uint64_t from, uint64_t to, size_t limit);
  // Events matching `filter` with seq >= cursor, at most `limit`.
  static Result<std::vector<StoredEvent>> Query(ReadView db, const EventFilter& filter, uint64_t cursor,
                                                size_t limit);
  // The first seq whose time is >= `time` (times never decrease), or size.
  static Result<uint64_t> FirstSeqAtOrAfter(ReadView db, const std::string& time);

  static Status StoreCheckpoint(Transaction& tx, const StoredCheckpoint& checkpoint);
  static Result<std::optional<StoredCheckpoint>> LatestCheckpoint(ReadView db);
  // The newest checkpoint with size >= min_size, if any.
  static Result<std::optional<StoredCheckpoint>> CheckpointAtLeast(ReadView db, uint64_t min_size);
  // Checkpoints with size > after, oldest first, at most `limit`.
  static Result<std::vector<StoredCheckpoint>> Checkpoints(ReadView db, uint64_t after, size_t limit);

 private:
  struct Tip {
    LedgerHead head;
    std::vector<std::optional<Hash>> frontier;  // by level: the right-edge subtree of 2^level leaves
    std::optional<uint64_t> generation;         // the writer's rollback count then
  };
  Status LoadTip(ReadView db, const LedgerHead& head) CL_REQUIRES(mu_);
  Status AppendLocked(Transaction& tx, const PreparedEvent& event, uint64_t* seq) CL_REQUIRES(mu_);

  const Clock& clock_;
  Mutex mu_;  // used by the writer thread only; cheap
  std::optional<Tip> tip_ CL_GUARDED_BY(mu_);
  // The writer connection's cached insert when tip_ was built; it also
  // identifies that connection (a different one means another connection).
  Statement* insert_event_ CL_GUARDED_BY(mu_) = nullptr;
  std::string data_ CL_GUARDED_BY(mu_);                   // the event being appended; reused
  Statement* insert_node_ CL_GUARDED_BY(mu_) = nullptr;
  std::atomic<bool> compromised_{false};
  mutable Mutex failure_mu_;
  std::string failure_ CL_GUARDED_BY(failure_mu_);
};

}  // namespace cloister
