// ParseRfc3339: every offset, fractions, calendar edges, and what it refuses.
#include <gtest/gtest.h>

#include "appliance/core/clock.h"

namespace cloister {
namespace {

std::string Utc(std::string_view text) {
  const auto t = ParseRfc3339(text);
  return t ? FormatTimestamp(*t) : "(refused)";
}

TEST(ParseRfc3339Test, OffsetsAreInstantsNotText) {
  // The same instant in four spellings.
  EXPECT_EQ(Utc("2026-12-02T00:30:00Z"), "2026-12-02T00:30:00.000000Z");
  EXPECT_EQ(Utc("2026-12-02T01:30:00+01:00"), "2026-12-02T00:30:00.000000Z");
  EXPECT_EQ(Utc("2026-12-01T19:00:00-05:30"), "2026-12-02T00:30:00.000000Z");
  EXPECT_EQ(Utc("2026-12-02t00:30:00z"), "2026-12-02T00:30:00.000000Z");
  // The offset moves the date across midnight, month and year ends.
  EXPECT_EQ(Utc("2027-01-01T00:15:00+01:00"), "2026-12-31T23:15:00.000000Z");
  EXPECT_EQ(Utc("2026-12-31T23:00:00-05:30"), "2027-01-01T04:30:00.000000Z");
  EXPECT_EQ(Utc("2026-01-01T00:00:00+00:00"), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(Utc("2026-01-01T00:00:00-00:00"), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(Utc("2026-06-15T12:00:00+14:00"), Utc("2026-06-14T22:00:00Z"));
}

TEST(ParseRfc3339Test, FractionsAreOptionalUpToNanoseconds) {
  EXPECT_EQ(Utc("2026-12-02T00:30:00.5Z"), "2026-12-02T00:30:00.500000Z");
  EXPECT_EQ(Utc("2026-12-02T00:30:00.123456Z"), "2026-12-02T00:30:00.123456Z");
  EXPECT_EQ(Utc("2026-12-02T01:30:00.000001+01:00"), "2026-12-02T00:30:00.000001Z");
  const auto nanos = ParseRfc3339("2026-12-02T00:30:00.123456789Z");
  ASSERT_TRUE(nanos);
  EXPECT_EQ(*nanos - *ParseRfc3339("2026-12-02T00:30:00Z"), std::chrono::nanoseconds(123456789));
  EXPECT_EQ(Utc("2026-12-02T00:30:00.Z"), "(refused)");
  EXPECT_EQ(Utc("2026-12-02T00:30:00.1234567890Z"), "(refused)");
}

TEST(ParseRfc3339Test, LeapDaysExistOnlyInLeapYears) {
  EXPECT_EQ(Utc("2028-02-29T12:00:00Z"), "2028-02-29T12:00:00.000000Z");
  EXPECT_EQ(Utc("2000-02-29T12:00:00Z"), "2000-02-29T12:00:00.000000Z");
  EXPECT_EQ(Utc("2026-02-29T12:00:00Z"), "(refused)");
  EXPECT_EQ(Utc("2100-02-29T12:00:00Z"), "(refused)");
  EXPECT_EQ(Utc("2028-02-29T23:30:00-01:00"), "2028-03-01T00:30:00.000000Z");
}

TEST(ParseRfc3339Test, RefusesWhatIsNotAnRfc3339DateTime) {
  for (const char* bad : {
           "yesterday", "", "now", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z",
           "2026-12-00T00:00:00Z", "2026-12-02 01:30", "2026-12-02 01:30:00Z", "2026-12-02T01:30:00",
           "2026-12-02T01:30", "2026-12-02", "2026-12-02T24:00:00Z", "2026-12-02T23:60:00Z",
           "2026-12-02T23:59:60Z", "2026-12-02T01:30:00+0100", "2026-12-02T01:30:00+01", "2026-12-02T01:30:00+24:00",
           "2026-12-02T01:30:00+01:60", "2026-12-02T01:30:00 01:00", "2026-12-02T01:30:00Z ", " 2026-12-02T01:30:00Z",
           "2026-12-02T01:30:00ZZ", "2026-12-02T01:30:00UTC", "+2026-12-02T01:30:00Z", "26-12-02T01:30:00Z",
           "2026-1-02T01:30:00Z", "0000-01-01T00:00:00Z", "２０２６-12-02T01:30:00Z", "1764635400",
           "2026-12-02T01:30:00+01:00\n"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
  EXPECT_FALSE(ParseRfc3339(std::string_view("2026-12-02T01:30:00Z\0", 21)));
}

TEST(ParseRfc3339Test, InstantsBeyondTheClockSaturateAndStillCompare) {
  const auto far = ParseRfc3339("9999-12-31T23:59:59Z");
  ASSERT_TRUE(far);
  EXPECT_EQ(*far, std::chrono::system_clock::time_point::max());
  EXPECT_GT(FormatTimestamp(*far), "2200-01-01T00:00:00.000000Z");
  const auto early = ParseRfc3339("0001-01-01T00:00:00Z");
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, std::chrono::system_clock::time_point::min());
}

}  // namespace
}  // namespace cloister
