#include "util/utc_time.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace tw::util {

UtcFields ToUtc(double epoch_s) {
  double whole = std::floor(epoch_s);
  int ms = int(std::lround((epoch_s - whole) * 1000.0));
  if (ms >= 1000) ms -= 1000, whole += 1;
  const time_t t = time_t(whole);
  struct tm tm;
  gmtime_r(&t, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms};
}

std::string IsoTime(double epoch_s) {
  const UtcFields u = ToUtc(epoch_s);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.year, u.month, u.day,
                u.hour, u.minute, u.second, u.ms);
  return buf;
}

std::string UtcText(double epoch_s, UtcStyle style) {
  const UtcFields u = ToUtc(epoch_s);
  char buf[64];
  switch (style) {
    case UtcStyle::kSeconds:
      std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d +00:00", u.year, u.month,
                    u.day, u.hour, u.minute, u.second);
      break;
    case UtcStyle::kMillis:
    case UtcStyle::kMillisNoOffset:
      std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03d%s", u.year, u.month,
                    u.day, u.hour, u.minute, u.second, u.ms,
                    style == UtcStyle::kMillis ? " +00:00" : "");
      break;
  }
  return buf;
}

double MonthStartUtc(int64_t month_index) {
  struct tm tm = {};
  tm.tm_year = int(month_index / 12) - 1900;
  tm.tm_mon = int(month_index % 12);
  tm.tm_mday = 1;
  return double(timegm(&tm));
}

int64_t WallClockNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace tw::util
