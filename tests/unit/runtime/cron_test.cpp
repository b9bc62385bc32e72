// Cron schedules for automation triggers: syntax, the classic day-of-month /
// day-of-week rule, fixed UTC offsets, calendar edges, and malformed input.
#include "appliance/runtime/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "governance/policy/calendar.h"

namespace cloister::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

CronSchedule Cron(std::string_view text) {
  Result<CronSchedule> schedule = CronSchedule::Parse(text);
  if (!schedule.ok()) {
    ADD_FAILURE() << "'" << text << "': " << schedule.status().ToString();
    return *CronSchedule::Parse("* * * * *");
  }
  return *schedule;
}

int64_t At(std::string_view iso) {
  const std::optional<int64_t> t = policy::ParseTime(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(0);
}

int32_t Offset(std::string_view text) {
  const std::optional<int32_t> offset = policy::ParseOffset(text);
  EXPECT_TRUE(offset.has_value()) << text;
  return offset.value_or(0);
}

// The next fire time as "YYYY-MM-DDTHH:MM:SSZ", or "never".
std::string NextAfter(std::string_view text, std::string_view after,
                      std::string_view offset = "Z") {
  const std::optional<int64_t> next = Cron(text).Next(At(after), Offset(offset));
  return next ? policy::FormatTime(*next) : "never";
}

std::vector<std::string> Fires(std::string_view text, std::string_view after,
                               std::string_view until, std::string_view offset = "Z",
                               size_t limit = 1000) {
  std::vector<std::string> out;
  for (const int64_t t : Cron(text).Between(At(after), At(until), Offset(offset), limit)) {
    out.push_back(policy::FormatTime(t));
  }
  return out;
}

// --- Syntax forms ---

TEST(CronScheduleTest, StarFiresEveryMinuteOnTheMinute) {
  EXPECT_EQ(NextAfter("* * * * *", "2026-03-02T10:00:30Z"), "2026-03-02T10:01:00Z");
  EXPECT_EQ(NextAfter("* * * * *", "2026-03-02T23:59:59Z"), "2026-03-03T00:00:00Z");
}

TEST(CronScheduleTest, NumbersFixMinuteAndHour) {
  EXPECT_EQ(NextAfter("30 14 * * *", "2026-03-02T10:00:00Z"), "2026-03-02T14:30:00Z");
  EXPECT_EQ(NextAfter("30 14 * * *", "2026-03-02T14:31:00Z"), "2026-03-03T14:30:00Z");
}

TEST(CronScheduleTest, RangeFiresOnlyInsideIt) {
  const auto fires = Fires("0 9-17 * * *", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
  ASSERT_EQ(fires.size(), 9u);
  EXPECT_EQ(fires.front(), "2026-03-02T09:00:00Z");
  EXPECT_EQ(fires.back(), "2026-03-02T17:00:00Z");
  EXPECT_EQ(NextAfter("0 9-17 * * *", "2026-03-02T17:00:00Z"), "2026-03-03T09:00:00Z");
}

TEST(CronScheduleTest, StepOverStarCountsFromTheFieldMinimum) {
  EXPECT_THAT(Fires("*/15 * * * *", "2026-03-02T09:59:59Z", "2026-03-02T10:59:59Z"),
              ElementsAre("2026-03-02T10:00:00Z", "2026-03-02T10:15:00Z", "2026-03-02T10:30:00Z",
                          "2026-03-02T10:45:00Z"));
  // Day of month starts at 1: */10 is 1, 11, 21, 31.
  EXPECT_THAT(Fires("0 0 */10 * *", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
              ElementsAre("2026-03-11T00:00:00Z", "2026-03-21T00:00:00Z", "2026-03-31T00:00:00Z",
                          "2026-04-01T00:00:00Z"));
}

TEST(CronScheduleTest, StepOverRangeCountsFromTheRangeStart) {
  EXPECT_THAT(Fires("5-50/20 * * * *", "2026-03-02T09:59:59Z", "2026-03-02T10:59:59Z"),
              ElementsAre("2026-03-02T10:05:00Z", "2026-03-02T10:25:00Z", "2026-03-02T10:45:00Z"));
}

TEST(CronScheduleTest, ListCombinesNumbersRangesAndSteps) {
  EXPECT_THAT(Fires("0 1,5-6,*/12 * * *", "2026-03-01T23:59:59Z", "2026-03-02T23:59:59Z"),
              ElementsAre("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z", "2026-03-02T05:00:00Z",
                          "2026-03-02T06:00:00Z", "2026-03-02T12:00:00Z"));
}

TEST(CronScheduleTest, DayOfMonthAndMonthSkipToTheNextMatchingDate) {
  EXPECT_THAT(Fires("0 0 15 3,6 *", "2026-01-01T00:00:00Z", "2027-12-31T00:00:00Z"),
              ElementsAre("2026-03-15T00:00:00Z", "2026-06-15T00:00:00Z", "2027-03-15T00:00:00Z",
                          "2027-06-15T00:00:00Z"));
}

TEST(CronScheduleTest, SpacesAndTabsSeparateFieldsAndTextIsKeptAsGiven) {
  const CronSchedule schedule = Cron("  0\t6   * * *  ");
  EXPECT_EQ(schedule.text(), "  0\t6   * * *  ");
  EXPECT_EQ(policy::FormatTime(*schedule.Next(At("2026-03-02T00:00:00Z"), 0)),
            "2026-03-02T06:00:00Z");
}

// --- Names and Sunday ---

TEST(CronScheduleTest, MonthNamesAreCaseInsensitiveAndWorkInRanges) {
  const auto by_name = Fires("0 0 1 jan,Jul *", "2025-12-31T00:00:00Z", "2026-12-31T00:00:00Z");
  EXPECT_THAT(by_name, ElementsAre("2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"));
  EXPECT_EQ(Fires("0 0 1 MAR-may *", "2025-12-31T00:00:00Z", "2026-12-31T00:00:00Z"),
            Fires("0 0 1 3-5 *", "2025-12-31T00:00:00Z", "2026-12-31T00:00:00Z"));
}

TEST(CronScheduleTest, WeekdayNamesAreCaseInsensitiveAndWorkInRanges) {
  // 2026-03-02 is a Monday.
  const auto workdays = Fires("0 9 * * mon-FRI", "2026-03-01T00:00:00Z", "2026-03-08T23:59:59Z");
  EXPECT_EQ(workdays, Fires("0 9 * * 1-5", "2026-03-01T00:00:00Z", "2026-03-08T23:59:59Z"));
  ASSERT_EQ(workdays.size(), 5u);
  EXPECT_EQ(workdays.front(), "2026-03-02T09:00:00Z");
  EXPECT_EQ(workdays.back(), "2026-03-06T09:00:00Z");
  // Sunday closing a named range is the end of the week.
  EXPECT_THAT(Fires("0 9 * * FRI-SUN", "2026-03-01T23:59:59Z", "2026-03-08T23:59:59Z"),
              ElementsAre("2026-03-06T09:00:00Z", "2026-03-07T09:00:00Z", "2026-03-08T09:00:00Z"));
}

TEST(CronScheduleTest, SevenAndZeroAreBothSunday) {
  const std::vector<std::string> sundays = {"2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z",
                                            "2026-03-15T00:00:00Z", "2026-03-22T00:00:00Z",
                                            "2026-03-29T00:00:00Z"};
  for (const char* text : {"0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * 0,7"}) {
    EXPECT_EQ(Fires(text, "2026-02-28T23:59:59Z", "2026-03-31T00:00:00Z"), sundays) << text;
  }
  EXPECT_THAT(Fires("0 0 * * 6-7", "2026-03-01T23:59:59Z", "2026-03-08T23:59:59Z"),
              ElementsAre("2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z"));
}

// --- Day of month / day of week ---

TEST(CronScheduleTest, RestrictedDayOfMonthAndWeekdayFireOnEither) {
  // July 2026: the 1st is a Wednesday; Mondays are 6, 13, 20, 27.
  EXPECT_THAT(Fires("0 0 1 * MON", "2026-06-30T12:00:00Z", "2026-07-31T23:59:59Z"),
              ElementsAre("2026-07-01T00:00:00Z", "2026-07-06T00:00:00Z", "2026-07-13T00:00:00Z",
                          "2026-07-20T00:00:00Z", "2026-07-27T00:00:00Z"));
}

TEST(CronScheduleTest, StarDayFieldMeansTheOtherAloneDecides) {
  EXPECT_THAT(Fires("0 0 1 * *", "2026-06-30T12:00:00Z", "2026-07-31T23:59:59Z"),
              ElementsAre("2026-07-01T00:00:00Z"));
  EXPECT_THAT(Fires("0 0 * * MON", "2026-06-30T12:00:00Z", "2026-07-31T23:59:59Z"),
              ElementsAre("2026-07-06T00:00:00Z", "2026-07-13T00:00:00Z", "2026-07-20T00:00:00Z",
                          "2026-07-27T00:00:00Z"));
}

TEST(CronScheduleTest, MonthStillAppliesToTheDayOrRule) {
  EXPECT_THAT(Fires("0 0 1 7 MON", "2026-01-01T00:00:00Z", "2026-12-31T23:59:59Z"),
              ElementsAre("2026-07-01T00:00:00Z", "2026-07-06T00:00:00Z", "2026-07-13T00:00:00Z",
                          "2026-07-20T00:00:00Z", "2026-07-27T00:00:00Z"));
}

TEST(CronScheduleTest, StepDayOfMonthCountsAsRestricted) {
  // Days 1, 11, 21, 31 or Mondays 6, 13, 20, 27 (not Vixie's "both").
  EXPECT_EQ(Fires("0 0 */10 * MON", "2026-06-30T12:00:00Z", "2026-07-31T23:59:59Z").size(), 8u);
}

// --- UTC offsets ---

TEST(CronScheduleTest, PositiveOffsetFiresEarlierInUtc) {
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T00:00:00Z", "+01:00"), "2026-03-02T05:00:00Z");
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T05:00:00Z", "+01:00"), "2026-03-03T05:00:00Z");
  // Offsets need not be whole hours.
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T00:00:00Z", "+05:45"), "2026-03-02T00:15:00Z");
}

TEST(CronScheduleTest, NegativeOffsetReadsDayAndWeekdayInLocalTime) {
  // 2026-03-02T00:00Z is Sunday 16:00 at -08:00; Monday 20:00 local is Tuesday 04:00Z.
  EXPECT_EQ(NextAfter("0 20 * * MON", "2026-03-02T00:00:00Z", "-08:00"), "2026-03-03T04:00:00Z");
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T00:00:00Z", "-08:00"), "2026-03-02T14:00:00Z");
  // Midnight on the 1st local is 08:00Z on the 1st; at 00:00Z it is still February locally.
  EXPECT_EQ(NextAfter("0 0 1 * *", "2026-03-01T00:00:00Z", "-08:00"), "2026-03-01T08:00:00Z");
  EXPECT_EQ(NextAfter("0 0 1 * *", "2026-03-01T08:00:00Z", "-08:00"), "2026-04-01T08:00:00Z");
}

// --- Calendar edges ---

TEST(CronScheduleTest, DaysPastTheMonthEndAreSkipped) {
  EXPECT_EQ(NextAfter("0 0 31 * *", "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 31 * *", "2026-05-31T00:00:00Z"), "2026-07-31T00:00:00Z");
  EXPECT_EQ(NextAfter("0 12 30 * *", "2026-02-01T00:00:00Z"), "2026-03-30T12:00:00Z");
  EXPECT_EQ(NextAfter("59 23 31 12 *", "2026-01-01T00:00:00Z"), "2026-12-31T23:59:00Z");
}

TEST(CronScheduleTest, LeapDayFiresOnlyInLeapYears) {
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2026-01-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2028-02-29T00:00:00Z"), "2032-02-29T00:00:00Z");
  // 2100 is not a leap year: the gap is 8 years and the schedule still fires.
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2096-03-01T00:00:00Z"), "2104-02-29T00:00:00Z");
}

TEST(CronScheduleTest, ScheduleThatNeverFiresHasNoNextTime) {
  for (const char* text : {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *"}) {
    EXPECT_EQ(NextAfter(text, "2026-01-01T00:00:00Z"), "never") << text;
    EXPECT_THAT(Fires(text, "2026-01-01T00:00:00Z", "2040-01-01T00:00:00Z"), IsEmpty()) << text;
  }
}

TEST(CronScheduleTest, NextIsStrictlyAfterTheGivenTime) {
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T05:59:59Z"), "2026-03-02T06:00:00Z");
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T06:00:00Z"), "2026-03-03T06:00:00Z");
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T06:00:01Z"), "2026-03-03T06:00:00Z");
  EXPECT_EQ(NextAfter("0 6 * * *", "2026-03-02T05:00:00Z", "+01:00"), "2026-03-03T05:00:00Z");
}

TEST(CronScheduleTest, TimesOutsideTheCalendarRangeHaveNoNextTime) {
  const CronSchedule every_minute = Cron("* * * * *");
  EXPECT_FALSE(every_minute.Next(std::numeric_limits<int64_t>::max(), 0).has_value());
  EXPECT_FALSE(every_minute.Next(std::numeric_limits<int64_t>::min(), 0).has_value());
  EXPECT_FALSE(every_minute.Next(std::numeric_limits<int64_t>::max(), -18 * 3600).has_value());
  EXPECT_EQ(NextAfter("* * * * *", "9999-12-31T23:00:00Z"), "9999-12-31T23:01:00Z");
}

// --- Against a minute-by-minute reference ---

TEST(CronScheduleTest, AgreesWithMinuteByMinuteSearch) {
  struct Case {
    const char* text;
    const char* offset;
    std::function<bool(const policy::CivilTime&)> fires;  // on local civil time
  };
  auto weekday = [](const policy::CivilTime& c) { return c.weekday % 7; };  // 0 Sunday
  const std::vector<Case> cases = {
      {"*/7 3-5,22 * * *", "+05:30",
       [](const auto& c) {
         return c.minute % 7 == 0 && ((c.hour >= 3 && c.hour <= 5) || c.hour == 22);
       }},
      {"15 */6 */3 * MON-WED", "-08:00",
       [&](const auto& c) {
         return c.minute == 15 && c.hour % 6 == 0 &&
                ((c.day - 1) % 3 == 0 || (weekday(c) >= 1 && weekday(c) <= 3));
       }},
      {"0 12 29 2 *", "+14:00",
       [](const auto& c) { return c.minute == 0 && c.hour == 12 && c.day == 29 && c.month == 2; }},
      {"59 23 31 * 0", "-03:30",
       [&](const auto& c) {
         return c.minute == 59 && c.hour == 23 && (c.day == 31 || weekday(c) == 0);
       }},
      {"0 0 * jan,3 FRI", "Z",
       [&](const auto& c) {
         return c.minute == 0 && c.hour == 0 && (c.month == 1 || c.month == 3) && weekday(c) == 5;
       }},
  };
  const int64_t after = At("2027-12-15T00:00:00Z");
  const int64_t until = At("2028-04-15T00:00:00Z");
  for (const Case& c : cases) {
    const int32_t offset = Offset(c.offset);
    std::vector<int64_t> expected;
    for (int64_t t = after + 60; t <= until; t += 60) {
      if (c.fires(policy::ToCivil(t, offset))) expected.push_back(t);
    }
    EXPECT_FALSE(expected.empty()) << c.text;
    EXPECT_EQ(Cron(c.text).Between(after, until, offset, 100000), expected) << c.text;
  }
}

// --- Between ---

TEST(CronScheduleTest, BetweenExcludesAfterIncludesUntil) {
  EXPECT_THAT(Fires("*/15 * * * *", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
              ElementsAre("2026-03-02T10:15:00Z", "2026-03-02T10:30:00Z", "2026-03-02T10:45:00Z",
                          "2026-03-02T11:00:00Z"));
}

TEST(CronScheduleTest, BetweenReturnsTheEarliestUpToTheLimit) {
  EXPECT_THAT(Fires("*/15 * * * *", "2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z", "Z", 3),
              ElementsAre("2026-03-02T10:15:00Z", "2026-03-02T10:30:00Z", "2026-03-02T10:45:00Z"));
  EXPECT_THAT(Fires("*/15 * * * *", "2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z", "Z", 0),
              IsEmpty());
  // A year of missed minutes is cut at the limit, not enumerated.
  EXPECT_EQ(Fires("* * * * *", "2025-03-02T10:00:00Z", "2026-03-02T10:00:00Z", "Z", 5).size(), 5u);
}

TEST(CronScheduleTest, BetweenIsEmptyWhenUntilIsNotAfterAfter) {
  EXPECT_THAT(Fires("* * * * *", "2026-03-02T10:00:00Z", "2026-03-02T10:00:00Z"), IsEmpty());
  EXPECT_THAT(Fires("* * * * *", "2026-03-02T10:00:00Z", "2026-03-02T09:00:00Z"), IsEmpty());
}

// --- Efficiency ---

TEST(CronScheduleTest, NextSkipsDaysAndMonthsInsteadOfMinutes) {
  // Minute-by-minute search would need ~2 million steps per call here.
  const CronSchedule leap_day = Cron("0 0 29 2 *");
  const int64_t base = At("2026-01-01T00:00:00Z");
  const auto start = std::chrono::steady_clock::now();
  int64_t fired = 0;
  auto elapsed = std::chrono::steady_clock::now() - start;
  int64_t calls = 0;
  // Stops early once over budget so a slow implementation fails instead of hanging.
  for (; calls < 10000 && elapsed < std::chrono::seconds(2); ++calls) {
    fired += leap_day.Next(base + calls * 3 * 86400, 0).has_value();
    elapsed = std::chrono::steady_clock::now() - start;
  }
  EXPECT_EQ(calls, 10000);
  EXPECT_EQ(fired, calls);
  EXPECT_LT(elapsed, std::chrono::seconds(1));
}

// --- Malformed input ---

TEST(CronScheduleTest, MalformedExpressionsNameTheFieldAndTheProblem) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
      {"* * * *", "got 4"},
      {"* * * * * *", "got 6"},
      {"@daily", "got 1"},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"0 24 * * *", "hour: 24 is out of range 0-23"},
      {"0 0 0 * *", "day-of-month: 0 is out of range 1-31"},
      {"0 0 32 * *", "day-of-month: 32 is out of range 1-31"},
      {"0 0 * 0 *", "month: 0 is out of range 1-12"},
      {"0 0 * 13 *", "month: 13 is out of range 1-12"},
      {"0 0 * * 8", "day-of-week: 8 is out of range 0-7"},
      {"99999999999999999999 * * * *", "minute: 99999999999999999999 is out of range 0-59"},
      {"1,,2 * * * *", "minute: empty item in '1,,2'"},
      {",1 * * * *", "minute: empty item"},
      {"0 1, * * *", "hour: empty item"},
      {"*/0 * * * *", "minute: step 0 in '*/0' must be at least 1"},
      {"0 0 1-31/0 * *", "day-of-month: step 0"},
      {"*/60 * * * *", "minute: step 60 in '*/60' is out of range 1-59"},
      {"*/99999999999999999999 * * * *", "minute: step 99999999999999999999"},
      {"30-10 * * * *", "minute: range '30-10' is reversed"},
      {"0 0 * DEC-JAN *", "month: range 'DEC-JAN' is reversed"},
      {"0 0 * * SAT-MON", "day-of-week: range 'SAT-MON' is reversed"},
      {"5/15 * * * *", "minute: the step in '5/15' needs '*' or a range a-b"},
      {"*/5/2 * * * *", "minute: '*/5/2' has more than one '/'"},
      {"*/x * * * *", "minute: step 'x' in '*/x' is not a number"},
      {"0 0 * * */", "day-of-week: step '' in '*/' is not a number"},
      {"x * * * *", "minute: 'x' is not a number"},
      {"+5 * * * *", "minute: '+5' is not a number"},
      {"1.5 * * * *", "minute: '1.5' is not a number"},
      {"-5 * * * *", "minute: '-5' is not a number or range"},
      {"5- * * * *", "minute: '5-' is not a number or range"},
      {"1-2-3 * * * *", "minute: '2-3' is not a number"},
      {"*-5 * * * *", "minute: '*' is not a number"},
      {"0 MON * * *", "hour: 'MON' is not a number"},
      {"0 0 * FOO *", "month: 'FOO' is not a number or month name (JAN-DEC)"},
      {"0 0 * * MONDAY", "day-of-week: 'MONDAY' is not a number or weekday name (SUN-SAT)"},
      {"0 0 * * 1\n", "day-of-week: '1\\x0a' is not a number"},
  };
  for (const Case& c : cases) {
    const Result<CronSchedule> schedule = CronSchedule::Parse(c.text);
    ASSERT_FALSE(schedule.ok()) << "'" << c.text << "' was accepted";
    EXPECT_EQ(schedule.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(schedule.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(CronScheduleTest, ExpressionsLongerThan256CharactersAreRefused) {
  std::string minutes = "0";
  for (int i = 0; i < 123; ++i) minutes += ",0";
  const std::string longest = " " + minutes + " * * * *";
  ASSERT_EQ(longest.size(), 256u);
  EXPECT_TRUE(CronSchedule::Parse(longest).ok());
  const Result<CronSchedule> too_long = CronSchedule::Parse(" " + longest);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), HasSubstr("257 characters, at most 256"));
}

}  // namespace
}  // namespace cloister::runtime
