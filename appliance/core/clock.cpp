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

}  // namespace cloister
