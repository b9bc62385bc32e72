// Civil time for policy windows: proleptic Gregorian calendar, times as Unix
// seconds, fixed UTC offsets only (no time-zone database: an appliance in an
// air-gapped site has none it could keep current, and a fixed offset means
// the same thing in every audit export).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cloister::policy {

struct CivilTime {
  int64_t year;
  int month, day, hour, minute, second;
  int weekday;  // ISO 8601: 1 Monday .. 7 Sunday
};

CivilTime ToCivil(int64_t unix_seconds, int32_t offset_seconds = 0);

// "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.5+01:00" or a date
// "2026-11-22" (midnight UTC). Fractions of a second are dropped. nullopt for
// anything else, out-of-range fields (month 13, 30 February) included.
std::optional<int64_t> ParseTime(std::string_view text);
// "2026-11-22T10:00:00Z"
std::string FormatTime(int64_t unix_seconds);
// "YYYY-MM-DD" into `out` (10 bytes) for the time at `offset_seconds`.
void FormatDate(int64_t unix_seconds, int32_t offset_seconds, char* out);

// "UTC", "Z", "+05:30", "-08:00" (within +/-18:00) as seconds east of UTC.
std::optional<int32_t> ParseOffset(std::string_view text);

}  // namespace cloister::policy
