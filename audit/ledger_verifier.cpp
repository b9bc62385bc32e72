#include "audit/ledger_verifier.h"

#include <optional>
#include <vector>

#include "audit/verify/event_fields.h"

namespace cloister {
namespace {

constexpr size_t kChunk = 8192;

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

LedgerReport Bad(LedgerReport r, uint64_t seq, std::string problem) {
  r.ok = false;
  r.first_bad_seq = seq;
  r.problem = std::move(problem);
  return r;
}

// Checks a stored checkpoint's note against the key and the recomputed root.
std::string CheckCheckpoint(const StoredCheckpoint& c, const verify::VerifierKey& key, const Hash& root) {
  std::string text, error;
  if (!verify::VerifyNote(c.note, key, &text, &error)) return "checkpoint " + std::to_string(c.size) + ": " + error;
  verify::Checkpoint parsed;
  if (!verify::ParseCheckpoint(text, &parsed, &error)) return "checkpoint " + std::to_string(c.size) + ": " + error;
  if (parsed.origin != key.name) return "checkpoint " + std::to_string(c.size) + " has origin " + parsed.origin;
  if (parsed.size != c.size || parsed.root != c.root) {
    return "checkpoint " + std::to_string(c.size) + ": the signed note does not match its stored size and root";
  }
  if (parsed.root != root) {
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

  uint64_t expected = start;
  while (expected < head.size) {
    CL_ASSIGN_OR_RETURN(auto events, AuditLedger::Events(conn, expected, head.size - 1, kChunk));
    if (events.empty()) return Bad(report, expected, "event is missing");
    for (const StoredEvent& e : events) {
      if (e.seq != expected) return Bad(report, expected, "event is missing (next stored seq is " + std::to_string(e.seq) + ")");
      uint64_t seq_field = 0;
      std::string_view time_field;
      std::string error;
      if (!verify::ReadEventSeqAndTime(e.data, &seq_field, &time_field, &error)) return Bad(report, e.seq, error);
      if (seq_field != e.seq) return Bad(report, e.seq, "event bytes carry seq " + std::to_string(seq_field));
      if (time_field != e.time) return Bad(report, e.seq, "event bytes carry a different time than stored");
      if (e.time < last_time) return Bad(report, e.seq, "time goes backwards (" + e.time + " < " + last_time + ")");
      const Hash leaf = verify::LeafHash(e.data);
      if (leaf != e.leaf) return Bad(report, e.seq, "leaf hash does not match the event bytes");
      chain = verify::ChainHash(chain, leaf);
      if (chain != e.chain) return Bad(report, e.seq, "chain hash does not match");
      // Carry into the tree, checking every stored node this leaf completes.
      Hash carry = leaf;
      int level = 0;
      for (; e.seq >> level & 1; ++level) {
        carry = verify::NodeHash(*frontier.levels[level], carry);
        frontier.levels[level].reset();
        auto stored = AuditLedger::SubtreeHash(conn, (e.seq >> (level + 1)) << (level + 1), e.seq + 1);
        if (!stored.ok() || *stored != carry) return Bad(report, e.seq, "stored tree node does not match the events");
      }
      if (frontier.levels.size() <= static_cast<size_t>(level)) frontier.levels.resize(level + 1);
      frontier.levels[level] = carry;
      last_time = e.time;
      ++expected;
      ++report.events_checked;
      while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].size == expected) {
        if (std::string problem = CheckCheckpoint(checkpoints[next_checkpoint], key, frontier.Root()); !problem.empty()) {
          return Bad(report, checkpoints[next_checkpoint].size - 1, problem);
        }
        ++report.checkpoints_checked;
        ++next_checkpoint;
      }
    }
  }
  return report;
}

}  // namespace cloister
