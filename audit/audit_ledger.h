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
// Thread safety: Append on the writer thread; the static readers on any
// connection; the integrity flag from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/storage/connection.h"
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

  static Result<LedgerHead> Head(Connection& conn);
  static Result<Hash> LeafHash(Connection& conn, uint64_t seq);
  // RFC 6962 MTH(D[begin:end]) from stored nodes; 0 <= begin < end <= size.
  static Result<Hash> SubtreeHash(Connection& conn, uint64_t begin, uint64_t end);
  static Result<Hash> Root(Connection& conn, uint64_t size);
  // Events with seq in [from, to], in order, at most `limit`.
  static Result<std::vector<StoredEvent>> Events(Connection& conn, uint64_t from, uint64_t to, size_t limit);
  // Events matching `filter` with seq >= cursor, at most `limit`.
  static Result<std::vector<StoredEvent>> Query(Connection& conn, const EventFilter& filter, uint64_t cursor,
                                                size_t limit);
  // The first seq whose time is >= `time` (times never decrease), or size.
  static Result<uint64_t> FirstSeqAtOrAfter(Connection& conn, const std::string& time);

  static Status StoreCheckpoint(Transaction& tx, const StoredCheckpoint& checkpoint);
  static Result<std::optional<StoredCheckpoint>> LatestCheckpoint(Connection& conn);
  // The newest checkpoint with size >= min_size, if any.
  static Result<std::optional<StoredCheckpoint>> CheckpointAtLeast(Connection& conn, uint64_t min_size);
  // Checkpoints with size > after, oldest first, at most `limit`.
  static Result<std::vector<StoredCheckpoint>> Checkpoints(Connection& conn, uint64_t after, size_t limit);

 private:
  struct Tip {
    LedgerHead head;
    std::vector<std::optional<Hash>> frontier;  // by level: the right-edge subtree of 2^level leaves
    const Connection* conn = nullptr;           // where it was built
    std::optional<uint64_t> generation;         // the writer's rollback count then
  };
  Status LoadTip(Connection& conn, const LedgerHead& head);
  Status AppendLocked(Transaction& tx, const PreparedEvent& event, uint64_t* seq);

  const Clock& clock_;
  std::mutex mu_;  // guards tip_ (used by the writer thread only; cheap)
  std::optional<Tip> tip_;
  Statement* insert_event_ = nullptr;  // cached on tip_->conn
  std::string data_;                   // the event being appended; reused
  Statement* insert_node_ = nullptr;
  std::atomic<bool> compromised_{false};
  mutable std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace cloister
