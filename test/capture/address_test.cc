#include "capture/address.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

namespace tw::capture {
namespace {

static_assert(std::is_trivially_copyable_v<Address>);

Address A(std::string_view text) {
  const std::optional<Address> a = Address::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Address{});
}

TEST(AddressTest, FromV4IsMapped) {
  const uint8_t v4[4] = {192, 0, 2, 1};
  const Address a = Address::FromV4(v4);
  EXPECT_TRUE(a.IsV4());
  EXPECT_EQ(a.bytes[10], 0xff);
  EXPECT_EQ(a.bytes[11], 0xff);
  EXPECT_EQ(a.bytes[15], 1);
  EXPECT_EQ(a.ToString(), "192.0.2.1");
  EXPECT_EQ(a, A("192.0.2.1"));
  EXPECT_EQ(a, A("::ffff:192.0.2.1"));
}

TEST(AddressTest, FromV6) {
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const Address a = Address::FromV6(v6);
  EXPECT_FALSE(a.IsV4());
  EXPECT_EQ(a.ToString(), "2001:db8::1");
  EXPECT_EQ(a, A("2001:DB8:0:0:0:0:0:1"));
}

TEST(AddressTest, ParseRejectsMalformedText) {
  for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                               "01.2.3.4", "abc", "1:2:3:4:5:6:7:8:9", "::g", "2001:db8:::1",
                               "1.2.3.4/24", "0000:0000:0000:0000:0000:0000:0000:0000:0000"}) {
    EXPECT_FALSE(Address::Parse(bad).has_value()) << bad;
  }
  EXPECT_FALSE(Address::Parse(std::string_view("1.2.3.4\0junk", 12)).has_value());
}

// RFC 5952 section 4 canonical forms, each parsed from a non-canonical spelling.
TEST(AddressTest, ToStringIsRfc5952) {
  const struct {
    const char* in;
    const char* out;
  } kCases[] = {
      {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group stays
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longest run
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // the first of equal runs
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"fe80:0:0:0:0:0:0:0", "fe80::"},
      {"0:0:0:0:0:0:0102:0304", "::102:304"},  // IPv4-compatible is plain IPv6
      {"0:0:0:0:0:ffff:c000:0201", "192.0.2.1"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"},
      {"0:1:0:0:1:0:0:0", "0:1:0:0:1::"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(A(c.in).ToString(), c.out) << c.in;
    EXPECT_EQ(A(c.out), A(c.in)) << c.out;  // round trip
  }
}

TEST(AddressTest, IsPrivate) {
  for (std::string_view yes :
       {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.0",
        "100.127.255.255", "127.0.0.1", "169.254.10.1", "fc00::1", "fd12:3456::1", "fe80::1",
        "febf:ffff::1", "::1"}) {
    EXPECT_TRUE(A(yes).IsPrivate()) << yes;
  }
  for (std::string_view no :
       {"11.0.0.1", "172.15.255.255", "172.32.0.0", "192.169.0.1", "100.63.255.255", "100.128.0.0",
        "8.8.8.8", "128.0.0.1", "169.253.0.1", "fe00::1", "fec0::1", "::", "::2", "2001:db8::1",
        "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(A(no).IsPrivate()) << no;
  }
}

TEST(AddressTest, IsRoutableUnicast) {
  for (std::string_view yes : {"8.8.8.8", "10.0.0.1", "192.168.1.1", "100.64.0.1", "223.255.255.1",
                               "2001:db8::1", "fd12::1", "fec0::1", "::2"}) {
    EXPECT_TRUE(A(yes).IsRoutableUnicast()) << yes;
  }
  for (std::string_view no :
       {"0.0.0.0", "0.1.2.3", "127.0.0.1", "169.254.1.1", "224.0.0.251", "239.255.255.250",
        "240.0.0.1", "255.255.255.255", "ff02::fb", "ff05::c", "fe80::1", "::", "::1"}) {
    EXPECT_FALSE(A(no).IsRoutableUnicast()) << no;
  }
}

TEST(AddressTest, IsBogon) {
  for (std::string_view yes :
       {"10.1.2.3", "172.20.0.1", "192.168.0.1", "100.100.100.100", "127.0.0.1", "0.0.0.0",
        "169.254.169.254", "192.0.0.8", "198.18.0.1", "198.19.255.255", "240.0.0.1",
        "255.255.255.255", "224.0.0.1", "::ffff:10.0.0.1"}) {
    EXPECT_TRUE(A(yes).IsBogon()) << yes;
  }
  for (std::string_view yes :
       {"::", "::1", "fd00::1", "fe80::1", "ff02::1", "100::1", "64:ff9b:1::a00:1"}) {
    EXPECT_TRUE(A(yes).IsBogon()) << yes;
  }
  for (std::string_view no :
       {"8.8.8.8", "1.1.1.1", "192.0.0.9", "192.0.0.10", "192.0.1.1", "198.17.255.255",
        "198.20.0.1", "100.128.0.1", "192.0.2.7", "198.51.100.7", "203.0.113.9",
        "2001:4860:4860::8888", "2001:db8::1", "64:ff9b::808:808", "100:0:0:1::1"}) {
    EXPECT_FALSE(A(no).IsBogon()) << no;
  }
}

TEST(AddressTest, OrderingIsBytewise) {
  EXPECT_LT(A("::1"), A("::2"));
  EXPECT_LT(A("10.0.0.1"), A("10.0.0.2"));
  EXPECT_LT(A("::ffff:0:0"), A("2001:db8::"));
}

TEST(CidrTest, ParseIpv4StoresMappedPrefix) {
  const std::optional<Cidr> c = Cidr::Parse("192.0.2.0/24");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->prefix_len, 96 + 24);
  EXPECT_EQ(c->network, A("192.0.2.0"));
  EXPECT_EQ(c->ToString(), "192.0.2.0/24");
  EXPECT_TRUE(c->Contains(A("192.0.2.0")));
  EXPECT_TRUE(c->Contains(A("192.0.2.255")));
  EXPECT_FALSE(c->Contains(A("192.0.3.0")));
  EXPECT_FALSE(c->Contains(A("192.0.1.255")));
  EXPECT_FALSE(c->Contains(A("2001:db8::1")));
}

TEST(CidrTest, ParseIpv6) {
  const std::optional<Cidr> c = Cidr::Parse("2001:db8::/32");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->prefix_len, 32);
  EXPECT_EQ(c->ToString(), "2001:db8::/32");
  EXPECT_TRUE(c->Contains(A("2001:db8:ffff::1")));
  EXPECT_FALSE(c->Contains(A("2001:db9::")));
  EXPECT_FALSE(c->Contains(A("10.0.0.1")));
}

TEST(CidrTest, PrefixNotOnAByteBoundary) {
  const std::optional<Cidr> c = Cidr::Parse("10.0.0.0/9");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->Contains(A("10.127.255.255")));
  EXPECT_FALSE(c->Contains(A("10.128.0.0")));
  const std::optional<Cidr> ula = Cidr::Parse("fc00::/7");
  ASSERT_TRUE(ula.has_value());
  EXPECT_TRUE(ula->Contains(A("fdff::1")));
  EXPECT_FALSE(ula->Contains(A("fe00::1")));
}

TEST(CidrTest, BareAddressIsHostPrefix) {
  const std::optional<Cidr> v4 = Cidr::Parse("10.1.2.3");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->prefix_len, 128);
  EXPECT_EQ(v4->ToString(), "10.1.2.3/32");
  EXPECT_TRUE(v4->Contains(A("10.1.2.3")));
  EXPECT_FALSE(v4->Contains(A("10.1.2.4")));
  const std::optional<Cidr> v6 = Cidr::Parse("2001:db8::7");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->ToString(), "2001:db8::7/128");
}

TEST(CidrTest, HostBitsAreCleared) {
  const std::optional<Cidr> c = Cidr::Parse("192.0.2.77/24");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->ToString(), "192.0.2.0/24");
  const std::optional<Cidr> v6 = Cidr::Parse("2001:db8::1/64");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->ToString(), "2001:db8::/64");
}

TEST(CidrTest, ZeroLengthPrefixes) {
  const std::optional<Cidr> all_v4 = Cidr::Parse("0.0.0.0/0");
  ASSERT_TRUE(all_v4.has_value());
  EXPECT_EQ(all_v4->ToString(), "0.0.0.0/0");
  EXPECT_TRUE(all_v4->Contains(A("203.0.113.9")));
  EXPECT_FALSE(all_v4->Contains(A("2001:db8::1")));
  const std::optional<Cidr> all = Cidr::Parse("::/0");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->ToString(), "::/0");
  EXPECT_TRUE(all->Contains(A("203.0.113.9")));
  EXPECT_TRUE(all->Contains(A("2001:db8::1")));
}

TEST(CidrTest, ParseRejectsMalformedText) {
  for (std::string_view bad :
       {"", "/24", "1.2.3.4/", "1.2.3.4/33", "::/129", "1.2.3.4/-1", "1.2.3.4/+1", "1.2.3.4/2a",
        "1.2.3.4/ 24", "1.2.3.4/0024", "1.2.3.4/24/1", "1.2.3/24", "example.com/8"}) {
    EXPECT_FALSE(Cidr::Parse(bad).has_value()) << bad;
  }
}

TEST(CidrTest, OutOfRangePrefixContainsNothing) {
  Cidr c;
  c.prefix_len = 129;
  EXPECT_FALSE(c.Contains(Address{}));
  c.prefix_len = -1;
  EXPECT_FALSE(c.Contains(Address{}));
}

}  // namespace
}  // namespace tw::capture
