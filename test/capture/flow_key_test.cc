#include "capture/flow_key.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

#include "capture/ip_proto.h"
#include "test/support/decoded_packet.h"

namespace tw::capture {
namespace {

using testing::Packet;

TEST(FlowKeyTest, BothDirectionsMapToOneKey) {
  bool fwd_a = false, rev_a = false;
  const FlowKey fwd = MakeFlowKey(Packet("10.0.0.2", 40000, "192.0.2.7", 443), &fwd_a);
  const FlowKey rev = MakeFlowKey(Packet("192.0.2.7", 443, "10.0.0.2", 40000), &rev_a);
  EXPECT_EQ(fwd, rev);
  EXPECT_EQ(HashFlowKey(fwd), HashFlowKey(rev));
  EXPECT_NE(fwd_a, rev_a);  // exactly one direction travels a -> b
}

TEST(FlowKeyTest, SameAddressesDifferentPortsDiffer) {
  bool a = false;
  const FlowKey k1 = MakeFlowKey(Packet("10.0.0.2", 40000, "10.0.0.2", 40001), &a);
  const FlowKey k2 = MakeFlowKey(Packet("10.0.0.2", 40001, "10.0.0.2", 40000), &a);
  EXPECT_EQ(k1, k2);  // a connection to oneself is still one flow
  const FlowKey k3 = MakeFlowKey(Packet("10.0.0.2", 40002, "10.0.0.2", 40000), &a);
  EXPECT_FALSE(k1 == k3);
}

TEST(FlowKeyTest, ProtocolIsPartOfTheKey) {
  bool a = false;
  DecodedPacket udp = Packet("10.0.0.2", 53, "10.0.0.3", 53);
  udp.ip_proto = capture::kIpProtoUdp;
  EXPECT_FALSE(MakeFlowKey(udp, &a) == MakeFlowKey(Packet("10.0.0.2", 53, "10.0.0.3", 53), &a));
}

TEST(FlowKeyTest, IcmpKeysOnAddressesOnly) {
  bool a = false;
  DecodedPacket req = Packet("10.0.0.2", 8, "10.0.0.3", 0);  // type 8 code 0
  req.ip_proto = capture::kIpProtoIcmp;
  DecodedPacket rep = Packet("10.0.0.3", 0, "10.0.0.2", 0);  // type 0 code 0
  rep.ip_proto = capture::kIpProtoIcmp;
  EXPECT_EQ(MakeFlowKey(req, &a), MakeFlowKey(rep, &a));
}

TEST(FlowKeyTest, HashSpreadsSimilarKeys) {
  // Keys that differ only in the low bits of one port must land in different buckets.
  std::unordered_set<uint64_t> buckets;
  bool a = false;
  for (uint16_t port = 1000; port < 1000 + 4096; ++port) {
    buckets.insert(HashFlowKey(MakeFlowKey(Packet("10.0.0.2", port, "192.0.2.1", 80), &a)) & 4095);
  }
  // A uniform hash fills about 63% of 4096 buckets with 4096 keys.
  EXPECT_GT(buckets.size(), 2400u);
}

}  // namespace
}  // namespace tw::capture
