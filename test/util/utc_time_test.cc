#include "util/utc_time.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tw::util {
namespace {

TEST(UtcTimeTest, IsoTimeIsUtcWithMilliseconds) {
  EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTime(1700000000.25), "2023-11-14T22:13:20.250Z");
}

TEST(UtcTimeTest, RoundingCarriesIntoTheNextSecondMinuteAndYear) {
  EXPECT_EQ(IsoTime(1700000000.9996), "2023-11-14T22:13:21.000Z");
  EXPECT_EQ(IsoTime(1704067199.9997), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTime(1704067199.9994), "2023-12-31T23:59:59.999Z");
}

TEST(UtcTimeTest, TimesBefore1970CountBackwards) {
  EXPECT_EQ(IsoTime(-0.5), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(IsoTime(-86400), "1969-12-31T00:00:00.000Z");
}

TEST(UtcTimeTest, TextForPeopleInEachStyle) {
  EXPECT_EQ(UtcText(1700000000.25), "2023-11-14 22:13:20.250 +00:00");
  EXPECT_EQ(UtcText(1700000000.25, UtcStyle::kSeconds), "2023-11-14 22:13:20 +00:00");
  EXPECT_EQ(UtcText(1700000000.25, UtcStyle::kMillisNoOffset), "2023-11-14 22:13:20.250");
}

TEST(UtcTimeTest, FieldsAndMonthStartsAgree) {
  const UtcFields u = ToUtc(1709251200);  // 2024-03-01, after a leap day
  EXPECT_EQ(u.year, 2024);
  EXPECT_EQ(u.month, 3);
  EXPECT_EQ(u.day, 1);
  EXPECT_EQ(MonthStartUtc(2024 * 12 + 2), 1709251200.0);
  EXPECT_EQ(MonthStartUtc(1970 * 12), 0.0);
  EXPECT_EQ(MonthStartUtc(1969 * 12 + 11), -31 * 86400.0);
}

TEST(UtcTimeTest, WallClockIsNanosecondsSince1970) {
  const auto since_epoch = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = since_epoch();
  const int64_t now = WallClockNs();
  const int64_t after = since_epoch();
  EXPECT_GT(now, int64_t(1'600'000'000) * 1'000'000'000);  // after September 2020
  // The system clock of the standard library, with a second of slack for the clock being set.
  EXPECT_GE(now, before - 1'000'000'000);
  EXPECT_LE(now, after + 1'000'000'000);
}

}  // namespace
}  // namespace tw::util
