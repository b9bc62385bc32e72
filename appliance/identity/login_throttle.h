// Brute-force defence for logins: failed attempts are counted per account
// (the case-folded name tried, whether or not such a user exists, so the
// answer never tells) and per source address. From the threshold on, every
// further failure locks the key for base_delay * 2^(failures - threshold),
// at most max_delay; a key whose last failure is older than reset_after
// starts again from zero. A successful login clears its account's count,
// never its address's. Kept in the database, so a restart does not reset it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "appliance/core/clock.h"
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

// Seconds `key` must still wait (0: it may try now).
Result<int64_t> LockedForSeconds(Connection& conn, const std::string& kind, const std::string& key,
                                 const Clock& clock);
// Counts one failure; the state after it (locked_until set when locked).
Result<LoginFailures> RecordLoginFailure(Transaction& tx, const std::string& kind, const std::string& key,
                                         const LockoutPolicy& policy, const Clock& clock);
// Forgets a key's failures; not_found when it has none.
Status ClearLoginFailures(Transaction& tx, const std::string& kind, const std::string& key);
// Keys with failures that still count, most recent first.
Result<std::vector<LoginFailures>> ListLoginFailures(Connection& conn, const LockoutPolicy& policy, const Clock& clock);

}  // namespace cloister
