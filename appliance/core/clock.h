// Time as an injected dependency. Only SystemClock reads the real clock;
// tests use a manual clock of their own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cloister {

// Thread-safe: implementations may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC), for timestamps.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for durations and timeouts.
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point Monotonic() const override;
};

// RFC 3339 in UTC with exactly six fractional digits: 2026-11-21T22:54:01.123456Z.
std::string FormatTimestamp(std::chrono::system_clock::time_point t);
// The inverse of FormatTimestamp; nullopt for anything it would not write.
std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text);

// An RFC 3339 date-time as people and scripts write it: YYYY-MM-DD, "T" (or
// "t"), hh:mm:ss, optional fractional seconds (1 to 9 digits), then "Z" (or
// "z") or a numeric offset +hh:mm / -hh:mm (hours 00-23, minutes 00-59). The
// result is the instant, to the nanosecond. nullopt for anything else: a
// missing offset, a space instead of "T", dates that do not exist (month 13,
// 2026-02-29), a leap second (:60), years before 0001. Instants beyond what
// system_clock holds (about 1678..2261) saturate to its min() or max(), which
// still compare correctly with every time the appliance records.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace cloister
