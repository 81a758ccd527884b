#include "detector/daemon/process_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>

namespace tw::detector {
namespace {

// A /proc/self/stat line of a process whose name holds a space and parentheses.
constexpr const char* kStat =
    "4242 (tw (live) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 3 0 "
    "1000 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";

TEST(ProcessStatsTest, ParsesTheFieldsAfterTheLastParenthesis) {
  ProcessStats s;
  ASSERT_TRUE(ParseProcSelfStat(kStat, 100, 4096, 1.7e9, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 3.0);  // (250 + 50) ticks at 100 per second
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1.7e9 + 10);
  EXPECT_DOUBLE_EQ(s.virtual_bytes, 123456789);
  EXPECT_DOUBLE_EQ(s.resident_bytes, 2048.0 * 4096);
}

TEST(ProcessStatsTest, RefusesWhatIsNoStatLine) {
  ProcessStats s;
  EXPECT_FALSE(ParseProcSelfStat("", 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcSelfStat("4242 (name) S 1 2 3", 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcSelfStat(
      "4242 name S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21", 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcSelfStat(kStat, 0, 4096, 0, &s));
}

TEST(ProcessStatsTest, BootTimeAndMaxOpenFiles) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1764300000\nprocesses 9\n"), 1764300000.0);
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\n"), std::nullopt);
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n";
  EXPECT_EQ(ParseMaxOpenFiles(limits), 1024.0);
  EXPECT_EQ(ParseMaxOpenFiles("Max open files            unlimited   unlimited   files\n"),
            std::nullopt);
  EXPECT_EQ(ParseMaxOpenFiles(""), std::nullopt);
}

// This process, read from /proc: plausible values in every field.
TEST(ProcessStatsTest, ReadsThisProcess) {
  const ProcessStats s = ReadProcessStats();
  EXPECT_GT(s.resident_bytes, 0);
  EXPECT_GE(s.virtual_bytes, s.resident_bytes);
  EXPECT_GE(s.open_fds, 3);  // standard input, output and error at least
  EXPECT_GE(s.max_fds, s.open_fds);
  EXPECT_GE(s.cpu_seconds, 0);
  const double now = double(std::time(nullptr));
  EXPECT_LE(s.start_time_seconds, now + 1);
  EXPECT_GT(s.start_time_seconds, now - 24 * 3600);  // a test process started today
}

}  // namespace
}  // namespace tw::detector
