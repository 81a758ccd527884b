#include "capture/service_names.h"

#include <gtest/gtest.h>

#include <vector>

namespace tw::capture {
namespace {

// A DNS response for "cdn.example" -> 192.0.2.9, as a UDP payload at offset 0.
std::vector<uint8_t> CdnAnswer() {
  return {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
          3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
          0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 192, 0, 2, 9};
}

TEST(ServiceNamesTest, DnsAnswersNameRemoteAddressesAndSniNamesFlows) {
  ServiceNames names(2);
  FlowInfo info;
  info.id = 7;
  BinnedPacket bp{&info, kDown, 0};
  const std::vector<uint8_t> dns = CdnAnswer();
  DecodedPacket p;
  p.ip_proto = 17;
  p.src_port = 53;
  p.payload_offset = 0;
  p.payload_len = uint32_t(dns.size());
  names.Observe(dns.data(), uint32_t(dns.size()), p, bp);
  const Address remote = *Address::Parse("192.0.2.9");
  EXPECT_EQ(names.NameOf(99, remote), "cdn.example");
  EXPECT_EQ(names.NameOf(99, *Address::Parse("192.0.2.10")), "");
  // Packets that are not binned, or carry nothing, teach nothing.
  names.Observe(dns.data(), uint32_t(dns.size()), p, BinnedPacket{});
  EXPECT_EQ(names.addresses(), 1u);
  EXPECT_EQ(names.learned(), 1u);
}

// Names found in one thread and learned in another give what Observe() gives.
TEST(ServiceNamesTest, FindThenLearnIsObserve) {
  FlowInfo info;
  info.id = 7;
  const BinnedPacket bp{&info, kDown, 0};
  const std::vector<uint8_t> dns = CdnAnswer();
  DecodedPacket p;
  p.ip_proto = 17;
  p.src_port = 53;
  p.payload_len = uint32_t(dns.size());
  EXPECT_TRUE(ServiceNames::MayName(dns.data(), uint32_t(dns.size()), p));
  std::vector<LearnedName> found;
  ServiceNames::Find(dns.data(), uint32_t(dns.size()), p, bp, &found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].flow_id, 0u);
  EXPECT_EQ(found[0].name, "cdn.example");
  ServiceNames learned, observed;
  for (const LearnedName& n : found) learned.Learn(n);
  observed.Observe(dns.data(), uint32_t(dns.size()), p, bp);
  const Address remote = *Address::Parse("192.0.2.9");
  EXPECT_EQ(learned.NameOf(99, remote), observed.NameOf(99, remote));
  EXPECT_EQ(learned.learned(), observed.learned());
  // Nothing to find in a packet that is not binned, or in other payload.
  found.clear();
  ServiceNames::Find(dns.data(), uint32_t(dns.size()), p, BinnedPacket{}, &found);
  p.src_port = 54;
  EXPECT_FALSE(ServiceNames::MayName(dns.data(), uint32_t(dns.size()), p));
  ServiceNames::Find(dns.data(), uint32_t(dns.size()), p, bp, &found);
  EXPECT_TRUE(found.empty());
}

}  // namespace
}  // namespace tw::capture
