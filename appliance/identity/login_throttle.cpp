#include "appliance/identity/login_throttle.h"

#include <algorithm>

namespace cloister {
namespace {

int64_t SecondsUntil(const std::string& when, const Clock& clock) {
  const auto t = ParseTimestamp(when);
  if (!t) return 0;
  const auto left = std::chrono::ceil<std::chrono::seconds>(*t - clock.Now()).count();
  return std::max<int64_t>(left, 0);
}

}  // namespace

Result<int64_t> LockedForSeconds(Connection& conn, const std::string& kind, const std::string& key,
                                 const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT locked_until FROM login_failures WHERE kind = ? AND key = ?"));
  s->Bind(1, kind).Bind(2, key);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  const std::string until = row ? s->ColumnText(0) : "";
  s->Reset();
  return until.empty() ? 0 : SecondsUntil(until, clock);
}

Result<LoginFailures> CurrentLoginFailures(Connection& conn, const std::string& kind, const std::string& key,
                                           const LockoutPolicy& policy, const Clock& clock) {
  const auto now = clock.Now();
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT failures, last_failure_at, COALESCE(locked_until, '') FROM login_failures WHERE kind = ? AND key = ?"));
  s->Bind(1, kind).Bind(2, key);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  LoginFailures out{kind, key, 0, "", ""};
  if (row) {
    out.failures = s->ColumnInt(0);
    out.last_failure_at = s->ColumnText(1);
    out.locked_until = s->ColumnText(2);
  }
  s->Reset();
  const std::string now_text = FormatTimestamp(now);
  if (out.locked_until <= now_text) out.locked_until.clear();
  // Mirrors RecordLoginFailure's pruning: old failures no longer count.
  if (row && out.locked_until.empty() && out.last_failure_at <= FormatTimestamp(now - policy.reset_after)) {
    out.failures = 0;
  }
  return out;
}

Result<AttemptSlots::Outcome> AttemptSlots::Take(const std::vector<Key>& keys,
                                                 const std::function<Result<LoginFailures>(const Key&)>& read,
                                                 const Clock& clock) {
  std::lock_guard<std::mutex> lock(mu_);
  Outcome out;
  for (const Key& k : keys) {
    CL_ASSIGN_OR_RETURN(LoginFailures f, read(k));
    if (!f.locked_until.empty()) out.locked_seconds = std::max(out.locked_seconds, SecondsUntil(f.locked_until, clock));
    // find, not operator[]: a refused Take leaves no entry behind.
    const auto it = in_flight_.find(k.kind + "/" + k.key);
    const int64_t running = it == in_flight_.end() ? 0 : it->second;
    if (running > 0 && f.failures + running >= k.threshold) return out;  // no slot: wait for the running check
  }
  if (out.locked_seconds > 0) return out;
  for (const Key& k : keys) ++in_flight_[k.kind + "/" + k.key];
  out.taken = true;
  return out;
}

void AttemptSlots::Release(const std::vector<Key>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Key& k : keys) {
    auto it = in_flight_.find(k.kind + "/" + k.key);
    if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
  }
}

Result<LoginFailures> RecordLoginFailure(Transaction& tx, const std::string& kind, const std::string& key,
                                         const LockoutPolicy& policy, const Clock& clock) {
  const auto now = clock.Now();
  const std::string now_text = FormatTimestamp(now);
  // Forget keys whose failures no longer count (keeps the table small when
  // names are sprayed).
  CL_ASSIGN_OR_RETURN(Statement * prune, tx.Prepare(
      "DELETE FROM login_failures WHERE last_failure_at <= ? AND (locked_until IS NULL OR locked_until <= ?)"));
  CL_RETURN_IF_ERROR(prune->Bind(1, FormatTimestamp(now - policy.reset_after)).Bind(2, now_text).Run());

  CL_ASSIGN_OR_RETURN(Statement * read, tx.Prepare("SELECT failures FROM login_failures WHERE kind = ? AND key = ?"));
  read->Bind(1, kind).Bind(2, key);
  CL_ASSIGN_OR_RETURN(const bool row, read->Step());
  LoginFailures out{kind, key, (row ? read->ColumnInt(0) : 0) + 1, now_text, ""};
  read->Reset();

  const int64_t threshold = kind == "account" ? policy.account_threshold : policy.address_threshold;
  if (out.failures >= threshold) {
    const int64_t doublings = std::min<int64_t>(out.failures - threshold, 30);
    const int64_t delay = std::min<int64_t>(policy.base_delay.count() << doublings, policy.max_delay.count());
    out.locked_until = FormatTimestamp(now + std::chrono::seconds(delay));
  }
  CL_ASSIGN_OR_RETURN(Statement * write, tx.Prepare(
      "INSERT OR REPLACE INTO login_failures (kind, key, failures, last_failure_at, locked_until) "
      "VALUES (?, ?, ?, ?, ?)"));
  write->Bind(1, kind).Bind(2, key).Bind(3, out.failures).Bind(4, now_text);
  if (out.locked_until.empty()) {
    write->BindNull(5);
  } else {
    write->Bind(5, out.locked_until);
  }
  CL_RETURN_IF_ERROR(write->Run());
  return out;
}

Status ClearLoginFailures(Transaction& tx, const std::string& kind, const std::string& key) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("DELETE FROM login_failures WHERE kind = ? AND key = ?"));
  CL_RETURN_IF_ERROR(s->Bind(1, kind).Bind(2, key).Run());
  if (tx.Changes() == 0) return Status::NotFound("no failed logins are recorded for " + kind + " \"" + key + "\"");
  return Status::Ok();
}

Result<std::vector<LoginFailures>> ListLoginFailures(Connection& conn, const LockoutPolicy& policy,
                                                     const Clock& clock) {
  const auto now = clock.Now();
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(
      "SELECT kind, key, failures, last_failure_at, locked_until FROM login_failures "
      "WHERE last_failure_at > ? OR locked_until > ? ORDER BY last_failure_at DESC"));
  s->Bind(1, FormatTimestamp(now - policy.reset_after)).Bind(2, FormatTimestamp(now));
  const std::string now_text = FormatTimestamp(now);
  std::vector<LoginFailures> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    LoginFailures f{s->ColumnText(0), s->ColumnText(1), s->ColumnInt(2), s->ColumnText(3), s->ColumnText(4)};
    if (f.locked_until <= now_text) f.locked_until.clear();
    out.push_back(std::move(f));
  }
}

}  // namespace cloister
