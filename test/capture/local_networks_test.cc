#include "capture/local_networks.h"

#include <gtest/gtest.h>

#include <random>

namespace tw::capture {
namespace {

DecodedPacket Pkt(const char* src, const char* dst, uint8_t proto, uint8_t flags) {
  DecodedPacket p;
  p.ip_proto = proto;
  p.tcp_flags = flags;
  p.src = *Address::Parse(src);
  p.dst = *Address::Parse(dst);
  return p;
}

TEST(LocalNetworksTest, ParsesListsAndRejectsGarbage) {
  LocalNetworks n;
  std::string err;
  ASSERT_TRUE(LocalNetworks::Parse("192.0.2.0/24,2001:db8::/32", &n, &err)) << err;
  EXPECT_TRUE(n.Contains(*Address::Parse("192.0.2.77")));
  EXPECT_TRUE(n.Contains(*Address::Parse("2001:db8::1")));
  EXPECT_FALSE(n.Contains(*Address::Parse("198.51.100.1")));
  EXPECT_EQ(n.ToString(), "192.0.2.0/24,2001:db8::/32");
  EXPECT_FALSE(LocalNetworks::Parse("192.0.2.0/33", &n, &err));
  EXPECT_FALSE(LocalNetworks::Parse("office", &n, &err));
  EXPECT_NE(err.find("office"), std::string::npos);
  EXPECT_FALSE(LocalNetworks::Parse("", &n, &err));
}

// Contains() answers from precomputed masks; it must agree with Cidr::Contains for every
// prefix length, including networks with host bits set and invalid lengths.
TEST(LocalNetworksTest, ContainsAgreesWithEachCidr) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 2000; ++round) {
    Cidr c;
    for (auto& b : c.network.bytes) b = uint8_t(rng());
    c.prefix_len = int(rng() % 131) - 1;  // -1 .. 129
    const LocalNetworks n({c});
    for (int k = 0; k < 20; ++k) {
      Address a = c.network;
      // Flip one bit (inside or outside the prefix) or none.
      const int bit = int(rng() % 130) - 1;
      if (bit >= 0 && bit < 128) a.bytes[size_t(bit / 8)] ^= uint8_t(0x80u >> (bit % 8));
      ASSERT_EQ(n.Contains(a), c.Contains(a))
          << c.ToString() << " len " << c.prefix_len << " bit " << bit;
    }
  }
}

TEST(LocalNetworkGuesserTest, PrivateSideFacingPublicWins) {
  LocalNetworkGuesser g;
  for (int i = 0; i < 5; ++i) {
    g.Observe(Pkt("203.0.113.9", "192.168.1.20", 6, kTcpSyn));  // inbound SYNs to a server
    g.Observe(Pkt("192.168.1.20", "203.0.113.9", 6, kTcpSyn | kTcpAck));
  }
  EXPECT_EQ(g.Guess().ToString(), "192.168.1.0/24");
}

TEST(LocalNetworkGuesserTest, AllPrivateLabUsesInitiators) {
  LocalNetworkGuesser g;
  for (int i = 0; i < 3; ++i) {
    g.Observe(Pkt("10.77.1.2", "10.77.2.2", 6, kTcpSyn));
    g.Observe(Pkt("10.77.2.2", "10.77.1.2", 6, kTcpSyn | kTcpAck));
  }
  g.Observe(Pkt("fd77:1::2", "fd77:2::2", 6, kTcpSyn));
  EXPECT_EQ(g.Guess().ToString(), "10.77.1.0/24,fd77:1::/64");
}

TEST(LocalNetworkGuesserTest, LinkLocalAndMulticastChatterIsIgnored) {
  LocalNetworkGuesser g;
  for (int i = 0; i < 10; ++i) {
    g.Observe(Pkt("fe80::1", "ff02::2", 58, 0));  // router solicitations
    g.Observe(Pkt("fe80::1", "fe80::2", 58, 0));
    g.Observe(Pkt("0.0.0.0", "255.255.255.255", 17, 0));  // DHCP
  }
  g.Observe(Pkt("10.77.1.2", "10.77.2.2", 6, kTcpSyn));
  EXPECT_EQ(g.Guess().ToString(), "10.77.1.0/24");
}

TEST(LocalNetworkGuesserTest, ClientAndServerInOneSubnetGiveTheHostAlone) {
  // A router trace: client 10.0.0.1 and server 10.0.0.4 share a /24. The /24 would hold both
  // ends, and no flow would have exactly one local end.
  LocalNetworkGuesser g;
  for (int i = 0; i < 3; ++i) {
    g.Observe(Pkt("10.0.0.1", "10.0.0.4", 6, kTcpSyn));
    g.Observe(Pkt("10.0.0.4", "10.0.0.1", 6, kTcpSyn | kTcpAck));
  }
  EXPECT_EQ(g.Guess().ToString(), "10.0.0.1/32");
}

TEST(LocalNetworkGuesserTest, LocalResolverDoesNotNarrowAnOfficePrefix) {
  // An office host asks its LAN resolver and talks to the internet: the /24 stays local.
  LocalNetworkGuesser g;
  g.Observe(Pkt("192.168.1.20", "192.168.1.1", 17, 0));
  g.Observe(Pkt("192.168.1.20", "203.0.113.9", 6, kTcpSyn));
  EXPECT_EQ(g.Guess().ToString(), "192.168.1.0/24");
}

TEST(LocalNetworkGuesserTest, NothingObservedGivesNothing) {
  EXPECT_TRUE(LocalNetworkGuesser().Guess().empty());
}

}  // namespace
}  // namespace tw::capture
