#include "capture/rtt_tracker.h"

#include <gtest/gtest.h>

namespace tw::capture {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(RttTrackerTest, TimestampEchoGivesOneSamplePerRoundTrip) {
  RttTracker t;
  t.OnLocal(1000 * kMs, true, /*ts_val=*/500, 0, 0, false);             // an ACK leaves
  t.OnLocal(1001 * kMs, true, 500, 0, 0, false);                        // same tick: keeps 1000
  EXPECT_EQ(t.OnRemote(1030 * kMs, true, /*ts_ecr=*/499, 0, true), 0);  // older echo
  EXPECT_EQ(t.OnRemote(1080 * kMs, true, 500, 0, true), 80 * kMs);
  EXPECT_EQ(t.OnRemote(1081 * kMs, true, 500, 0, true), 0);  // already answered
}

TEST(RttTrackerTest, AnEchoOfALaterTsvalMeasuresNothing) {
  // A paced sender echoes the newest TSval it has seen. When that is not the one being timed,
  // timing from ours would add the time between the two: no sample, start afresh.
  RttTracker t;
  t.OnLocal(0, true, 10, 0, 0, false);
  t.OnLocal(20 * kMs, true, 11, 0, 0, false);
  EXPECT_EQ(t.OnRemote(52 * kMs, true, 11, 0, true), 0);
  t.OnLocal(60 * kMs, true, 12, 0, 0, false);
  EXPECT_EQ(t.OnRemote(75 * kMs, true, 12, 0, true), 15 * kMs);
}

TEST(RttTrackerTest, DataToAckWithoutTimestampsAndKarnsRule) {
  RttTracker t;
  t.OnLocal(0, false, 0, /*end_seq=*/2448, 1448, false);
  t.OnLocal(5 * kMs, false, 0, 3896, 1448, false);  // one sample at a time
  EXPECT_EQ(t.OnRemote(40 * kMs, false, 0, /*ack=*/1000, true), 0);
  EXPECT_EQ(t.OnRemote(50 * kMs, false, 0, 2448, true), 50 * kMs);
  t.OnLocal(60 * kMs, false, 0, 5344, 1448, false);
  t.OnLocal(70 * kMs, false, 0, 5344, 1448, true);  // retransmitted: ambiguous
  EXPECT_EQ(t.OnRemote(90 * kMs, false, 0, 5344, true), 0);
}

TEST(RttTrackerTest, PureAcksWithoutTimestampsStartNothing) {
  RttTracker t;
  t.OnLocal(0, false, 0, 1, 0, false);
  EXPECT_EQ(t.OnRemote(10 * kMs, false, 0, 1, true), 0);
}

TEST(RttTrackerTest, StalePendingSampleIsDropped) {
  RttTracker t;
  t.OnLocal(0, true, 7, 0, 0, false);
  t.OnLocal(61'000 * kMs, true, 7, 0, 0, false);  // same TSval a minute later: no new sample
  EXPECT_EQ(t.OnRemote(61'010 * kMs, true, 7, 0, true), 0);
  t.OnLocal(62'000 * kMs, false, 0, 100, 100, false);  // back to no timestamps: still ignored
  EXPECT_EQ(t.OnRemote(62'010 * kMs, false, 0, 100, true), 0);
}

TEST(RttTrackerTest, EchoAfterLongSilenceIsNotAnHourLongRtt) {
  // Regression: a pending sample was answered by an echo an hour later (a crafted TSecr, or a
  // capture that jumped ahead) and read as a 3600 s round trip.
  RttTracker t;
  t.OnLocal(0, true, 7, 0, 0, false);
  EXPECT_EQ(t.OnRemote(3'600'000 * kMs, true, 7, 0, true), 0);
  EXPECT_EQ(t.OnRemote(3'600'010 * kMs, true, 7, 0, true), 0);
}

TEST(RttTrackerTest, BackwardsTimeAndWrappedTimestampsGiveNoNegativeOrHugeSamples) {
  RttTracker t;
  t.OnLocal(1000 * kMs, true, 0xfffffff0u, 0, 0, false);
  EXPECT_EQ(t.OnRemote(900 * kMs, true, 0xfffffff0u, 0, true), 0);  // time went backwards
  t.OnLocal(1000 * kMs, true, 0xfffffffeu, 0, 0, false);
  // An echo of a later value past 2^32 is "after" the awaited TSval: it ends the sample, but
  // measures nothing (only an exact echo does).
  EXPECT_EQ(t.OnRemote(1040 * kMs, true, 3, 0, true), 0);
  t.OnLocal(1100 * kMs, true, 4, 0, 0, false);
  EXPECT_EQ(t.OnRemote(1140 * kMs, true, 4, 0, true), 40 * kMs);
  t.OnLocal(2000 * kMs, true, 10, 0, 0, false);
  // An echo half the number space away is "before", not after: no sample.
  EXPECT_EQ(t.OnRemote(2040 * kMs, true, 10u + 0x80000000u, 0, true), 0);
}

}  // namespace
}  // namespace tw::capture
