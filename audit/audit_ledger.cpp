#include "audit/audit_ledger.h"

#include <cstring>

#include "audit/verify/event_fields.h"
#include "audit/verify/jcs.h"

namespace cloister {
namespace {

Hash HashFromBlob(const std::string& blob) {
  Hash h{};
  if (blob.size() == h.size()) std::memcpy(h.data(), blob.data(), h.size());
  return h;
}

std::string_view Blob(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

Result<Hash> Node(Connection& conn, int level, uint64_t index) {
  if (level == 0) return AuditLedger::LeafHash(conn, index);
  if (level < kFirstStoredLevel) {  // not stored: hash its leaves, read in one range
    const uint64_t begin = index << level, end = (index + 1) << level;
    CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
        "SELECT data FROM audit_events WHERE seq >= ? AND seq < ? ORDER BY seq"));
    s->Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
    std::vector<Hash> leaves;
    for (;;) {
      CL_ASSIGN_OR_RETURN(const bool row, s->Step());
      if (!row) break;
      leaves.push_back(verify::LeafHash(s->ColumnView(0)));
    }
    if (leaves.size() != end - begin) {
      return Status::Corruption("audit events " + std::to_string(begin) + ".." + std::to_string(end - 1) + " are incomplete");
    }
    return verify::RootFromLeaves(leaves);
  }
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?"));
  s->Bind(1, int64_t{level}).Bind(2, static_cast<int64_t>(index));
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  if (!row) {
    return Status::Corruption("audit ledger node " + std::to_string(level) + "/" + std::to_string(index) + " is missing");
  }
  const Hash h = HashFromBlob(s->ColumnBlob(0));
  s->Reset();
  return h;
}

// Steps `s` to the end, turning each row into a T with `read`.
template <typename T>
Result<std::vector<T>> CollectRows(Statement& s, T (*read)(Statement&)) {
  std::vector<T> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s.Step());
    if (!row) return out;
    out.push_back(read(s));
  }
}

// The time an event's bytes carry ("" when they cannot be read: verification
// reports such an event).
std::string TimeOf(std::string_view data) {
  uint64_t seq;
  std::string_view time;
  std::string error;
  return verify::ReadEventSeqAndTime(data, &seq, &time, &error) ? std::string(time) : std::string();
}

// Rows of "SELECT seq, data, chain_hash".
StoredEvent ReadEventRow(Statement& s) {
  StoredEvent e;
  e.seq = static_cast<uint64_t>(s.ColumnInt(0));
  e.data = s.ColumnBlob(1);
  e.time = TimeOf(e.data);
  e.leaf = verify::LeafHash(e.data);
  e.chain = HashFromBlob(s.ColumnBlob(2));
  return e;
}

// A filter value as the JSON string literal it must equal in canonical bytes.
std::string Literal(const std::string& value) {
  std::string out;
  verify::AppendString(value, out);
  return out;
}

StoredCheckpoint ReadCheckpointRow(Statement& s) {
  return {static_cast<uint64_t>(s.ColumnInt(0)), HashFromBlob(s.ColumnBlob(1)), s.ColumnText(2), s.ColumnText(3)};
}

}  // namespace

Result<LedgerHead> AuditLedger::Head(Connection& conn) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      conn.Cached("SELECT seq, chain_hash, data FROM audit_events ORDER BY seq DESC LIMIT 1"));
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  LedgerHead head;
  if (row) {
    head.size = static_cast<uint64_t>(s->ColumnInt(0)) + 1;
    head.chain = HashFromBlob(s->ColumnBlob(1));
    head.last_time = TimeOf(s->ColumnView(2));
  }
  s->Reset();
  return head;
}

Result<Hash> AuditLedger::LeafHash(Connection& conn, uint64_t seq) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT data FROM audit_events WHERE seq = ?"));
  s->Bind(1, static_cast<int64_t>(seq));
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  if (!row) return Status::NotFound("audit event " + std::to_string(seq) + " does not exist");
  const Hash h = verify::LeafHash(s->ColumnView(0));
  s->Reset();
  return h;
}

Result<Hash> AuditLedger::SubtreeHash(Connection& conn, uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if ((n & (n - 1)) == 0 && begin % n == 0) {  // a complete, aligned subtree: stored
    int level = 0;
    while ((uint64_t{1} << level) < n) ++level;
    return Node(conn, level, begin >> level);
  }
  const uint64_t k = verify::SplitPoint(n);
  CL_ASSIGN_OR_RETURN(const Hash left, SubtreeHash(conn, begin, begin + k));
  CL_ASSIGN_OR_RETURN(const Hash right, SubtreeHash(conn, begin + k, end));
  return verify::NodeHash(left, right);
}

Result<Hash> AuditLedger::Root(Connection& conn, uint64_t size) {
  if (size == 0) return verify::EmptyRoot();
  return SubtreeHash(conn, 0, size);
}

Status AuditLedger::LoadTip(Connection& conn, const LedgerHead& head) {
  Tip tip;
  tip.head = head;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    if (!(head.size >> level & 1)) continue;
    if (tip.frontier.size() <= static_cast<size_t>(level)) tip.frontier.resize(level + 1);
    CL_ASSIGN_OR_RETURN(tip.frontier[level], Node(conn, level, start >> level));
    start += uint64_t{1} << level;
  }
  tip_ = std::move(tip);
  return Status::Ok();
}

Result<uint64_t> AuditLedger::Append(Transaction& tx, const AuditRecord& record) {
  CL_ASSIGN_OR_RETURN(PreparedEvent event, PreparedEvent::Prepare(record));
  return Append(tx, event);
}

Result<uint64_t> AuditLedger::Append(Transaction& tx, const PreparedEvent& event) {
  if (compromised_) {
    return Status::Unavailable("the audit ledger failed verification (" + integrity_failure() +
                               "); changes are refused until it is repaired")
        .WithReason("ledger_integrity");
  }
  std::lock_guard lock(mu_);
  uint64_t seq = 0;
  Status st = AppendLocked(tx, event, &seq);
  if (!st.ok()) {
    tip_.reset();  // possibly half-updated: rebuild from the database next time
    return st;
  }
  return seq;
}

Status AuditLedger::AppendLocked(Transaction& tx, const PreparedEvent& event, uint64_t* out_seq) {
  Connection& conn = tx.connection();
  const std::optional<uint64_t> generation = tx.rollback_generation();
  const bool trusted = tip_ && tip_->conn == &conn && generation && tip_->generation == generation;
  if (!trusted) {
    CL_ASSIGN_OR_RETURN(const LedgerHead head, Head(conn));
    if (!tip_ || tip_->conn != &conn || tip_->head.size != head.size || tip_->head.chain != head.chain) {
      CL_RETURN_IF_ERROR(LoadTip(conn, head));
      CL_ASSIGN_OR_RETURN(insert_event_,
                          conn.Cached("INSERT INTO audit_events (seq, data, chain_hash) VALUES (?, ?, ?)"));
      CL_ASSIGN_OR_RETURN(insert_node_, conn.Cached("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)"));
    }
    tip_->conn = &conn;
    tip_->generation = generation;
  }
  Tip& tip = *tip_;
  const uint64_t seq = tip.head.size;
  // Times never go backwards, even if the clock does. Fixed-width RFC 3339
  // UTC strings order as times do.
  std::string time = FormatTimestamp(clock_.Now());
  if (time < tip.head.last_time) time = tip.head.last_time;
  const std::string suffix = event.Suffix(seq, time);
  data_.assign(event.prefix());
  data_ += suffix;
  const Hash leaf = event.Leaf(suffix);
  const Hash chain = verify::ChainHash(tip.head.chain, leaf);

  insert_event_->Reset();
  CL_RETURN_IF_ERROR(
      insert_event_->Bind(1, static_cast<int64_t>(seq)).BindBlobNoCopy(2, data_).BindBlobNoCopy(3, Blob(chain)).Run());
  // Carry the new leaf up the right edge, storing each large subtree it completes.
  Hash carry = leaf;
  int level = 0;
  for (; seq >> level & 1; ++level) {
    carry = verify::NodeHash(*tip.frontier[level], carry);
    tip.frontier[level].reset();
    if (level + 1 >= kFirstStoredLevel) {
      insert_node_->Reset();
      CL_RETURN_IF_ERROR(insert_node_->Bind(1, int64_t{level + 1}).Bind(2, static_cast<int64_t>(seq >> (level + 1)))
                             .BindBlob(3, Blob(carry)).Run());
    }
  }
  if (tip.frontier.size() <= static_cast<size_t>(level)) tip.frontier.resize(level + 1);
  tip.frontier[level] = carry;
  tip.head = {seq + 1, chain, std::move(time)};
  *out_seq = seq;
  return Status::Ok();
}

void AuditLedger::MarkCompromised(uint64_t first_bad_seq, const std::string& why) {
  std::lock_guard lock(failure_mu_);
  failure_ = "seq " + std::to_string(first_bad_seq) + ": " + why;
  compromised_ = true;
}

std::string AuditLedger::integrity_failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

Result<std::vector<StoredEvent>> AuditLedger::Events(Connection& conn, uint64_t from, uint64_t to, size_t limit) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT seq, data, chain_hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?"));
  s->Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(std::min<uint64_t>(to, INT64_MAX)))
      .Bind(3, static_cast<int64_t>(limit));
  return CollectRows(*s, ReadEventRow);
}

Result<uint64_t> AuditLedger::FirstSeqAtOrAfter(Connection& conn, const std::string& time) {
  CL_ASSIGN_OR_RETURN(const LedgerHead head, Head(conn));
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT data FROM audit_events WHERE seq = ?"));
  uint64_t lo = 0, hi = head.size;  // answer in [lo, hi]
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    s->Reset();
    s->Bind(1, static_cast<int64_t>(mid));
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return Status::Corruption("audit event " + std::to_string(mid) + " is missing");
    if (TimeOf(s->ColumnView(0)) < time) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  s->Reset();
  return lo;
}

Result<std::vector<StoredEvent>> AuditLedger::Query(Connection& conn, const EventFilter& f, uint64_t cursor,
                                                    size_t limit) {
  uint64_t from = std::max(cursor, f.from_seq);
  uint64_t to = f.to_seq;
  if (!f.since.empty()) {
    CL_ASSIGN_OR_RETURN(const uint64_t first, FirstSeqAtOrAfter(conn, f.since));
    from = std::max(from, first);
  }
  if (!f.until.empty()) {
    // Last seq with time <= until: one before the first seq with time > until.
    CL_ASSIGN_OR_RETURN(const uint64_t after, FirstSeqAtOrAfter(conn, f.until + "\x7f"));
    if (after == 0) return std::vector<StoredEvent>{};
    to = std::min(to, after - 1);
  }
  if (from > to) return std::vector<StoredEvent>{};
  // The filters compare with the event's own bytes: the ledger keeps no
  // second copy of any field.
  const std::string actor = f.actor.empty() ? "" : Literal(f.actor);
  const std::string action = f.action.empty() ? "" : Literal(f.action);
  const std::string env = f.env.empty() ? "" : Literal(f.env);
  const std::string outcome = f.outcome.empty() ? "" : Literal(f.outcome);
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT seq, data, chain_hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq"));
  s->Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(std::min<uint64_t>(to, INT64_MAX)));
  std::vector<StoredEvent> out;
  while (out.size() < limit) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) break;
    verify::EventFilterFields fields;
    if (!verify::ReadEventFilterFields(s->ColumnView(1), &fields)) continue;  // verification reports it
    if ((!actor.empty() && fields.actor_id != actor) || (!action.empty() && fields.action != action) ||
        (!env.empty() && fields.env != env) || (!outcome.empty() && fields.outcome != outcome)) {
      continue;
    }
    out.push_back(ReadEventRow(*s));
  }
  s->Reset();
  return out;
}

Status AuditLedger::StoreCheckpoint(Transaction& tx, const StoredCheckpoint& c) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)"));
  return s->Bind(1, static_cast<int64_t>(c.size)).BindBlob(2, Blob(c.root)).Bind(3, c.note).Bind(4, c.created_at).Run();
}

Result<std::optional<StoredCheckpoint>> AuditLedger::LatestCheckpoint(Connection& conn) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT size, root, note, created_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1"));
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  std::optional<StoredCheckpoint> out;
  if (row) out = ReadCheckpointRow(*s);
  s->Reset();
  return out;
}

Result<std::optional<StoredCheckpoint>> AuditLedger::CheckpointAtLeast(Connection& conn, uint64_t min_size) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT size, root, note, created_at FROM audit_checkpoints WHERE size >= ? ORDER BY size LIMIT 1"));
  s->Bind(1, static_cast<int64_t>(min_size));
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  std::optional<StoredCheckpoint> out;
  if (row) out = ReadCheckpointRow(*s);
  s->Reset();
  return out;
}

Result<std::vector<StoredCheckpoint>> AuditLedger::Checkpoints(Connection& conn, uint64_t after, size_t limit) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT size, root, note, created_at FROM audit_checkpoints WHERE size > ? ORDER BY size LIMIT ?"));
  s->Bind(1, static_cast<int64_t>(std::min<uint64_t>(after, INT64_MAX))).Bind(2, static_cast<int64_t>(limit));
  return CollectRows(*s, ReadCheckpointRow);
}

}  // namespace cloister
