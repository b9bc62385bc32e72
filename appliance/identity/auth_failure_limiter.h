// Failed authentications (bad, unknown, revoked or expired tokens and
// sessions) counted per client address in fixed windows. Past the limit a
// window's further failures are refused with 429 before anything is
// written: only the first refusal of a window is recorded, carrying the
// count of the address's refusals in its previous limited window, so a
// stream of bogus credentials cannot grow the ledger without bound.
//
// Thread-safe. Memory is bounded: at most max_addresses addresses are
// tracked; when full, expired windows are dropped first, then the oldest.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "appliance/core/clock.h"
#include "appliance/core/mutex.h"

namespace cloister {

struct AuthFailureLimit {
  int64_t max_failures = 30;  // per address and window, recorded in full
  std::chrono::seconds window{60};
  size_t max_addresses = 10000;
};

class AuthFailureLimiter {
 public:
  AuthFailureLimiter(const Clock& clock, AuthFailureLimit limit) : clock_(clock), limit_(limit) {}

  struct Verdict {
    bool refuse = false;           // over the limit: answer 429
    bool record_refusal = false;   // refuse, and record it (the window's first refusal)
    int64_t failures = 0;          // failures from the address in this window, this one included
    int64_t retry_after_seconds = 0;
    int64_t refused_in_previous_window = 0;  // reported with the first refusal recorded
  };

  // Counts one failed authentication from `address`.
  Verdict Fail(const std::string& address);

  const AuthFailureLimit& limit() const { return limit_; }

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    int64_t failures = 0;
    int64_t refused = 0;
    int64_t refused_unreported = 0;  // from the last window that refused
  };
  void MakeRoom(std::chrono::steady_clock::time_point now) CL_REQUIRES(mu_);

  const Clock& clock_;
  const AuthFailureLimit limit_;
  Mutex mu_;
  std::map<std::string, Window> windows_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister
