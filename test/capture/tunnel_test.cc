#include "capture/tunnel.h"

#include <gtest/gtest.h>

namespace tw::capture {
namespace {

TEST(TunnelTest, PathHoldsFourLayersOutermostFirst) {
  TunnelPath p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(TunnelPathName(p), "");
  for (Tunnel t : {Tunnel::kPppoe, Tunnel::kGre, Tunnel::kVxlan, Tunnel::k6in6}) {
    EXPECT_TRUE(p.Push(t));
  }
  EXPECT_FALSE(p.Push(Tunnel::kMpls));
  EXPECT_EQ(p.depth(), 4);
  EXPECT_EQ(p.at(0), Tunnel::kPppoe);
  EXPECT_EQ(p.at(3), Tunnel::k6in6);
  EXPECT_EQ(TunnelPathName(p), "pppoe/gre/vxlan/6in6");
}

TEST(TunnelTest, ParseReadsWhatNameWrote) {
  for (int t = 1; t <= static_cast<int>(Tunnel::k6in6); ++t) {
    TunnelPath p;
    ASSERT_TRUE(p.Push(static_cast<Tunnel>(t)));
    ASSERT_TRUE(p.Push(Tunnel::kMpls));
    TunnelPath back;
    ASSERT_TRUE(ParseTunnelPath(TunnelPathName(p), &back)) << TunnelPathName(p);
    EXPECT_EQ(back, p);
  }
  TunnelPath p;
  EXPECT_TRUE(ParseTunnelPath("", &p));
  EXPECT_TRUE(p.empty());
  for (const char* bad : {"gre/", "/gre", "ipsec", "gre//mpls", "gre/gre/gre/gre/gre"}) {
    TunnelPath q;
    ASSERT_TRUE(q.Push(Tunnel::kTeredo));
    EXPECT_FALSE(ParseTunnelPath(bad, &q)) << bad;
    EXPECT_EQ(TunnelPathName(q), "teredo") << bad;  // unchanged
  }
}

}  // namespace
}  // namespace tw::capture
