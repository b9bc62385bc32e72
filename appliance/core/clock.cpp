#include "appliance/core/clock.h"

#include <ctime>

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

}  // namespace cloister
