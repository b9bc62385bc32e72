// Brute-force defence for logins: failed attempts are counted per account
// (the case-folded name tried, whether or not such a user exists, so the
// answer never tells) and per source address. From the threshold on, every
// further failure locks the key for base_delay * 2^(failures - threshold),
// at most max_delay; a key whose last failure is older than reset_after
// starts again from zero. A successful login clears its account's count,
// never its address's. Kept in the database, so a restart does not reset it.
// A stored row whose times are not timestamps is corruption naming the
// login_failures row ("<kind>/<key>"), never a lock that silently lapsed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/mutex.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct LockoutPolicy {
  int64_t account_threshold = 5;
  int64_t address_threshold = 20;
  std::chrono::seconds base_delay{1};
  std::chrono::seconds max_delay{900};
  std::chrono::seconds reset_after{3600};
};

struct LoginFailures {
  std::string kind;  // "account" or "address"
  std::string key;   // the case-folded user name, or the IP address
  int64_t failures = 0;
  std::string last_failure_at;
  std::string locked_until;  // "" when not locked now
};

// The failures that still count for `key` (0 once reset_after has passed
// since the last), and locked_until when it is locked now.
Result<LoginFailures> CurrentLoginFailures(ReadView db, const std::string& kind, const std::string& key,
                                           const LockoutPolicy& policy, const Clock& clock);

// Password checks in flight, per key. A login takes a slot for its account
// and its address *before* checking the password and gives it back once its
// failure (if any) is recorded, so concurrent attempts get no more checks
// than sequential ones: a key below its threshold has at most
// (threshold - failures) checks in flight, and one at or past it at most
// one (its next failure locks it). Thread-safe.
class AttemptSlots {
 public:
  struct Key {
    std::string kind, key;
    int64_t threshold;
  };
  // What Take() found.
  struct Outcome {
    bool taken = false;
    int64_t locked_seconds = 0;  // > 0: a key is locked for this long
  };
  // Reads each key's current failures with `read` and takes a slot for every
  // key, or for none.
  Result<Outcome> Take(const std::vector<Key>& keys,
                       const std::function<Result<LoginFailures>(const Key&)>& read, const Clock& clock);
  // Gives back the slots Take() took for `keys`.
  void Release(const std::vector<Key>& keys);

 private:
  Mutex mu_;
  std::map<std::string, int64_t> in_flight_ CL_GUARDED_BY(mu_);  // "kind/key" -> checks running
};

// Seconds `key` must still wait (0: it may try now).
Result<int64_t> LockedForSeconds(ReadView db, const std::string& kind, const std::string& key,
                                 const Clock& clock);
// Counts one failure; the state after it (locked_until set when locked).
Result<LoginFailures> RecordLoginFailure(Transaction& tx, const std::string& kind, const std::string& key,
                                         const LockoutPolicy& policy, const Clock& clock);
// Forgets a key's failures; not_found when it has none.
Status ClearLoginFailures(Transaction& tx, const std::string& kind, const std::string& key);
// Keys with failures that still count, most recent first.
Result<std::vector<LoginFailures>> ListLoginFailures(ReadView db, const LockoutPolicy& policy, const Clock& clock);

}  // namespace cloister
