// Cron schedules for automation triggers of type `schedule`
// (`trigger.schedule: "0 6 * * 1-5"`, `trigger.utc_offset: "+01:00"`): the
// classic five fields, evaluated at a fixed UTC offset as policy windows are
// (governance/policy/calendar.h). There is no time-zone database and so no
// daylight-saving time: an air-gapped appliance cannot keep one current, and
// a fixed offset means the same instant in every audit export.
//
// A CronSchedule is an immutable value: copyable, and its const methods are
// pure (no clock, no state) and safe to call from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"

namespace cloister::runtime {

// A parsed 5-field cron expression: minute hour day-of-month month day-of-week.
class CronSchedule {
 public:
  // Longest accepted expression, in bytes.
  static constexpr size_t kMaxLength = 256;

  // Fields are separated by spaces or tabs (leading and trailing ones are
  // ignored). Each field is a comma-separated list of items; an item is "*",
  // a number, a range "a-b", or a step "*/n" or "a-b/n". Ranges are 0-59
  // (minute), 0-23 (hour), 1-31 (day of month), 1-12 or JAN-DEC (month) and
  // 0-7 or SUN-SAT (day of week, 0 and 7 both Sunday; "FRI-SUN" means Friday
  // to Sunday). Names are case-insensitive and may stand wherever a number
  // may. A step n must be at least 1 and at most the field's span (59 for
  // minutes); "a/n" without a range is refused, not read as "a-max/n".
  //
  // Day of month and day of week follow classic cron: when both fields are
  // restricted (neither is exactly "*"), a day matches if either matches;
  // otherwise it must match both. "*/2" counts as restricted here (unlike
  // Vixie cron, which treats any field starting with "*" as unrestricted).
  //
  // Errors, all invalid_argument: more than kMaxLength bytes, a field count
  // other than 5, and per field (the message starts with the field's name,
  // e.g. "hour: 24 is out of range 0-23") empty items, values out of range,
  // non-numbers and unknown names, reversed ranges, a step of 0 or beyond the
  // span, a step after a single value, and any other junk. Bytes outside
  // printable ASCII are shown escaped ("\x0a") in messages.
  static Result<CronSchedule> Parse(std::string_view text);

  // The first fire time strictly after `after_unix_seconds` (a time exactly
  // on a fire time yields the following one), with fields read as civil time
  // at the fixed UTC offset `utc_offset_seconds` (seconds east of UTC, any
  // value, whole minutes or not). Fire times fall on whole minutes of that
  // civil time.
  //
  // nullopt when the schedule does not fire within the next 8 civil years:
  // the longest gap between two fire times of any schedule that fires at all
  // is 29 February across a century year that is not a leap year (2096 ->
  // 2104), so nullopt means the schedule never fires ("0 0 30 2 *"). Also
  // nullopt when `after_unix_seconds` is outside years 1-9999 UTC.
  //
  // Cost: skips whole months and days that cannot match; a few dozen steps
  // at most, never minute by minute.
  std::optional<int64_t> Next(int64_t after_unix_seconds, int32_t utc_offset_seconds) const;

  // Every fire time in (after, until], in ascending order: the earliest
  // `limit` of them (for counting missed runs). Empty when limit is 0 or
  // until <= after.
  std::vector<int64_t> Between(int64_t after, int64_t until, int32_t utc_offset_seconds,
                               size_t limit) const;

  // The expression exactly as given to Parse.
  const std::string& text() const { return text_; }

 private:
  CronSchedule() = default;

  bool DayMatches(int64_t year, int month, int day) const;

  std::string text_;
  uint64_t minutes_ = 0;   // bit m: minute m (0-59)
  uint32_t hours_ = 0;     // bit h: hour h (0-23)
  uint32_t days_ = 0;      // bit d: day of month d (1-31)
  uint32_t months_ = 0;    // bit m: month m (1-12)
  uint32_t weekdays_ = 0;  // bit w: weekday w (0 Sunday .. 6 Saturday; 7 folded into 0)
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

}  // namespace cloister::runtime
