#include "appliance/runtime/cron.h"

#include <array>
#include <bit>
#include <cctype>
#include <cstdio>

#include "appliance/core/civil_date.h"
#include "governance/policy/calendar.h"

namespace cloister::runtime {
namespace {

// 29 February recurs at most 8 years apart (2096 -> 2104); every other
// schedule that fires at all fires at least once a year.
constexpr int64_t kHorizonYears = 8;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: keeps all arithmetic far
// from int64 overflow and inside the calendar's tested range.
constexpr int64_t kMinUnixSeconds = -62135596800;
constexpr int64_t kMaxUnixSeconds = 253402300799;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

struct Field {
  const char* name;
  int min;
  int max;
  const std::string_view* names;  // names[i] stands for min + i; nullptr when none
  size_t name_count;
  const char* names_hint;  // appended to "is not a number"
};

constexpr Field kFields[5] = {
    {"minute", 0, 59, nullptr, 0, ""},
    {"hour", 0, 23, nullptr, 0, ""},
    {"day-of-month", 1, 31, nullptr, 0, ""},
    {"month", 1, 12, kMonthNames.data(), kMonthNames.size(), " or month name (JAN-DEC)"},
    {"day-of-week", 0, 7, kWeekdayNames.data(), kWeekdayNames.size(), " or weekday name (SUN-SAT)"},
};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// User text for a message: quoted, with bytes outside printable ASCII escaped
// so a schedule cannot forge log lines.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte > 0x7e) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", byte);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "'";
}

Status FieldError(const Field& field, const std::string& message) {
  return Status::InvalidArgument(std::string(field.name) + ": " + message);
}

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (const char ch : text) {
    if (ch < '0' || ch > '9') return false;
  }
  return true;
}

// Saturates instead of overflowing: anything past 1,000,000 is out of range
// for every field and every step anyway.
int64_t DigitsValue(std::string_view digits) {
  int64_t value = 0;
  for (const char ch : digits) {
    value = value * 10 + (ch - '0');
    if (value > 1000000) return 1000001;
  }
  return value;
}

// One value of a field: a number within [min, max], or a name.
Result<int> ParseValue(const Field& field, std::string_view token) {
  if (AllDigits(token)) {
    const int64_t value = DigitsValue(token);
    if (value < field.min || value > field.max) {
      return FieldError(field, std::string(token) + " is out of range " +
                                   std::to_string(field.min) + "-" + std::to_string(field.max));
    }
    return static_cast<int>(value);
  }
  for (size_t i = 0; i < field.name_count; ++i) {
    const std::string_view name = field.names[i];
    if (token.size() != name.size()) continue;
    bool same = true;
    for (size_t j = 0; j < name.size() && same; ++j) {
      same = std::toupper(static_cast<unsigned char>(token[j])) == name[j];
    }
    if (same) return field.min + static_cast<int>(i);
  }
  return FieldError(field, Quote(token) + " is not a number" + field.names_hint);
}

// One list item: "*", "a", "a-b", "*/n" or "a-b/n"; sets its bits in `bits`.
Status ParseItem(const Field& field, std::string_view item, uint64_t* bits) {
  const size_t slash = item.find('/');
  const std::string_view range = item.substr(0, slash);
  int64_t step = 1;
  if (slash != std::string_view::npos) {
    const std::string_view step_text = item.substr(slash + 1);
    if (step_text.find('/') != std::string_view::npos) {
      return FieldError(field, Quote(item) + " has more than one '/'");
    }
    if (!AllDigits(step_text)) {
      return FieldError(field,
                        "step " + Quote(step_text) + " in " + Quote(item) + " is not a number");
    }
    step = DigitsValue(step_text);
    if (step == 0) return FieldError(field, "step 0 in " + Quote(item) + " must be at least 1");
    const int span = field.max - field.min;
    if (step > span) {
      return FieldError(field, "step " + std::string(step_text) + " in " + Quote(item) +
                                   " is out of range 1-" + std::to_string(span));
    }
  }

  int low = field.min;
  int high = field.max;
  if (range != "*") {
    const size_t dash = range.find('-');
    if (dash == std::string_view::npos) {
      if (slash != std::string_view::npos) {
        return FieldError(field,
                          "the step in " + Quote(item) + " needs '*' or a range a-b before '/'");
      }
      CL_ASSIGN_OR_RETURN(low, ParseValue(field, range));
      high = low;
    } else {
      const std::string_view first = range.substr(0, dash);
      const std::string_view last = range.substr(dash + 1);
      if (first.empty() || last.empty()) {
        return FieldError(field, Quote(item) + " is not a number or range");
      }
      CL_ASSIGN_OR_RETURN(low, ParseValue(field, first));
      CL_ASSIGN_OR_RETURN(high, ParseValue(field, last));
      // "FRI-SUN": Sunday closing a weekday range is the 7 that ends the week.
      if (field.names == kWeekdayNames.data() && high == 0 && !AllDigits(last)) high = 7;
      if (high < low) {
        return FieldError(field, "range " + Quote(range) + " is reversed (start after end)");
      }
    }
  }
  for (int64_t value = low; value <= high; value += step) *bits |= uint64_t{1} << value;
  return Status::Ok();
}

Result<uint64_t> ParseField(const Field& field, std::string_view text) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma - start);
    if (item.empty()) return FieldError(field, "empty item in " + Quote(text));
    CL_RETURN_IF_ERROR(ParseItem(field, item, &bits));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

// The lowest set bit of `mask` at or above `from`, or -1.
int NextBit(uint64_t mask, int from) {
  if (from >= 64) return -1;
  const uint64_t rest = mask & (~uint64_t{0} << from);
  return rest == 0 ? -1 : std::countr_zero(rest);
}

int DaysInMonth(int64_t year, int month) {
  const int64_t first = DaysFromCivil(year, month, 1);
  const int64_t next =
      month == 12 ? DaysFromCivil(year + 1, 1, 1) : DaysFromCivil(year, month + 1, 1);
  return static_cast<int>(next - first);
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  if (text.size() > kMaxLength) {
    return Status::InvalidArgument("cron schedule: " + std::to_string(text.size()) +
                                   " characters, at most " + std::to_string(kMaxLength));
  }
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == ' ' || text[pos] == '\t') {
      ++pos;
      continue;
    }
    const size_t end = text.find_first_of(" \t", pos);
    fields.push_back(text.substr(pos, end - pos));
    pos = end == std::string_view::npos ? text.size() : end;
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(
        "cron schedule " + Quote(text) +
        ": expected 5 fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()));
  }

  uint64_t bits[5];
  for (size_t i = 0; i < 5; ++i) {
    CL_ASSIGN_OR_RETURN(bits[i], ParseField(kFields[i], fields[i]));
  }
  CronSchedule schedule;
  schedule.text_ = std::string(text);
  schedule.minutes_ = bits[0];
  schedule.hours_ = static_cast<uint32_t>(bits[1]);
  schedule.days_ = static_cast<uint32_t>(bits[2]);
  schedule.months_ = static_cast<uint32_t>(bits[3]);
  // Bit 7 (Sunday written as 7) folds onto bit 0.
  schedule.weekdays_ = static_cast<uint32_t>((bits[4] | (bits[4] >> 7)) & 0x7f);
  schedule.days_restricted_ = fields[2] != "*";
  schedule.weekdays_restricted_ = fields[4] != "*";
  return schedule;
}

bool CronSchedule::DayMatches(int64_t year, int month, int day) const {
  // ToCivil's ISO weekday (1 Monday .. 7 Sunday) modulo 7 is cron's (0 Sunday).
  const int weekday = policy::ToCivil(DaysFromCivil(year, month, day) * 86400).weekday % 7;
  const bool day_ok = (days_ >> day) & 1;
  const bool weekday_ok = (weekdays_ >> weekday) & 1;
  if (days_restricted_ && weekdays_restricted_) return day_ok || weekday_ok;
  return day_ok && weekday_ok;
}

std::optional<int64_t> CronSchedule::Next(int64_t after_unix_seconds,
                                          int32_t utc_offset_seconds) const {
  if (after_unix_seconds < kMinUnixSeconds || after_unix_seconds > kMaxUnixSeconds) {
    return std::nullopt;
  }
  // All work is in local civil time; the first candidate is the next whole
  // local minute strictly after the given instant.
  const int64_t local = after_unix_seconds + utc_offset_seconds;
  const policy::CivilTime start = policy::ToCivil(FloorDiv(local, 60) * 60 + 60);
  int64_t year = start.year;
  int month = start.month, day = start.day, hour = start.hour, minute = start.minute;
  const int64_t last_year = year + kHorizonYears;

  auto next_month = [&] {
    if (++month > 12) {
      month = 1;
      ++year;
    }
    day = 1;
    hour = minute = 0;
  };
  auto next_day = [&] {
    if (day >= DaysInMonth(year, month)) {
      next_month();
    } else {
      ++day;
      hour = minute = 0;
    }
  };

  // Each pass either returns or moves the candidate forward to the earliest
  // time the failing field allows, so passes are bounded by a few per month.
  while (year <= last_year) {
    if (((months_ >> month) & 1) == 0) {
      int next = NextBit(months_, month);
      if (next < 0) {
        next = std::countr_zero(months_);
        ++year;
      }
      month = next;
      day = 1;
      hour = minute = 0;
      continue;
    }
    if (!weekdays_restricted_) {
      // Only the day of month decides: jump straight to its next day.
      const int next = NextBit(days_, day);
      if (next < 0 || next > DaysInMonth(year, month)) {
        next_month();
        continue;
      }
      if (next != day) {
        day = next;
        hour = minute = 0;
      }
    } else if (!DayMatches(year, month, day)) {
      next_day();  // a weekday matches within 7 days
      continue;
    }
    const int next_hour = NextBit(hours_, hour);
    if (next_hour < 0) {
      next_day();
      continue;
    }
    if (next_hour != hour) {
      hour = next_hour;
      minute = 0;
    }
    const int next_minute = NextBit(minutes_, minute);
    if (next_minute < 0) {
      if (hour == 23) {
        next_day();
      } else {
        ++hour;
        minute = 0;
      }
      continue;
    }
    return DaysFromCivil(year, month, day) * 86400 + hour * 3600 + next_minute * 60 -
           utc_offset_seconds;
  }
  return std::nullopt;
}

std::vector<int64_t> CronSchedule::Between(int64_t after, int64_t until, int32_t utc_offset_seconds,
                                           size_t limit) const {
  std::vector<int64_t> times;
  int64_t from = after;
  while (times.size() < limit && from < until) {
    const std::optional<int64_t> next = Next(from, utc_offset_seconds);
    if (!next || *next > until) break;
    times.push_back(*next);
    from = *next;
  }
  return times;
}

}  // namespace cloister::runtime
