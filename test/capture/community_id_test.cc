#include "capture/community_id.h"

#include <gtest/gtest.h>

#include <string>

#include "capture/decode.h"
#include "capture/flow_key.h"
#include "capture/ip_proto.h"
#include "test/support/decoded_packet.h"

namespace tw::capture {
namespace {

// Expected values are published test vectors, quoted verbatim:
//  - "spec": the Community ID specification repository (corelight/community-id-spec),
//    baseline/baseline_deflt.json (seed 0) and baseline/baseline_seed1.json (seed 1), computed
//    by its reference script from the repository's pcaps. Its ICMP rows list the mapped ports;
//    the type and code below are the packets' own (paired types carry code 0).
//  - "zeek": Zeek's btest of its community_id_v1() built-in function (seeds 0 and 1).

std::string Id(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t proto,
               uint16_t seed = 0) {
  return CommunityId(*Address::Parse(src), *Address::Parse(dst), sport, dport, proto, seed);
}

constexpr uint8_t kSctp = 132, kRsvp = 46;

TEST(CommunityIdTest, TcpV4BothDirections) {
  const std::string want = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";  // spec
  EXPECT_EQ(Id("128.232.110.120", "66.35.250.204", 34855, 80, kIpProtoTcp), want);
  EXPECT_EQ(Id("66.35.250.204", "128.232.110.120", 80, 34855, kIpProtoTcp), want);
  EXPECT_EQ(Id("1.2.3.4", "5.6.7.8", 1122, 3344, kIpProtoTcp), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
  EXPECT_EQ(Id("5.6.7.8", "1.2.3.4", 3344, 1122, kIpProtoTcp), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
}

TEST(CommunityIdTest, UdpV4BothDirections) {
  const std::string want = "1:d/FP5EW3wiY1vCndhwleRRKHowQ=";  // spec
  EXPECT_EQ(Id("192.168.1.52", "8.8.8.8", 54585, 53, kIpProtoUdp), want);
  EXPECT_EQ(Id("8.8.8.8", "192.168.1.52", 53, 54585, kIpProtoUdp), want);
  EXPECT_EQ(Id("1.2.3.4", "5.6.7.8", 1122, 3344, kIpProtoUdp),  // zeek
            "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
}

TEST(CommunityIdTest, TcpV6BothDirections) {
  const char* a = "2001:470:e5bf:dead:4957:2174:e82c:4887";
  const char* b = "2607:f8b0:400c:c03::1a";
  const std::string want = "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=";  // spec
  EXPECT_EQ(Id(a, b, 63943, 25, kIpProtoTcp), want);
  EXPECT_EQ(Id(b, a, 25, 63943, kIpProtoTcp), want);
}

TEST(CommunityIdTest, SctpHashesItsPorts) {
  const std::string want = "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=";  // spec
  EXPECT_EQ(Id("192.168.170.8", "192.168.170.56", 7, 7, kSctp), want);
  EXPECT_EQ(Id("192.168.170.56", "192.168.170.8", 7, 7, kSctp), want);
}

TEST(CommunityIdTest, ProtocolWithoutPortsIgnoresThem) {
  const std::string want = "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=";  // spec, RSVP
  EXPECT_EQ(Id("10.1.12.1", "10.1.12.2", 0, 0, kRsvp), want);
  EXPECT_EQ(Id("10.1.12.2", "10.1.12.1", 0, 0, kRsvp), want);
  EXPECT_EQ(Id("10.1.12.1", "10.1.12.2", 1234, 80, kRsvp), want);
}

TEST(CommunityIdTest, IcmpV4RequestAndReplyShareAnId) {
  const std::string want = "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=";               // spec
  EXPECT_EQ(Id("192.168.0.89", "192.168.0.1", 8, 0, kIpProtoIcmp), want);  // echo request
  EXPECT_EQ(Id("192.168.0.1", "192.168.0.89", 0, 0, kIpProtoIcmp), want);  // echo reply
  EXPECT_EQ(Id("1.2.3.4", "5.6.7.8", 8, 0, kIpProtoIcmp), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
}

TEST(CommunityIdTest, IcmpV4OneWayTypeHashesTheCodeInThePacketsDirection) {
  const std::string want = "1:YHxtAirCG//0OzkcVAukqKQN9xM=";  // spec, time exceeded
  EXPECT_EQ(Id("10.0.0.1", "10.0.0.2", 11, 0, kIpProtoIcmp), want);
  // Zeek keeps a one-way message's direction: the reverse is another ID.
  EXPECT_NE(Id("10.0.0.2", "10.0.0.1", 11, 0, kIpProtoIcmp), want);
  EXPECT_NE(Id("10.0.0.1", "10.0.0.2", 11, 1, kIpProtoIcmp), want);
}

TEST(CommunityIdTest, Icmpv6PairedTypes) {
  const char* x = "fe80::200:86ff:fe05:80da";
  const char* y = "fe80::260:97ff:fe07:69ea";
  // spec: neighbor solicitation and its advertisement, each way round
  EXPECT_EQ(Id(x, y, 135, 0, kIpProtoIcmpv6), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
  EXPECT_EQ(Id(y, x, 136, 0, kIpProtoIcmpv6), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
  EXPECT_EQ(Id(y, x, 135, 0, kIpProtoIcmpv6), "1:zavyT/cezQr1fmImYCwYnMXbgck=");
  EXPECT_EQ(Id(x, y, 136, 0, kIpProtoIcmpv6), "1:zavyT/cezQr1fmImYCwYnMXbgck=");
  // spec: echo request and reply
  const char* h = "3ffe:507:0:1:200:86ff:fe05:80da";
  const char* r = "3ffe:501:0:1001::2";
  EXPECT_EQ(Id(h, r, 128, 0, kIpProtoIcmpv6), "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
  EXPECT_EQ(Id(r, h, 129, 0, kIpProtoIcmpv6), "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
  // spec: router solicitation and advertisement to multicast groups
  EXPECT_EQ(Id(x, "ff02::2", 133, 0, kIpProtoIcmpv6), "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=");
  EXPECT_EQ(Id(y, "ff02::1", 134, 0, kIpProtoIcmpv6), "1:pkvHqCL88/tg1k4cPigmZXUtL00=");
  // zeek: echo request
  EXPECT_EQ(Id("fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 128, 0,
               kIpProtoIcmpv6),
            "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=");
}

TEST(CommunityIdTest, Icmpv6OneWayTypes) {
  const char* h = "3ffe:507:0:1:200:86ff:fe05:80da";
  // spec: time exceeded (3/0) and destination unreachable (1/4)
  EXPECT_EQ(Id("3ffe:501:1800:2345::2", h, 3, 0, kIpProtoIcmpv6), "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=");
  EXPECT_EQ(Id("3ffe:501:410:0:2c0:dfff:fe47:33e", h, 1, 4, kIpProtoIcmpv6),
            "1:hLZd0XGWojozrvxqE0dWB1iM6R0=");
}

TEST(CommunityIdTest, SeedOne) {
  // spec, baseline_seed1.json
  EXPECT_EQ(Id("128.232.110.120", "66.35.250.204", 34855, 80, kIpProtoTcp, 1),
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
  EXPECT_EQ(Id("8.8.8.8", "192.168.1.52", 53, 54585, kIpProtoUdp, 1),
            "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=");
  EXPECT_EQ(Id("2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943,
               kIpProtoTcp, 1),
            "1:eJYTW6AOzFLlSUoESovMjnu7rMw=");
  EXPECT_EQ(Id("192.168.0.1", "192.168.0.89", 0, 0, kIpProtoIcmp, 1),
            "1:03g6IloqVBdcZlPyX8r0hgoE7kA=");
  EXPECT_EQ(Id("3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, kIpProtoIcmpv6, 1),
            "1:lVEtCZpYu84Xqaa++3lXFyuu2n4=");
  EXPECT_EQ(Id("10.1.12.2", "10.1.12.1", 0, 0, kRsvp, 1), "1:rYir8gphR31noO9iDRQmF/BteEI=");
  // zeek, seed 1
  EXPECT_EQ(Id("1.2.3.4", "5.6.7.8", 1122, 3344, kIpProtoTcp, 1), "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
  EXPECT_EQ(Id("1.2.3.4", "5.6.7.8", 1122, 3344, kIpProtoUdp, 1), "1:OShq+iKDAMVouh/4bMxB9Sz4amw=");
  EXPECT_EQ(Id("1.2.3.4", "5.6.7.8", 8, 0, kIpProtoIcmp, 1), "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=");
  EXPECT_EQ(Id("fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 128, 0,
               kIpProtoIcmpv6, 1),
            "1:IO27GQzPuCtNnwFvjWALMHu5tJE=");
}

using testing::Packet;

TEST(CommunityIdTest, FlowKeyOfEitherDirectionGivesThePacketsId) {
  bool src_is_a = false;
  const FlowKey fwd =
      MakeFlowKey(Packet("128.232.110.120", 34855, "66.35.250.204", 80, kIpProtoTcp), &src_is_a);
  const FlowKey rev =
      MakeFlowKey(Packet("66.35.250.204", 80, "128.232.110.120", 34855, kIpProtoTcp), &src_is_a);
  EXPECT_EQ(CommunityId(fwd), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  EXPECT_EQ(CommunityId(rev), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  EXPECT_EQ(CommunityId(fwd, 1), "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
  const FlowKey udp =
      MakeFlowKey(Packet("8.8.8.8", 53, "192.168.1.52", 54585, kIpProtoUdp), &src_is_a);
  EXPECT_EQ(CommunityId(udp), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
  const FlowKey rsvp = MakeFlowKey(Packet("10.1.12.2", 0, "10.1.12.1", 0, kRsvp), &src_is_a);
  EXPECT_EQ(CommunityId(rsvp), "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
}

TEST(CommunityIdTest, FlowKeyWithoutTypeCodeOrPortsGivesNoId) {
  bool src_is_a = false;
  const FlowKey icmp =
      MakeFlowKey(Packet("192.168.0.89", 8, "192.168.0.1", 0, kIpProtoIcmp), &src_is_a);
  EXPECT_EQ(CommunityId(icmp), "");
  const FlowKey sctp =
      MakeFlowKey(Packet("192.168.170.8", 7, "192.168.170.56", 7, kSctp), &src_is_a);
  EXPECT_EQ(CommunityId(sctp), "");
}

}  // namespace
}  // namespace tw::capture
