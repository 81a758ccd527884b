#include "capture/fragment_table.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "capture/ip_proto.h"

namespace tw::capture {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// A first fragment as Decode() leaves it: a UDP flow, its ports, the datagram's key.
DecodedPacket First(uint32_t key) {
  DecodedPacket d;
  d.ip_version = 4;
  d.ip_proto = kIpProtoUdp;
  d.src = *Address::Parse("10.0.0.2");
  d.dst = *Address::Parse("192.0.2.1");
  d.src_port = 4500;
  d.dst_port = 500;
  d.fragment = true;
  d.frag_key = key;
  EXPECT_TRUE(d.tunnels.Push(Tunnel::kGre));
  return d;
}

// A later fragment: addresses and protocol of the fragmented header, no ports.
DecodedPacket Later(uint32_t key) {
  DecodedPacket d;
  d.ip_version = 4;
  d.ip_proto = 47;  // GRE: the outer header's, as a fragmented tunnel packet has it
  d.ip_len = 548;
  d.payload_len = 528;
  d.frag_key = key;
  return d;
}

TEST(FragmentTableTest, LaterFragmentsJoinTheirFirstFragmentsFlow) {
  FragmentTable t;
  DecodedPacket first = First(0x1235);
  EXPECT_EQ(t.Resolve(0, DecodeStatus::kOk, &first), DecodeStatus::kOk);
  for (int i = 0; i < 3; ++i) {  // every later fragment, not just the first to come
    DecodedPacket later = Later(0x1235);
    ASSERT_EQ(t.Resolve(kSecond, DecodeStatus::kFragment, &later), DecodeStatus::kOk);
    EXPECT_TRUE(later.later_fragment);
    EXPECT_EQ(later.src, first.src);
    EXPECT_EQ(later.dst, first.dst);
    EXPECT_EQ(later.ip_proto, kIpProtoUdp);
    EXPECT_EQ(later.src_port, 4500);
    EXPECT_EQ(later.dst_port, 500);
    EXPECT_EQ(later.tunnels, first.tunnels);
    EXPECT_EQ(later.ip_len, 548u);  // its own bytes
    EXPECT_EQ(later.payload_len, 528u);
  }
  EXPECT_EQ(t.resolved(), 3u);
}

TEST(FragmentTableTest, UnknownEarlyAndStaleFragmentsStayFragments) {
  FragmentTable t;
  DecodedPacket early = Later(0x77);  // before its first fragment: not counted
  EXPECT_EQ(t.Resolve(0, DecodeStatus::kFragment, &early), DecodeStatus::kFragment);
  EXPECT_FALSE(early.later_fragment);
  DecodedPacket first = First(0x77);
  t.Resolve(kSecond, DecodeStatus::kOk, &first);
  DecodedPacket stale = Later(0x77);
  EXPECT_EQ(t.Resolve(kSecond + FragmentTable::kTimeoutNs + 1, DecodeStatus::kFragment, &stale),
            DecodeStatus::kFragment);
  DecodedPacket other = Later(0x78);
  EXPECT_EQ(t.Resolve(kSecond, DecodeStatus::kFragment, &other), DecodeStatus::kFragment);
  // Statuses other than kOk and kFragment, and packets without a key, pass through.
  DecodedPacket plain;
  EXPECT_EQ(t.Resolve(0, DecodeStatus::kTruncated, &plain), DecodeStatus::kTruncated);
  EXPECT_EQ(t.Resolve(0, DecodeStatus::kOk, &plain), DecodeStatus::kOk);
}

TEST(FragmentTableTest, ANewDatagramTakesTheSlotOfAnOldOne) {
  FragmentTable t;
  DecodedPacket a = First(0x10), b = First(0x10 + FragmentTable::kCapacity);  // one slot
  b.dst_port = 4501;
  t.Resolve(0, DecodeStatus::kOk, &a);
  t.Resolve(0, DecodeStatus::kOk, &b);
  DecodedPacket of_a = Later(0x10), of_b = Later(0x10 + FragmentTable::kCapacity);
  EXPECT_EQ(t.Resolve(0, DecodeStatus::kFragment, &of_a), DecodeStatus::kFragment);
  ASSERT_EQ(t.Resolve(0, DecodeStatus::kFragment, &of_b), DecodeStatus::kOk);
  EXPECT_EQ(of_b.dst_port, 4501);
}

}  // namespace
}  // namespace tw::capture
