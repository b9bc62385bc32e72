#include "audit/ledger_verifier.h"

#include <optional>
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
  explicit NodeCursors(Connection& conn) : conn_(conn) {}

  // The stored hash of node (level, idx), or a Status.
  Result<Hash> Next(int level, uint64_t idx) {
    if (cursors_.size() <= static_cast<size_t>(level)) cursors_.resize(level + 1);
    auto& cursor = cursors_[level];
    if (!cursor) {
      CL_ASSIGN_OR_RETURN(cursor, conn_.Prepare("SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? ORDER BY idx"));
      cursor->Bind(1, int64_t{level}).Bind(2, static_cast<int64_t>(idx));
    }
    CL_ASSIGN_OR_RETURN(const bool row, cursor->Step());
    if (!row || static_cast<uint64_t>(cursor->ColumnInt(0)) != idx) {
      return Status::Corruption("stored tree node " + std::to_string(level) + "/" + std::to_string(idx) + " is missing");
    }
    const std::string blob = cursor->ColumnBlob(1);
    Hash h{};
    if (blob.size() == h.size()) std::copy(blob.begin(), blob.end(), h.begin());
    return h;
  }

 private:
  Connection& conn_;
  std::vector<std::unique_ptr<Statement>> cursors_;
};

LedgerReport Bad(LedgerReport r, uint64_t seq, std::string problem) {
  r.ok = false;
  r.first_bad_seq = seq;
  r.problem = std::move(problem);
  return r;
}

// Checks a stored checkpoint's note against the key and the recomputed root.
// *root_mismatch tells a tree that differs from the signed one (the events
// changed) from a bad signature or note (the checkpoint changed).
std::string CheckCheckpoint(const StoredCheckpoint& c, const verify::VerifierKey& key, const Hash& root,
                            bool* root_mismatch = nullptr) {
  std::string text, error;
  if (!verify::VerifyNote(c.note, key, &text, &error)) return "checkpoint " + std::to_string(c.size) + ": " + error;
  verify::Checkpoint parsed;
  if (!verify::ParseCheckpoint(text, &parsed, &error)) return "checkpoint " + std::to_string(c.size) + ": " + error;
  if (parsed.origin != key.name) return "checkpoint " + std::to_string(c.size) + " has origin " + parsed.origin;
  if (parsed.size != c.size || parsed.root != c.root) {
    return "checkpoint " + std::to_string(c.size) + ": the signed note does not match its stored size and root";
  }
  if (parsed.root != root) {
    if (root_mismatch) *root_mismatch = true;
    return "checkpoint " + std::to_string(c.size) + ": the events do not hash to its signed root";
  }
  return "";
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

Result<LedgerReport> VerifyLedger(Connection& conn, const verify::VerifierKey& key, bool from_latest_checkpoint) {
  LedgerReport report;
  CL_ASSIGN_OR_RETURN(const LedgerHead head, AuditLedger::Head(conn));
  report.size = head.size;
  Frontier frontier;
  Hash chain{};
  std::string last_time;
  uint64_t start = 0;

  if (from_latest_checkpoint) {
    CL_ASSIGN_OR_RETURN(auto latest, AuditLedger::LatestCheckpoint(conn));
    if (latest && latest->size > head.size) {
      return Bad(report, head.size, "the ledger has " + std::to_string(head.size) + " events but a checkpoint of " +
                                        std::to_string(latest->size) + ": events were removed");
    }
    if (latest && latest->size > 0) {
      start = latest->size;
      uint64_t begin = 0;
      for (int level = 63; level >= 0; --level) {
        if (!(start >> level & 1)) continue;
        if (frontier.levels.size() <= static_cast<size_t>(level)) frontier.levels.resize(level + 1);
        CL_ASSIGN_OR_RETURN(frontier.levels[level], AuditLedger::SubtreeHash(conn, begin, begin + (uint64_t{1} << level)));
        begin += uint64_t{1} << level;
      }
      if (std::string problem = CheckCheckpoint(*latest, key, frontier.Root()); !problem.empty()) {
        return Bad(report, 0, problem);
      }
      ++report.checkpoints_checked;
      CL_ASSIGN_OR_RETURN(auto before, AuditLedger::Events(conn, start - 1, start - 1, 1));
      if (before.empty()) return Bad(report, start - 1, "event is missing");
      chain = before[0].chain;
      last_time = before[0].time;
    }
  }
  report.from_seq = start;

  CL_ASSIGN_OR_RETURN(auto checkpoints, AuditLedger::Checkpoints(conn, start, SIZE_MAX >> 1));
  size_t next_checkpoint = 0;
  if (!checkpoints.empty() && checkpoints.back().size > head.size) {
    return Bad(report, head.size, "checkpoint " + std::to_string(checkpoints.back().size) +
                                      " is beyond the ledger's " + std::to_string(head.size) + " events: events were removed");
  }

  NodeCursors nodes(conn);
  uint64_t verified_through = start;  // events before this are covered by a verified checkpoint
  CL_ASSIGN_OR_RETURN(auto rows, conn.Prepare(
      "SELECT seq, data, chain_hash FROM audit_events WHERE seq >= ? ORDER BY seq"));
  rows->Bind(1, static_cast<int64_t>(start));
  uint64_t expected = start;
  std::string error;
  while (expected < head.size) {
    CL_ASSIGN_OR_RETURN(const bool row, rows->Step());
    if (!row) return Bad(report, expected, "event is missing");
    // Views into the row: no copies on this path, which runs per event.
    const uint64_t seq = static_cast<uint64_t>(rows->ColumnInt(0));
    const std::string_view data = rows->ColumnView(1);
    const std::string_view stored_chain = rows->ColumnView(2);
    if (seq != expected) return Bad(report, expected, "event is missing (next stored seq is " + std::to_string(seq) + ")");
    uint64_t seq_field = 0;
    std::string_view time;
    if (!verify::ReadEventSeqAndTime(data, &seq_field, &time, &error)) return Bad(report, seq, error);
    if (seq_field != seq) return Bad(report, seq, "event bytes carry seq " + std::to_string(seq_field));
    if (time < last_time) {
      return Bad(report, seq, "time goes backwards (" + std::string(time) + " < " + last_time + ")");
    }
    const Hash leaf = verify::LeafHash(data);
    chain = verify::ChainHash(chain, leaf);
    if (stored_chain != std::string_view(reinterpret_cast<const char*>(chain.data()), chain.size())) {
      return Bad(report, seq, "chain hash does not match the event bytes");
    }
    // Carry into the tree, checking every stored node this leaf completes.
    Hash carry = leaf;
    int level = 0;
    for (; seq >> level & 1; ++level) {
      carry = verify::NodeHash(*frontier.levels[level], carry);
      frontier.levels[level].reset();
      if (level + 1 < kFirstStoredLevel) continue;
      auto stored = nodes.Next(level + 1, seq >> (level + 1));
      if (!stored.ok() || *stored != carry) {
        // Events rewritten together with their own hashes: the change is
        // somewhere in the subtree, so report where the subtree begins.
        const uint64_t first = (seq >> (level + 1)) << (level + 1);
        return Bad(report, first, "events " + std::to_string(first) + ".." + std::to_string(seq) +
                                      " do not hash to their stored subtree");
      }
    }
    if (frontier.levels.size() <= static_cast<size_t>(level)) frontier.levels.resize(level + 1);
    frontier.levels[level] = carry;
    last_time.assign(time);
    ++expected;
    ++report.events_checked;
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].size == expected) {
      bool root_mismatch = false;
      if (std::string problem = CheckCheckpoint(checkpoints[next_checkpoint], key, frontier.Root(), &root_mismatch);
          !problem.empty()) {
        // A different tree: the change lies after the last verified checkpoint.
        return Bad(report, root_mismatch ? verified_through : checkpoints[next_checkpoint].size - 1, problem);
      }
      verified_through = expected;
      ++report.checkpoints_checked;
      ++next_checkpoint;
    }
  }
  return report;
}

}  // namespace cloister
