#include "audit/audit_ledger.h"

#include <cstring>

#include "audit/verify/event_fields.h"
#include "audit/verify/jcs.h"

namespace cloister {
namespace {

constexpr std::string_view kInsertEvent = "INSERT INTO audit_events (seq, data, chain_hash) VALUES (?, ?, ?)";
constexpr std::string_view kInsertNode = "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)";

// The blob of `col` as a hash: corruption naming the row and `column` when
// it is not exactly a hash's size.
Result<Hash> HashAt(const Row& row, int col, std::string_view column) {
  CL_ASSIGN_OR_RETURN(const std::string bytes, row.FixedBlob(col, Hash().size(), column));
  Hash h;
  std::memcpy(h.data(), bytes.data(), h.size());
  return h;
}

std::string_view Blob(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

Result<Hash> Node(ReadView db, int level, uint64_t index) {
  if (level == 0) return AuditLedger::LeafHash(db, index);
  if (level < kFirstStoredLevel) {  // not stored: hash its leaves, read in one range
    const uint64_t begin = index << level, end = (index + 1) << level;
    CL_ASSIGN_OR_RETURN(const std::vector<Hash> leaves,
                        db.Select("audit_events",
                                  "SELECT data FROM audit_events WHERE seq >= ? AND seq < ? ORDER BY seq")
                            .Bind(1, static_cast<int64_t>(begin))
                            .Bind(2, static_cast<int64_t>(end))
                            .ReadAll([](const Row& row) { return verify::LeafHash(row.View(0)); }));
    if (leaves.size() != end - begin) {
      return Status::Corruption("audit events " + std::to_string(begin) + ".." + std::to_string(end - 1) +
                                " are incomplete");
    }
    return verify::RootFromLeaves(leaves);
  }
  CL_ASSIGN_OR_RETURN(const std::optional<Hash> h,
                      db.Select("audit_nodes",
                                "SELECT level || '/' || idx, hash FROM audit_nodes WHERE level = ? AND idx = ?")
                          .Bind(1, int64_t{level})
                          .Bind(2, static_cast<int64_t>(index))
                          .ReadOne([](const Row& row) { return HashAt(row, 1, "hash"); }));
  if (!h) {
    return Status::Corruption("audit ledger node " + std::to_string(level) + "/" + std::to_string(index) +
                              " is missing");
  }
  return *h;
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
Result<StoredEvent> DecodeEvent(const Row& row) {
  StoredEvent e;
  e.seq = static_cast<uint64_t>(row.Int(0));
  CL_ASSIGN_OR_RETURN(e.chain, HashAt(row, 2, "chain_hash"));
  e.data = row.Blob(1);
  e.time = TimeOf(e.data);
  e.leaf = verify::LeafHash(e.data);
  return e;
}

// A filter value as the JSON string literal it must equal in canonical bytes.
std::string Literal(const std::string& value) {
  std::string out;
  verify::AppendString(value, out);
  return out;
}

// Rows of "SELECT size, root, note, created_at".
Result<StoredCheckpoint> DecodeCheckpoint(const Row& row) {
  StoredCheckpoint c;
  c.size = static_cast<uint64_t>(row.Int(0));
  CL_ASSIGN_OR_RETURN(c.root, HashAt(row, 1, "root"));
  c.note = row.Text(2);
  c.created_at = row.Text(3);
  return c;
}

}  // namespace

Result<LedgerHead> AuditLedger::Head(ReadView db) {
  CL_ASSIGN_OR_RETURN(std::optional<LedgerHead> head,
                      db.Select("audit_events",
                                "SELECT seq, chain_hash, data FROM audit_events ORDER BY seq DESC LIMIT 1")
                          .ReadOne([](const Row& row) -> Result<LedgerHead> {
                            LedgerHead h;
                            h.size = static_cast<uint64_t>(row.Int(0)) + 1;
                            CL_ASSIGN_OR_RETURN(h.chain, HashAt(row, 1, "chain_hash"));
                            h.last_time = TimeOf(row.View(2));
                            return h;
                          }));
  return head ? std::move(*head) : LedgerHead{};
}

Result<uint64_t> AuditLedger::Size(ReadView db) {
  CL_ASSIGN_OR_RETURN(const int64_t size,
                      db.Select("audit_events", "SELECT MAX(seq) + 1 FROM audit_events").ReadInt(0));
  return static_cast<uint64_t>(size);
}

Result<Hash> AuditLedger::LeafHash(ReadView db, uint64_t seq) {
  CL_ASSIGN_OR_RETURN(const std::optional<Hash> h,
                      db.Select("audit_events", "SELECT data FROM audit_events WHERE seq = ?")
                          .Bind(1, static_cast<int64_t>(seq))
                          .ReadOne([](const Row& row) { return verify::LeafHash(row.View(0)); }));
  if (!h) return Status::NotFound("audit event " + std::to_string(seq) + " does not exist");
  return *h;
}

Result<Hash> AuditLedger::SubtreeHash(ReadView db, uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if ((n & (n - 1)) == 0 && begin % n == 0) {  // a complete, aligned subtree: stored
    int level = 0;
    while ((uint64_t{1} << level) < n) ++level;
    return Node(db, level, begin >> level);
  }
  const uint64_t k = verify::SplitPoint(n);
  CL_ASSIGN_OR_RETURN(const Hash left, SubtreeHash(db, begin, begin + k));
  CL_ASSIGN_OR_RETURN(const Hash right, SubtreeHash(db, begin + k, end));
  return verify::NodeHash(left, right);
}

Result<Hash> AuditLedger::Root(ReadView db, uint64_t size) {
  if (size == 0) return verify::EmptyRoot();
  return SubtreeHash(db, 0, size);
}

Status AuditLedger::LoadTip(ReadView db, const LedgerHead& head) {
  Tip tip;
  tip.head = head;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    if (!(head.size >> level & 1)) continue;
    if (tip.frontier.size() <= static_cast<size_t>(level)) tip.frontier.resize(level + 1);
    CL_ASSIGN_OR_RETURN(tip.frontier[level], Node(db, level, start >> level));
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
  MutexLock lock(mu_);
  uint64_t seq = 0;
  Status st = AppendLocked(tx, event, &seq);
  if (!st.ok()) {
    tip_.reset();  // possibly half-updated: rebuild from the database next time
    return st;
  }
  return seq;
}

Status AuditLedger::AppendLocked(Transaction& tx, const PreparedEvent& event, uint64_t* out_seq) {
  // A cached statement belongs to one connection: the same insert as when
  // the tip was built means the same connection.
  CL_ASSIGN_OR_RETURN(Statement* const insert_event, tx.Prepare(kInsertEvent));
  const std::optional<uint64_t> generation = tx.rollback_generation();
  const bool same_connection = tip_ && insert_event_ == insert_event;
  const bool trusted = same_connection && generation && tip_->generation == generation;
  if (!trusted) {
    const ReadView db = tx.view();
    CL_ASSIGN_OR_RETURN(const LedgerHead head, Head(db));
    if (!same_connection || tip_->head.size != head.size || tip_->head.chain != head.chain) {
      CL_RETURN_IF_ERROR(LoadTip(db, head));
      insert_event_ = insert_event;
      CL_ASSIGN_OR_RETURN(insert_node_, tx.Prepare(kInsertNode));
    }
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
  MutexLock lock(failure_mu_);
  failure_ = "seq " + std::to_string(first_bad_seq) + ": " + why;
  compromised_ = true;
}

std::string AuditLedger::integrity_failure() const {
  MutexLock lock(failure_mu_);
  return failure_;
}

Result<std::vector<StoredEvent>> AuditLedger::Events(ReadView db, uint64_t from, uint64_t to, size_t limit) {
  return db.Select("audit_events", "SELECT seq, data, chain_hash FROM audit_events WHERE seq >= ? AND seq <= ? "
                                   "ORDER BY seq LIMIT ?")
      .Bind(1, static_cast<int64_t>(from))
      .Bind(2, static_cast<int64_t>(std::min<uint64_t>(to, INT64_MAX)))
      .Bind(3, static_cast<int64_t>(limit))
      .ReadAll(DecodeEvent);
}

Result<uint64_t> AuditLedger::FirstSeqAtOrAfter(ReadView db, const std::string& time) {
  CL_ASSIGN_OR_RETURN(const uint64_t size, Size(db));
  uint64_t lo = 0, hi = size;  // answer in [lo, hi]
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    CL_ASSIGN_OR_RETURN(const std::optional<std::string> mid_time,
                        db.Select("audit_events", "SELECT data FROM audit_events WHERE seq = ?")
                            .Bind(1, static_cast<int64_t>(mid))
                            .ReadOne([](const Row& row) { return TimeOf(row.View(0)); }));
    if (!mid_time) return Status::Corruption("audit event " + std::to_string(mid) + " is missing");
    if (*mid_time < time) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Result<std::vector<StoredEvent>> AuditLedger::Query(ReadView db, const EventFilter& f, uint64_t cursor,
                                                    size_t limit) {
  uint64_t from = std::max(cursor, f.from_seq);
  uint64_t to = f.to_seq;
  if (!f.since.empty()) {
    CL_ASSIGN_OR_RETURN(const uint64_t first, FirstSeqAtOrAfter(db, f.since));
    from = std::max(from, first);
  }
  if (!f.until.empty()) {
    // Last seq with time <= until: one before the first seq with time > until.
    CL_ASSIGN_OR_RETURN(const uint64_t after, FirstSeqAtOrAfter(db, f.until + "\x7f"));
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
  std::vector<StoredEvent> out;
  if (limit == 0) return out;
  CL_RETURN_IF_ERROR(
      db.Select("audit_events",
                "SELECT seq, data, chain_hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq")
          .Bind(1, static_cast<int64_t>(from))
          .Bind(2, static_cast<int64_t>(std::min<uint64_t>(to, INT64_MAX)))
          .ForEach([&](const Row& row) -> Result<bool> {
            verify::EventFilterFields fields;
            if (!verify::ReadEventFilterFields(row.View(1), &fields)) return true;  // verification reports it
            if ((!actor.empty() && fields.actor_id != actor) || (!action.empty() && fields.action != action) ||
                (!env.empty() && fields.env != env) || (!outcome.empty() && fields.outcome != outcome)) {
              return true;
            }
            CL_ASSIGN_OR_RETURN(StoredEvent event, DecodeEvent(row));
            out.push_back(std::move(event));
            return out.size() < limit;
          }));
  return out;
}

Status AuditLedger::StoreCheckpoint(Transaction& tx, const StoredCheckpoint& c) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)"));
  return s->Bind(1, static_cast<int64_t>(c.size)).BindBlob(2, Blob(c.root)).Bind(3, c.note).Bind(4, c.created_at).Run();
}

Result<std::optional<StoredCheckpoint>> AuditLedger::LatestCheckpoint(ReadView db) {
  return db.Select("audit_checkpoints", "SELECT size, root, note, created_at FROM audit_checkpoints "
                                        "ORDER BY size DESC LIMIT 1")
      .ReadOne(DecodeCheckpoint);
}

Result<std::optional<StoredCheckpoint>> AuditLedger::CheckpointAtLeast(ReadView db, uint64_t min_size) {
  return db.Select("audit_checkpoints", "SELECT size, root, note, created_at FROM audit_checkpoints "
                                        "WHERE size >= ? ORDER BY size LIMIT 1")
      .Bind(1, static_cast<int64_t>(min_size))
      .ReadOne(DecodeCheckpoint);
}

Result<std::vector<StoredCheckpoint>> AuditLedger::Checkpoints(ReadView db, uint64_t after, size_t limit) {
  return db.Select("audit_checkpoints", "SELECT size, root, note, created_at FROM audit_checkpoints "
                                        "WHERE size > ? ORDER BY size LIMIT ?")
      .Bind(1, static_cast<int64_t>(std::min<uint64_t>(after, INT64_MAX)))
      .Bind(2, static_cast<int64_t>(limit))
      .ReadAll(DecodeCheckpoint);
}

}  // namespace cloister
