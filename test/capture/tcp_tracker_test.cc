#include "capture/tcp_tracker.h"

#include <gtest/gtest.h>

namespace tw::capture {
namespace {

TEST(TcpSequenceTrackerTest, CountsRepeatedBytes) {
  TcpSequenceTracker t;
  t.OnSyn(1000);
  EXPECT_EQ(t.OnSegment(1001, 100), 0u);
  EXPECT_EQ(t.OnSegment(1101, 100), 0u);
  EXPECT_EQ(t.OnSegment(1001, 100), 100u);  // full retransmission
  EXPECT_EQ(t.OnSegment(1151, 100), 50u);   // partial overlap with what was sent
  EXPECT_EQ(t.OnSegment(1251, 0), 0u);      // pure ACK
}

TEST(TcpSequenceTrackerTest, WrapsAroundSequenceSpace) {
  TcpSequenceTracker t;
  t.OnSyn(0xffffff00u);
  EXPECT_EQ(t.OnSegment(0xffffff01u, 0x200), 0u);  // crosses 2^32
  EXPECT_EQ(t.OnSegment(0x101u, 100), 0u);
  EXPECT_EQ(t.OnSegment(0xffffff01u, 0x100), 0x100u);
}

TEST(TcpSequenceTrackerTest, MidStreamStartAndWildJumpsResync) {
  TcpSequenceTracker t;
  EXPECT_EQ(t.OnSegment(5000, 100), 0u);  // no SYN seen: first segment defines the edge
  EXPECT_EQ(t.OnSegment(5000, 100), 100u);
  EXPECT_EQ(t.OnSegment(5000 + 0x70000000u, 100), 0u);  // implausible jump: resync
  EXPECT_EQ(t.OnSegment(5100 + 0x70000000u, 100), 0u);
}

}  // namespace
}  // namespace tw::capture
