#include "appliance/identity/login_throttle.h"

#include <algorithm>

namespace cloister {
namespace {

// Seconds from now until `when`, a timestamp checked when its row was
// decoded (DecodeFailures); 0 once it has passed.
int64_t SecondsUntil(const std::string& when, const Clock& clock) {
  const auto t = ParseTimestamp(when);
  if (!t) return 0;
  const auto left = std::chrono::ceil<std::chrono::seconds>(*t - clock.Now()).count();
  return std::max<int64_t>(left, 0);
}

// Every read of login_failures selects these columns; rows are named
// "<kind>/<key>" in corruption reports.
constexpr std::string_view kFailureColumns =
    "kind || '/' || key, kind, key, failures, last_failure_at, COALESCE(locked_until, '')";

Result<LoginFailures> DecodeFailures(const Row& row) {
  LoginFailures f{row.Text(1), row.Text(2), row.Int(3), row.Text(4), row.Text(5)};
  if (!ParseTimestamp(f.last_failure_at)) return row.Corrupt("last_failure_at is not a timestamp");
  if (!f.locked_until.empty() && !ParseTimestamp(f.locked_until)) {
    return row.Corrupt("locked_until is not a timestamp");
  }
  return f;
}

Result<std::optional<LoginFailures>> ReadFailures(ReadView db, const std::string& kind, const std::string& key) {
  return db.Select("login_failures", "SELECT " + std::string(kFailureColumns) +
                                         " FROM login_failures WHERE kind = ? AND key = ?")
      .Bind(1, kind)
      .Bind(2, key)
      .ReadOne(DecodeFailures);
}

}  // namespace

Result<int64_t> LockedForSeconds(ReadView db, const std::string& kind, const std::string& key,
                                 const Clock& clock) {
  CL_ASSIGN_OR_RETURN(const std::optional<LoginFailures> found, ReadFailures(db, kind, key));
  return !found || found->locked_until.empty() ? 0 : SecondsUntil(found->locked_until, clock);
}

Result<LoginFailures> CurrentLoginFailures(ReadView db, const std::string& kind, const std::string& key,
                                           const LockoutPolicy& policy, const Clock& clock) {
  const auto now = clock.Now();
  CL_ASSIGN_OR_RETURN(const std::optional<LoginFailures> found, ReadFailures(db, kind, key));
  const bool row = found.has_value();
  LoginFailures out = row ? *found : LoginFailures{kind, key, 0, "", ""};
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
  MutexLock lock(mu_);
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
  MutexLock lock(mu_);
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

  CL_ASSIGN_OR_RETURN(const int64_t failures,
                      tx.view()
                          .Select("login_failures", "SELECT failures FROM login_failures WHERE kind = ? AND key = ?")
                          .Bind(1, kind)
                          .Bind(2, key)
                          .ReadInt(0));
  LoginFailures out{kind, key, failures + 1, now_text, ""};

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

Result<std::vector<LoginFailures>> ListLoginFailures(ReadView db, const LockoutPolicy& policy,
                                                     const Clock& clock) {
  const auto now = clock.Now();
  const std::string now_text = FormatTimestamp(now);
  CL_ASSIGN_OR_RETURN(std::vector<LoginFailures> out,
                      db.Select("login_failures", "SELECT " + std::string(kFailureColumns) +
                                                      " FROM login_failures WHERE last_failure_at > ? OR "
                                                      "locked_until > ? ORDER BY last_failure_at DESC")
                          .Bind(1, FormatTimestamp(now - policy.reset_after))
                          .Bind(2, now_text)
                          .ReadAll(DecodeFailures));
  for (LoginFailures& f : out) {
    if (f.locked_until <= now_text) f.locked_until.clear();
  }
  return out;
}

}  // namespace cloister
