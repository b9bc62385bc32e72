#include "audit/ledger_verifier.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/verify/event_fields.h"

namespace cloister {
namespace {

// The right edge of the tree being recomputed.
struct Frontier {
  std::vector<std::optional<Hash>> levels;

  Hash Root() const {
    std::optional<Hash> acc;
    for (const auto& h : levels) {
      if (!h) continue;
      acc = acc ? verify::NodeHash(*h, *acc) : *h;
    }
    return acc ? *acc : verify::EmptyRoot();
  }
};

// Reads stored subtree nodes in the order a streaming pass completes them:
// on each level they complete in increasing index order, so one sequential
// cursor per level replaces a point lookup per node.
class NodeCursors {
 public:
  explicit NodeCursors(ReadView db) : db_(db) {}

  // The stored hash of node (level, idx); corruption when it is missing or
  // not a hash's size.
  Result<Hash> Next(int level, uint64_t idx) {
    if (cursors_.size() <= static_cast<size_t>(level)) cursors_.resize(level + 1);
    std::optional<RowQuery>& cursor = cursors_[level];
    if (!cursor) {
      // The level is in the SQL text so that each level's cursor is a
      // statement of its own.
      cursor.emplace(db_.Select(
          "audit_nodes", "SELECT level || '/' || idx, idx, hash FROM audit_nodes WHERE level = " +
                             std::to_string(level) + " AND idx >= ? ORDER BY idx"));
      cursor->Bind(1, static_cast<int64_t>(idx));
    }
    CL_ASSIGN_OR_RETURN(
        const auto node, cursor->ReadNext([](const Row& row) -> Result<std::pair<uint64_t, Hash>> {
          CL_ASSIGN_OR_RETURN(const std::string bytes, row.FixedBlob(2, Hash().size(), "hash"));
          Hash h;
          std::copy(bytes.begin(), bytes.end(), h.begin());
          return std::make_pair(static_cast<uint64_t>(row.Int(1)), h);
        }));
    if (!node || node->first != idx) {
      return Status::Corruption("stored tree node " + std::to_string(level) + "/" +
                                std::to_string(idx) + " is missing");
    }
    return node->second;
  }

 private:
  ReadView db_;
  std::vector<std::optional<RowQuery>> cursors_;
};

// A stored checkpoint as the verifier reads it. Its root's bytes are
// compared, not decoded: a root of the wrong size is a checkpoint that does
// not match its note, reported like any other.
struct StoredNote {
  uint64_t size = 0;
  std::string root;
  std::string note;
};

StoredNote DecodeNote(const Row& row) {
  return {static_cast<uint64_t>(row.Int(0)), row.Blob(1), row.Text(2)};
}

LedgerReport Bad(LedgerReport r, uint64_t seq, std::string problem) {
  r.ok = false;
  r.first_bad_seq = seq;
  r.problem = std::move(problem);
  return r;
}

// Checks a stored checkpoint's note against the key and the recomputed root.
// *root_mismatch tells a tree that differs from the signed one (the events
// changed) from a bad signature or note (the checkpoint changed).
std::string CheckCheckpoint(const StoredNote& c, const verify::VerifierKey& key, const Hash& root,
                            bool* root_mismatch = nullptr) {
  std::string text, error;
  if (!verify::VerifyNote(c.note, key, &text, &error))
    return "checkpoint " + std::to_string(c.size) + ": " + error;
  verify::Checkpoint parsed;
  if (!verify::ParseCheckpoint(text, &parsed, &error))
    return "checkpoint " + std::to_string(c.size) + ": " + error;
  if (parsed.origin != key.name)
    return "checkpoint " + std::to_string(c.size) + " has origin " + parsed.origin;
  const std::string_view signed_root(reinterpret_cast<const char*>(parsed.root.data()),
                                     parsed.root.size());
  if (parsed.size != c.size || signed_root != c.root) {
    return "checkpoint " + std::to_string(c.size) +
           ": the signed note does not match its stored size and root";
  }
  if (parsed.root != root) {
    if (root_mismatch) *root_mismatch = true;
    return "checkpoint " + std::to_string(c.size) + ": the events do not hash to its signed root";
  }
  return "";
}

// The report of a failed verification, or nothing when it goes on.
using Failure = std::optional<LedgerReport>;
Failure NoFailure() { return std::nullopt; }

// One pass over the stored ledger. Damage found in the stored rows is a
// report (Bad), never an error: errors are read failures only.
class Verification {
 public:
  Verification(ReadView db, const verify::VerifierKey& key) : db_(db), key_(key), nodes_(db) {}

  Result<LedgerReport> Run(bool from_latest_checkpoint) {
    CL_ASSIGN_OR_RETURN(size_, AuditLedger::Size(db_));
    report_.size = size_;
    if (from_latest_checkpoint) {
      CL_ASSIGN_OR_RETURN(const Failure bad, StartAtLatestCheckpoint());
      if (bad) return *bad;
    }
    report_.from_seq = expected_;
    CL_ASSIGN_OR_RETURN(checkpoints_, db_.Select("audit_checkpoints",
                                                 "SELECT size, root, note FROM audit_checkpoints "
                                                 "WHERE size > ? ORDER BY size")
                                          .Bind(1, static_cast<int64_t>(expected_))
                                          .ReadAll(DecodeNote));
    if (!checkpoints_.empty() && checkpoints_.back().size > size_) {
      return Bad(report_, size_,
                 "checkpoint " + std::to_string(checkpoints_.back().size) +
                     " is beyond the ledger's " + std::to_string(size_) +
                     " events: events were removed");
    }
    verified_through_ = expected_;
    if (expected_ < size_) {
      CL_RETURN_IF_ERROR(
          db_.Select("audit_events",
                     "SELECT seq, data, chain_hash FROM audit_events WHERE seq >= ? ORDER BY seq")
              .Bind(1, static_cast<int64_t>(expected_))
              .ForEach([&](const Row& row) {
                // Views into the row: no copies on this path, which runs per event.
                return CheckEvent(static_cast<uint64_t>(row.Int(0)), row.View(1), row.View(2)) &&
                       expected_ < size_;
              }));
    }
    if (bad_) return *bad_;
    if (expected_ < size_) return Bad(report_, expected_, "event is missing");
    return report_;
  }

 private:
  // A failure found in the stored rows: recorded as the report, and false
  // (stop reading).
  bool Fail(uint64_t seq, std::string problem) {
    bad_ = Bad(report_, seq, std::move(problem));
    return false;
  }
  // A read that found damage is a failed verification at `seq`; any other
  // error is returned.
  Result<Failure> Damaged(const Status& st, uint64_t seq) {
    if (st.code() != StatusCode::kCorruption) return st;
    return Failure(Bad(report_, seq, st.message()));
  }

  // Starts from the latest checkpoint's verified root: the frontier, chain
  // hash and time the events after it continue. A report when that fails.
  Result<Failure> StartAtLatestCheckpoint();
  // Checks one event and every stored node and checkpoint it completes;
  // false (with bad_ set) on the first failure.
  bool CheckEvent(uint64_t seq, std::string_view data, std::string_view stored_chain);
  bool CheckCheckpointsAt();

  ReadView db_;
  const verify::VerifierKey& key_;
  NodeCursors nodes_;
  LedgerReport report_;
  Failure bad_;
  uint64_t size_ = 0;
  uint64_t expected_ = 0;          // the next seq to check
  uint64_t verified_through_ = 0;  // events before this are covered by a verified checkpoint
  Frontier frontier_;
  Hash chain_{};
  std::string last_time_;
  std::vector<StoredNote> checkpoints_;  // after the start, oldest first
  size_t next_checkpoint_ = 0;
  std::string error_;
};

Result<Failure> Verification::StartAtLatestCheckpoint() {
  CL_ASSIGN_OR_RETURN(const std::optional<StoredNote> latest,
                      db_.Select("audit_checkpoints",
                                 "SELECT size, root, note FROM audit_checkpoints "
                                 "ORDER BY size DESC LIMIT 1")
                          .ReadOne(DecodeNote));
  if (latest && latest->size > size_) {
    return Failure(Bad(report_, size_,
                       "the ledger has " + std::to_string(size_) + " events but a checkpoint of " +
                           std::to_string(latest->size) + ": events were removed"));
  }
  if (!latest || latest->size == 0) return NoFailure();
  const uint64_t start = latest->size;
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    if (!(start >> level & 1)) continue;
    if (frontier_.levels.size() <= static_cast<size_t>(level)) frontier_.levels.resize(level + 1);
    auto subtree = AuditLedger::SubtreeHash(db_, begin, begin + (uint64_t{1} << level));
    if (!subtree.ok()) return Damaged(subtree.status(), begin);
    frontier_.levels[level] = *subtree;
    begin += uint64_t{1} << level;
  }
  if (std::string problem = CheckCheckpoint(*latest, key_, frontier_.Root()); !problem.empty()) {
    return Failure(Bad(report_, 0, problem));
  }
  ++report_.checkpoints_checked;
  auto before = AuditLedger::Events(db_, start - 1, start - 1, 1);
  if (!before.ok()) return Damaged(before.status(), start - 1);
  if (before->empty()) return Failure(Bad(report_, start - 1, "event is missing"));
  chain_ = (*before)[0].chain;
  last_time_ = (*before)[0].time;
  expected_ = start;
  return NoFailure();
}

bool Verification::CheckEvent(uint64_t seq, std::string_view data, std::string_view stored_chain) {
  if (seq != expected_)
    return Fail(expected_, "event is missing (next stored seq is " + std::to_string(seq) + ")");
  uint64_t seq_field = 0;
  std::string_view time;
  if (!verify::ReadEventSeqAndTime(data, &seq_field, &time, &error_)) return Fail(seq, error_);
  if (seq_field != seq) return Fail(seq, "event bytes carry seq " + std::to_string(seq_field));
  if (time < last_time_)
    return Fail(seq, "time goes backwards (" + std::string(time) + " < " + last_time_ + ")");
  const Hash leaf = verify::LeafHash(data);
  chain_ = verify::ChainHash(chain_, leaf);
  if (stored_chain !=
      std::string_view(reinterpret_cast<const char*>(chain_.data()), chain_.size())) {
    return Fail(seq, "chain hash does not match the event bytes");
  }
  // Carry into the tree, checking every stored node this leaf completes.
  Hash carry = leaf;
  int level = 0;
  for (; seq >> level & 1; ++level) {
    carry = verify::NodeHash(*frontier_.levels[level], carry);
    frontier_.levels[level].reset();
    if (level + 1 < kFirstStoredLevel) continue;
    auto stored = nodes_.Next(level + 1, seq >> (level + 1));
    if (!stored.ok() || *stored != carry) {
      // Events rewritten together with their own hashes: the change is
      // somewhere in the subtree, so report where the subtree begins.
      const uint64_t first = (seq >> (level + 1)) << (level + 1);
      return Fail(first, "events " + std::to_string(first) + ".." + std::to_string(seq) +
                             " do not hash to their stored subtree");
    }
  }
  if (frontier_.levels.size() <= static_cast<size_t>(level)) frontier_.levels.resize(level + 1);
  frontier_.levels[level] = carry;
  last_time_.assign(time);
  ++expected_;
  ++report_.events_checked;
  return CheckCheckpointsAt();
}

// The checkpoints of the size just reached.
bool Verification::CheckCheckpointsAt() {
  while (next_checkpoint_ < checkpoints_.size() &&
         checkpoints_[next_checkpoint_].size == expected_) {
    const StoredNote& c = checkpoints_[next_checkpoint_];
    bool root_mismatch = false;
    if (std::string problem = CheckCheckpoint(c, key_, frontier_.Root(), &root_mismatch);
        !problem.empty()) {
      // A different tree: the change lies after the last verified checkpoint.
      return Fail(root_mismatch ? verified_through_ : c.size - 1, problem);
    }
    verified_through_ = expected_;
    ++report_.checkpoints_checked;
    ++next_checkpoint_;
  }
  return true;
}

}  // namespace

Json LedgerReport::ToJson() const {
  Json j = {{"ok", ok},
            {"from_seq", from_seq},
            {"size", size},
            {"events_checked", events_checked},
            {"checkpoints_checked", checkpoints_checked}};
  if (!ok) {
    j["first_bad_seq"] = first_bad_seq;
    j["problem"] = problem;
  }
  return j;
}

Result<LedgerReport> VerifyLedger(ReadView db, const verify::VerifierKey& key,
                                  bool from_latest_checkpoint) {
  return Verification(db, key).Run(from_latest_checkpoint);
}

}  // namespace cloister
