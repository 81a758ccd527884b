#pragma once
// Calendar text of epoch times, in UTC, to the millisecond: the one place that turns seconds
// since 1970 into dates. Milliseconds are rounded to nearest (999.5 ms carries into the next
// second); times before 1970 are fine. Also the one reading of the wall clock.

#include <cstdint>
#include <string>

namespace tw::util {

// The fields of an epoch time in UTC, after rounding to the millisecond.
struct UtcFields {
  int year, month, day;  // month 1-12, day 1-31
  int hour, minute, second, ms;
};
UtcFields ToUtc(double epoch_s);

// "2026-11-28T21:26:31.123Z" (ISO 8601): events, evidence headers, series CSV.
std::string IsoTime(double epoch_s);

// Text for people: "2026-11-28 21:26:31.123 +00:00", "2026-11-28 21:26:31 +00:00" or, for
// table cells, "2026-11-28 21:26:31.123".
enum class UtcStyle { kMillis, kSeconds, kMillisNoOffset };
std::string UtcText(double epoch_s, UtcStyle style = UtcStyle::kMillis);

// Epoch seconds of the first of month `month_index`, counted from January of year 0 (year * 12
// + month - 1), at midnight UTC.
double MonthStartUtc(int64_t month_index);

// Nanoseconds since 1970 by the system's wall clock (CLOCK_REALTIME: it steps when the clock is
// set). For times that are shown or written; durations measured in-process want a steady clock.
int64_t WallClockNs();

}  // namespace tw::util
