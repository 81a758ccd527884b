#include "capture/service_names.h"

#include <gtest/gtest.h>

#include <vector>

namespace tw::capture {
namespace {

TEST(ServiceNamesTest, DnsAnswersNameRemoteAddressesAndSniNamesFlows) {
  ServiceNames names(2);
  FlowInfo info;
  info.id = 7;
  BinnedPacket bp{&info, kDown, 0};
  // A DNS response for "cdn.example" -> 192.0.2.9, as a UDP payload at offset 0.
  std::vector<uint8_t> dns = {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                              3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
                              0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 192, 0, 2, 9};
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

}  // namespace
}  // namespace tw::capture
