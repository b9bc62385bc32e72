#include "appliance/identity/auth_failure_limiter.h"

#include <algorithm>

namespace cloister {

AuthFailureLimiter::Verdict AuthFailureLimiter::Fail(const std::string& address) {
  const auto now = clock_.Monotonic();
  MutexLock lock(mu_);
  auto it = windows_.find(address);
  if (it == windows_.end()) {
    MakeRoom(now);
    it = windows_.emplace(address, Window{now, 0, 0, 0}).first;
  }
  Window& w = it->second;
  if (now - w.start >= limit_.window) {
    // A new window; refusals of the old one beyond the one recorded are carried.
    const int64_t carried = w.refused_unreported + (w.refused > 1 ? w.refused - 1 : 0);
    w = Window{now, 0, 0, carried};
  }
  Verdict v;
  v.failures = ++w.failures;
  if (w.failures <= limit_.max_failures) return v;
  v.refuse = true;
  v.record_refusal = ++w.refused == 1;
  if (v.record_refusal) {
    v.refused_in_previous_window = w.refused_unreported;
    w.refused_unreported = 0;
  }
  const auto left = std::chrono::ceil<std::chrono::seconds>(limit_.window - (now - w.start)).count();
  v.retry_after_seconds = std::max<int64_t>(left, 1);
  return v;
}

void AuthFailureLimiter::MakeRoom(std::chrono::steady_clock::time_point now) {
  if (windows_.size() < limit_.max_addresses) return;
  for (auto it = windows_.begin(); it != windows_.end();) {
    it = now - it->second.start >= limit_.window ? windows_.erase(it) : std::next(it);
  }
  while (windows_.size() >= limit_.max_addresses) {
    auto oldest = std::min_element(windows_.begin(), windows_.end(),
                                   [](const auto& a, const auto& b) { return a.second.start < b.second.start; });
    windows_.erase(oldest);
  }
}

}  // namespace cloister
