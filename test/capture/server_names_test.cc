#include "capture/server_names.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "test/support/quic_samples.h"
#include "test/support/tls_client_hello.h"

namespace tw::capture {
namespace {

// A DNS response for "cdn.example" -> 192.0.2.9, as a UDP payload at offset 0.
std::vector<uint8_t> CdnAnswer() {
  return {0,   1, 0x81, 0x80, 0,   1,   0,   1,   0,   0, 0, 0,   3, 'c', 'd',
          'n', 7, 'e',  'x',  'a', 'm', 'p', 'l', 'e', 0, 0, 1,   0, 1,   0xc0,
          12,  0, 1,    0,    1,   0,   0,   0,   9,   0, 4, 192, 0, 2,   9};
}

TEST(ServerNamesTest, DnsAnswersNameRemoteAddressesAndSniNamesFlows) {
  ServerNames names(2);
  FlowInfo info;
  info.id = 7;
  BinnedPacket bp{&info, kDown, 0};
  const std::vector<uint8_t> dns = CdnAnswer();
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoUdp;
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
TEST(ServerNamesTest, FindThenLearnIsObserve) {
  FlowInfo info;
  info.id = 7;
  const BinnedPacket bp{&info, kDown, 0};
  const std::vector<uint8_t> dns = CdnAnswer();
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoUdp;
  p.src_port = 53;
  p.payload_len = uint32_t(dns.size());
  EXPECT_TRUE(ServerNames::MayName(dns.data(), uint32_t(dns.size()), p));
  std::vector<LearnedName> found;
  ServerNames::Find(dns.data(), uint32_t(dns.size()), p, bp, &found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].flow_id, 0u);
  EXPECT_EQ(found[0].name, "cdn.example");
  ServerNames learned, observed;
  for (const LearnedName& n : found) learned.Learn(n);
  observed.Observe(dns.data(), uint32_t(dns.size()), p, bp);
  const Address remote = *Address::Parse("192.0.2.9");
  EXPECT_EQ(learned.NameOf(99, remote), observed.NameOf(99, remote));
  EXPECT_EQ(learned.learned(), observed.learned());
  // Nothing to find in a packet that is not binned, or in other payload.
  found.clear();
  ServerNames::Find(dns.data(), uint32_t(dns.size()), p, BinnedPacket{}, &found);
  p.src_port = 54;
  EXPECT_FALSE(ServerNames::MayName(dns.data(), uint32_t(dns.size()), p));
  ServerNames::Find(dns.data(), uint32_t(dns.size()), p, bp, &found);
  EXPECT_TRUE(found.empty());
}

// A DNS response whose question (and answer) is `name`, one label per dot-separated part (the
// bytes as given: the wire allows any byte in a label), answering 192.0.2.9.
std::vector<uint8_t> AnswerNaming(const std::string& name) {
  std::vector<uint8_t> d = {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    d.push_back(uint8_t(dot - start));
    d.insert(d.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  d.push_back(0);
  const std::vector<uint8_t> tail = {0, 1, 0, 1, 0xc0, 12, 0,   1, 0, 1,
                                     0, 0, 0, 9, 0,    4,  192, 0, 2, 9};
  d.insert(d.end(), tail.begin(), tail.end());
  return d;
}

// Whoever controls the link chooses the names in DNS answers and ClientHellos: only host names
// are kept (lower-cased), everything else is dropped and counted.
TEST(ServerNamesTest, ForgedNamesAreDroppedAndCounted) {
  FlowInfo info;
  info.id = 7;
  const BinnedPacket bp{&info, kDown, 0};
  const Address remote = *Address::Parse("192.0.2.9");
  const std::string forged[] = {
      "x\",\"targeted\":false,\"y\":\"",
      "live\"}\x01<script>.ex\x7f"
      "ample",
      std::string("nul\0.example", 12),
      "caf\xc3\xa9.example",
      "\xff\xfe.example",
      "192.0.2.77",  // an address posing as a name would slip past --anonymize
  };
  ServerNames names;
  for (const std::string& name : forged) {
    const std::vector<uint8_t> dns = AnswerNaming(name);
    DecodedPacket p;
    p.ip_proto = capture::kIpProtoUdp;
    p.src_port = 53;
    p.payload_len = uint32_t(dns.size());
    names.Observe(dns.data(), uint32_t(dns.size()), p, bp);
    const auto hello = tw::testing::ClientHello(name);
    p.ip_proto = capture::kIpProtoTcp;
    p.src_port = 40000;
    p.payload_len = uint32_t(hello.size());
    names.Observe(hello.data(), uint32_t(hello.size()), p, bp);
    EXPECT_EQ(names.NameOf(7, remote), "") << name;
  }
  EXPECT_EQ(names.learned(), 0u);
  EXPECT_EQ(names.rejected(), 2 * std::size(forged));

  // A real name passes, in lower case, from either source.
  const std::vector<uint8_t> dns = AnswerNaming("Live-Video.Example");
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoUdp;
  p.src_port = 53;
  p.payload_len = uint32_t(dns.size());
  names.Observe(dns.data(), uint32_t(dns.size()), p, bp);
  EXPECT_EQ(names.NameOf(99, remote), "live-video.example");
  const auto hello = tw::testing::ClientHello("Stream.Example.ORG");
  p.ip_proto = capture::kIpProtoTcp;
  p.src_port = 40000;
  p.payload_len = uint32_t(hello.size());
  names.Observe(hello.data(), uint32_t(hello.size()), p, bp);
  EXPECT_EQ(names.NameOf(7, remote), "stream.example.org");
  EXPECT_EQ(names.learned(), 2u);
}

// A UDP packet from a QUIC client, payload at offset 0.
DecodedPacket QuicPacket(const std::vector<uint8_t>& payload) {
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoUdp;
  p.src_port = 50000;
  p.dst_port = 443;
  p.payload_len = uint32_t(payload.size());
  return p;
}

// A QUIC client's Initial names its flow like a TLS ClientHello, and tells the QUIC version;
// Find() then Learn() gives the same, and ForgetFlow() forgets both.
TEST(ServerNamesTest, QuicInitialNamesItsFlow) {
  FlowInfo info;
  info.id = 7;
  const BinnedPacket bp{&info, kUp, 0};
  const std::vector<uint8_t> pkt = tw::testing::FromHex(tw::testing::kRfc9001ClientInitialHex);
  const DecodedPacket p = QuicPacket(pkt);
  ASSERT_TRUE(ServerNames::MayName(pkt.data(), uint32_t(pkt.size()), p));
  ServerNames observed, learned;
  observed.Observe(pkt.data(), uint32_t(pkt.size()), p, bp);
  EXPECT_EQ(observed.NameOf(7, Address{}), "example.com");
  EXPECT_EQ(observed.QuicVersionOf(7), "V-1");
  std::vector<LearnedName> found;
  ServerNames::Find(pkt.data(), uint32_t(pkt.size()), p, bp, &found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].flow_id, 7u);
  EXPECT_EQ(found[0].quic_version, "V-1");
  EXPECT_EQ(found[0].crypto.size(), 241u);
  for (const LearnedName& n : found) learned.Learn(n);
  EXPECT_EQ(learned.NameOf(7, Address{}), "example.com");
  EXPECT_EQ(learned.QuicVersionOf(7), "V-1");
  EXPECT_EQ(learned.learned(), observed.learned());
  observed.ForgetFlow(7);
  EXPECT_EQ(observed.NameOf(7, Address{}), "");
  EXPECT_EQ(observed.QuicVersionOf(7), "");
  // The v2 sample names its flow as well.
  const std::vector<uint8_t> v2 = tw::testing::FromHex(tw::testing::kRfc9369ClientInitialHex);
  info.id = 8;
  observed.Observe(v2.data(), uint32_t(v2.size()), QuicPacket(v2), bp);
  EXPECT_EQ(observed.NameOf(8, Address{}), "example.com");
  EXPECT_EQ(observed.QuicVersionOf(8), "V-2");
}

// A ClientHello split over several Initials, arriving out of order, is put together per flow;
// another flow's pieces do not mix in.
TEST(ServerNamesTest, QuicClientHelloInPiecesInAnyOrder) {
  auto hello = tw::testing::ClientHello("split.example");
  hello.erase(hello.begin(), hello.begin() + 5);  // QUIC carries no record header
  const size_t a = hello.size() / 3, b = 2 * hello.size() / 3;
  auto piece = [&](uint64_t flow, size_t from, size_t to) {
    LearnedName n;
    n.flow_id = flow;
    n.quic_version = "Draft-29";
    n.crypto_offset = uint32_t(from);
    n.crypto.assign(hello.begin() + long(from), hello.begin() + long(to));
    return n;
  };
  ServerNames names;
  names.Learn(piece(1, b, hello.size()));
  names.Learn(piece(2, 0, a));
  names.Learn(piece(1, 0, a));
  EXPECT_EQ(names.NameOf(1, Address{}), "");
  names.Learn(piece(1, a, b));
  EXPECT_EQ(names.NameOf(1, Address{}), "split.example");
  EXPECT_EQ(names.NameOf(2, Address{}), "");
  EXPECT_EQ(names.QuicVersionOf(2), "Draft-29");
  // Pieces past the bound are refused; the flow stays unnamed, nothing breaks.
  names.Learn(piece(2, 0, 0));
  LearnedName far = piece(2, a, b);
  far.crypto_offset = 1u << 30;
  names.Learn(far);
  names.Learn(piece(2, a, hello.size()));
  EXPECT_EQ(names.NameOf(2, Address{}), "");
}

// RTP shares QUIC's first bit; MayName keeps it out (it runs on every packet).
TEST(ServerNamesTest, RtpIsNotTakenForQuic) {
  std::vector<uint8_t> rtp(172, 0);
  rtp[0] = 0x80;
  rtp[1] = 0x60;
  EXPECT_FALSE(ServerNames::MayName(rtp.data(), uint32_t(rtp.size()), QuicPacket(rtp)));
}

// The name-capture handle's filter compiles for the link types a daemon meets.
TEST(ServerNamesTest, AnHttpRequestToPort80NamesItsFlowByItsHost) {
  ServerNames names;
  FlowInfo info;
  info.id = 9;
  const BinnedPacket bp{&info, kUp, 0};
  const std::string req = "GET / HTTP/1.1\r\nHost: News.Example:80\r\n\r\n";
  const std::vector<uint8_t> bytes(req.begin(), req.end());
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoTcp;
  p.dst_port = 8080;
  p.payload_len = uint32_t(bytes.size());
  EXPECT_FALSE(ServerNames::MayName(bytes.data(), uint32_t(bytes.size()), p));  // not port 80
  p.dst_port = 80;
  ASSERT_TRUE(ServerNames::MayName(bytes.data(), uint32_t(bytes.size()), p));
  names.Observe(bytes.data(), uint32_t(bytes.size()), p, bp);
  EXPECT_EQ(names.NameOf(9, *Address::Parse("192.0.2.3")), "news.example");
}

TEST(ServerNamesTest, FilterCompiles) {
  for (int link : {DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_NULL}) {
    pcap_t* dead = pcap_open_dead(link, 65535);
    bpf_program prog;
    EXPECT_EQ(pcap_compile(dead, &prog, kServerNameFilter, 1, PCAP_NETMASK_UNKNOWN), 0)
        << link << ": " << pcap_geterr(dead);
    pcap_freecode(&prog);
    pcap_close(dead);
  }
}

}  // namespace
}  // namespace tw::capture
