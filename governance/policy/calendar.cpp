#include "governance/policy/calendar.h"

#include <cstdio>

#include "appliance/core/civil_date.h"

namespace cloister::policy {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

CivilTime ToCivil(int64_t t, int32_t offset) {
  t += offset;
  const int64_t days = FloorDiv(t, 86400);
  const int64_t secs = t - days * 86400;
  CivilTime c{};
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  // 1970-01-01 was a Thursday (ISO 4).
  c.weekday = static_cast<int>(((days % 7) + 7 + 3) % 7) + 1;
  return c;
}

std::optional<int32_t> ParseOffset(std::string_view s) {
  if (s == "UTC" || s == "Z") return 0;
  int h = 0, m = 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !Digits(s, 1, 2, &h) || !Digits(s, 4, 2, &m) ||
      m > 59 || h * 60 + m > 18 * 60) {
    return std::nullopt;
  }
  const int32_t secs = h * 3600 + m * 60;
  return s[0] == '-' ? -secs : secs;
}

std::optional<int64_t> ParseTime(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo)) {
    return std::nullopt;
  }
  const int64_t days = DaysFromCivil(y, mo, d);
  if (s.size() == 10) return days * 86400;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, &h) || s[13] != ':' ||
      !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se) || h > 23 || mi > 59 || se > 59) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  const std::string_view zone = s.substr(pos);
  const auto offset = zone == "z" ? std::optional<int32_t>(0) : (zone == "UTC" ? std::nullopt : ParseOffset(zone));
  if (!offset) return std::nullopt;
  return days * 86400 + h * 3600 + mi * 60 + se - *offset;
}

std::string FormatTime(int64_t t) {
  const CivilTime c = ToCivil(t);
  if (c.year < 0 || c.year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(c.year), c.month, c.day,
                  c.hour, c.minute, c.second);
    return buf;
  }
  std::string out = "0000-00-00T00:00:00Z";
  FormatDate(t, 0, out.data());
  auto two = [&](size_t at, int v) {
    out[at] = static_cast<char>('0' + v / 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(11, c.hour);
  two(14, c.minute);
  two(17, c.second);
  return out;
}

void FormatDate(int64_t t, int32_t offset, char* out) {
  const CivilTime c = ToCivil(t, offset);
  const int64_t y = c.year < 0 ? 0 : (c.year > 9999 ? 9999 : c.year);
  const int v[] = {static_cast<int>(y / 1000), static_cast<int>(y / 100 % 10), static_cast<int>(y / 10 % 10),
                   static_cast<int>(y % 10)};
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>('0' + v[i]);
  out[4] = '-';
  out[5] = static_cast<char>('0' + c.month / 10);
  out[6] = static_cast<char>('0' + c.month % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + c.day / 10);
  out[9] = static_cast<char>('0' + c.day % 10);
}

}  // namespace cloister::policy
