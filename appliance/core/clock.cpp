#include "appliance/core/clock.h"

#include <ctime>

#include "appliance/core/civil_date.h"

namespace cloister {

std::chrono::system_clock::time_point SystemClock::Now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::Monotonic() const {
  return std::chrono::steady_clock::now();
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto micros = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  long frac = static_cast<long>(micros % 1000000);
  if (frac < 0) {  // before 1970: floor toward negative infinity
    frac += 1000000;
    --secs;
  }
  // Runs for every audit event: the date and time are formatted once per
  // second per thread, the microseconds digit by digit.
  thread_local std::time_t cached_secs = -1;
  thread_local char buf[28] = "0000-00-00T00:00:00.000000Z";
  auto put = [](int pos, long value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) buf[pos + i] = static_cast<char>('0' + value % 10);
  };
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    put(0, tm.tm_year + 1900, 4);
    put(5, tm.tm_mon + 1, 2);
    put(8, tm.tm_mday, 2);
    put(11, tm.tm_hour, 2);
    put(14, tm.tm_min, 2);
    put(17, tm.tm_sec, 2);
    cached_secs = secs;
  }
  put(20, frac, 6);
  return std::string(buf, 27);
}

std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) {
    long v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = static_cast<int>(num(0, 4)) - 1900;
  tm.tm_mon = static_cast<int>(num(5, 2)) - 1;
  tm.tm_mday = static_cast<int>(num(8, 2));
  tm.tm_hour = static_cast<int>(num(11, 2));
  tm.tm_min = static_cast<int>(num(14, 2));
  tm.tm_sec = static_cast<int>(num(17, 2));
  const std::time_t secs = timegm(&tm);
  const auto t = std::chrono::system_clock::from_time_t(secs) + std::chrono::microseconds(num(20, 6));
  if (FormatTimestamp(t) != text) return std::nullopt;  // out-of-range fields (month 13, Feb 30)
  return t;
}

namespace {

int DaysIn(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  size_t pos = 0;
  auto digits = [&](size_t count, int64_t* out) {
    if (pos + count > text.size()) return false;
    int64_t v = 0;
    for (size_t i = 0; i < count; ++i) {
      const char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos += count;
    *out = v;
    return true;
  };
  auto literal = [&](char a, char b) {
    if (pos >= text.size() || (text[pos] != a && text[pos] != b)) return false;
    ++pos;
    return true;
  };
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(4, &year) || !literal('-', '-') || !digits(2, &month) || !literal('-', '-') || !digits(2, &day) ||
      !literal('T', 't') || !digits(2, &hour) || !literal(':', ':') || !digits(2, &minute) || !literal(':', ':') ||
      !digits(2, &second)) {
    return std::nullopt;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysIn(year, static_cast<int>(month)) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t count = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++count > 9) return std::nullopt;
      nanos = nanos * 10 + (text[pos++] - '0');
    }
    if (count == 0) return std::nullopt;
    for (size_t i = count; i < 9; ++i) nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int64_t sign = text[pos++] == '-' ? -1 : 1;
    int64_t oh = 0, om = 0;
    if (!digits(2, &oh) || !literal(':', ':') || !digits(2, &om) || oh > 23 || om > 59) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  using std::chrono::duration_cast;
  using std::chrono::system_clock;
  const int64_t max_seconds = duration_cast<std::chrono::seconds>(system_clock::duration::max()).count() - 1;
  const int64_t min_seconds = duration_cast<std::chrono::seconds>(system_clock::duration::min()).count() + 1;
  if (seconds > max_seconds) return system_clock::time_point::max();
  if (seconds < min_seconds) return system_clock::time_point::min();
  return system_clock::time_point(duration_cast<system_clock::duration>(std::chrono::seconds(seconds)) +
                                  duration_cast<system_clock::duration>(std::chrono::nanoseconds(nanos)));
}

}  // namespace cloister
