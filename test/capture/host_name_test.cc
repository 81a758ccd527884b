#include "capture/host_name.h"

#include <gtest/gtest.h>

#include <string>

namespace tw::capture {
namespace {

TEST(HostNameTest, KeepsHostNamesInLowerCase) {
  EXPECT_EQ(CanonicalHostName("live-video.example"), "live-video.example");
  EXPECT_EQ(CanonicalHostName("CDN.Example.ORG."), "cdn.example.org");
  EXPECT_EQ(CanonicalHostName("_dmarc.example"), "_dmarc.example");
  EXPECT_EQ(CanonicalHostName("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_EQ(CanonicalHostName("localhost"), "localhost");
  EXPECT_EQ(CanonicalHostName("r3---sn-4g5e6nze.googlevideo.com"),
            "r3---sn-4g5e6nze.googlevideo.com");
}

TEST(HostNameTest, DropsWhatCouldForgeOrBreakAnOutput) {
  // The names of the forgery reports: JSON and markup injection, control bytes.
  EXPECT_EQ(CanonicalHostName("live\"}\x01<script>.ex\x7f"
                              "ample"),
            "");
  EXPECT_EQ(CanonicalHostName("x\",\"targeted\":false,\"y\":\""), "");
  EXPECT_EQ(CanonicalHostName("a\\b.example"), "");
  EXPECT_EQ(CanonicalHostName("line\nbreak.example"), "");
  EXPECT_EQ(CanonicalHostName(std::string("nul\0.example", 12)), "");
  EXPECT_EQ(CanonicalHostName("caf\xc3\xa9.example"), "");  // UTF-8, not the xn-- form
  EXPECT_EQ(CanonicalHostName("\xff\xfe.example"), "");     // not UTF-8 at all
  EXPECT_EQ(CanonicalHostName("a b.example"), "");
  EXPECT_EQ(CanonicalHostName("comma,separated.example"), "");
}

TEST(HostNameTest, DropsAddressLiteralsSoTheyCannotBypassAnonymization) {
  EXPECT_EQ(CanonicalHostName("192.0.2.7"), "");
  EXPECT_EQ(CanonicalHostName("192.0.2.7."), "");
  EXPECT_EQ(CanonicalHostName("2001:db8::1"), "");
  EXPECT_EQ(CanonicalHostName("[2001:db8::1]"), "");
  EXPECT_EQ(CanonicalHostName("10"), "");
  // Digits elsewhere are fine: only an all-digit last label is an address's shape.
  EXPECT_EQ(CanonicalHostName("1.2.3.example"), "1.2.3.example");
  EXPECT_EQ(CanonicalHostName("host1"), "host1");
}

TEST(HostNameTest, EnforcesTheLengthsAndShapeOfLabels) {
  const std::string label63(63, 'a'), label64(64, 'a');
  EXPECT_EQ(CanonicalHostName(label63 + ".example"), label63 + ".example");
  EXPECT_EQ(CanonicalHostName(label64 + ".example"), "");
  // 253 characters is the longest name; 254 (or 255, the wire limit) is too long.
  std::string name253;
  while (name253.size() + 64 <= 253) name253 += label63 + ".";
  name253 += std::string(253 - name253.size(), 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_EQ(CanonicalHostName(name253), name253);
  EXPECT_EQ(CanonicalHostName(name253 + "c"), "");
  EXPECT_EQ(CanonicalHostName(std::string(255, 'a')), "");
  EXPECT_EQ(CanonicalHostName(""), "");
  EXPECT_EQ(CanonicalHostName("."), "");
  EXPECT_EQ(CanonicalHostName("a..example"), "");
  EXPECT_EQ(CanonicalHostName(".example"), "");
  EXPECT_EQ(CanonicalHostName("-lead.example"), "");
  EXPECT_EQ(CanonicalHostName("trail-.example"), "");
  EXPECT_EQ(CanonicalHostName("example.."), "");
}

}  // namespace
}  // namespace tw::capture
