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

}  // namespace cloister
