// Civil (proleptic Gregorian) dates and day numbers since 1970-01-01, after
// Howard Hinnant's days_from_civil and civil_from_days. Pure functions.
#pragma once

#include <cstdint>

namespace cloister {

// Days from 1970-01-01 to year-month-day (month 1-12, day 1-31); negative
// before 1970.
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day);
// The inverse: the civil date of a day number.
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day);

}  // namespace cloister
