#include "capture/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace tw::capture {
namespace {

using Bytes = std::vector<uint8_t>;

// ---- Packet builder: each function returns one layer with everything above it appended. ----

void Put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}

void Put32(Bytes* b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}

void Append(Bytes* b, const Bytes& more) { b->insert(b->end(), more.begin(), more.end()); }

constexpr uint8_t kSrc4[4] = {192, 0, 2, 1};
constexpr uint8_t kDst4[4] = {198, 51, 100, 7};
constexpr uint8_t kSrc6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr uint8_t kDst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

// TCP header with `options` (padded with EOL to a multiple of 4) and `payload` zero bytes.
Bytes Tcp(uint8_t flags, const Bytes& options = {}, size_t payload = 0) {
  Bytes b;
  Put16(&b, 43210);
  Put16(&b, 443);
  Put32(&b, 0x01020304);
  Put32(&b, 0xa0b0c0d0);
  const size_t opt_len = (options.size() + 3) / 4 * 4;
  b.push_back(static_cast<uint8_t>((20 + opt_len) / 4 << 4));
  b.push_back(flags);
  Put16(&b, 65535);
  Put16(&b, 0);  // checksum
  Put16(&b, 0);  // urgent pointer
  Append(&b, options);
  b.resize(20 + opt_len + payload, 0);
  return b;
}

Bytes Udp(size_t payload) {
  Bytes b;
  Put16(&b, 5353);
  Put16(&b, 53);
  Put16(&b, static_cast<uint16_t>(8 + payload));
  Put16(&b, 0);
  b.resize(8 + payload, 0);
  return b;
}

Bytes Icmp(uint8_t type, uint8_t code, size_t rest) {
  Bytes b = {type, code, 0, 0};
  b.resize(4 + rest, 0);
  return b;
}

// IPv4 header (with `options`, a multiple of 4 bytes) followed by `l4`.
Bytes Ipv4(uint8_t proto, const Bytes& l4, uint16_t frag = 0, const Bytes& options = {}) {
  Bytes b;
  const size_t header_len = 20 + options.size();
  b.push_back(static_cast<uint8_t>(0x40 | header_len / 4));
  b.push_back(0);
  Put16(&b, static_cast<uint16_t>(header_len + l4.size()));
  Put16(&b, 0x1234);  // identification
  Put16(&b, frag);
  b.push_back(64);
  b.push_back(proto);
  Put16(&b, 0);
  b.insert(b.end(), kSrc4, kSrc4 + 4);
  b.insert(b.end(), kDst4, kDst4 + 4);
  Append(&b, options);
  Append(&b, l4);
  return b;
}

Bytes Ipv6(uint8_t next, const Bytes& rest) {
  Bytes b = {0x60, 0, 0, 0};
  Put16(&b, static_cast<uint16_t>(rest.size()));
  b.push_back(next);
  b.push_back(57);
  b.insert(b.end(), kSrc6, kSrc6 + 16);
  b.insert(b.end(), kDst6, kDst6 + 16);
  Append(&b, rest);
  return b;
}

// Hop-by-hop, routing or destination options header of `units` * 8 bytes (>= 1).
Bytes Ipv6Ext(uint8_t next, int units, const Bytes& rest) {
  Bytes b = {next, static_cast<uint8_t>(units - 1)};
  b.resize(static_cast<size_t>(units) * 8, 0);  // PadN-free zero padding is Pad1 options
  Append(&b, rest);
  return b;
}

Bytes Ipv6Frag(uint8_t next, uint16_t offset_units, bool more, const Bytes& rest) {
  Bytes b = {next, 0};
  Put16(&b, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  Put32(&b, 0xdeadbeef);
  Append(&b, rest);
  return b;
}

Bytes Ether(uint16_t type, const Bytes& l3, const std::vector<uint16_t>& tags = {}) {
  Bytes b = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  for (uint16_t tpid : tags) {
    Put16(&b, tpid);
    Put16(&b, 0x0064);  // VLAN 100
  }
  Put16(&b, type);
  Append(&b, l3);
  return b;
}

Bytes Sll(uint16_t protocol, const Bytes& l3) {
  Bytes b = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};  // incoming, ARPHRD_ETHER, 6-byte addr
  Put16(&b, protocol);
  Append(&b, l3);
  return b;
}

Bytes Sll2(uint16_t protocol, const Bytes& l3) {
  Bytes b;
  Put16(&b, protocol);
  Put16(&b, 0);    // reserved
  Put32(&b, 3);    // interface index
  Put16(&b, 1);    // ARPHRD_ETHER
  b.push_back(0);  // packet type
  b.push_back(6);  // address length
  b.resize(20, 0);
  Append(&b, l3);
  return b;
}

Bytes BsdFamily(uint32_t family, bool big_endian, const Bytes& l3) {
  Bytes b;
  for (int i = 0; i < 4; ++i) {
    const int shift = big_endian ? 24 - 8 * i : 8 * i;
    b.push_back(static_cast<uint8_t>(family >> shift));
  }
  Append(&b, l3);
  return b;
}

// UDP between the given ports with `payload` as its data.
Bytes UdpTo(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  Put16(&b, sport);
  Put16(&b, dport);
  Put16(&b, static_cast<uint16_t>(8 + payload.size()));
  Put16(&b, 0);
  Append(&b, payload);
  return b;
}

// A bare Ethernet frame (no VLAN) of `type`, as tunnels carry it.
Bytes Frame(uint16_t type, const Bytes& l3) { return Ether(type, l3); }

// PPP with the HDLC-like ff 03 when `hdlc`, the protocol compressed to one byte when it fits.
Bytes Ppp(uint16_t proto, const Bytes& rest, bool hdlc = true, bool compressed = false) {
  Bytes b;
  if (hdlc) b = {0xff, 0x03};
  if (compressed) {
    b.push_back(static_cast<uint8_t>(proto));
  } else {
    Put16(&b, proto);
  }
  Append(&b, rest);
  return b;
}

Bytes Pppoe(const Bytes& ppp) {
  Bytes b = {0x11, 0x00};
  Put16(&b, 0x1234);  // session
  Put16(&b, static_cast<uint16_t>(ppp.size()));
  Append(&b, ppp);
  return b;
}

// `labels` MPLS labels, the last one the bottom of the stack.
Bytes Mpls(int labels, const Bytes& rest) {
  Bytes b;
  for (int i = 1; i <= labels; ++i) Put32(&b, (16u + i) << 12 | (i == labels ? 0x100u : 0) | 64);
  Append(&b, rest);
  return b;
}

// GRE version 0 with the optional fields its flags announce (zeros).
Bytes Gre(uint16_t flags, uint16_t proto, const Bytes& rest) {
  Bytes b;
  Put16(&b, flags);
  Put16(&b, proto);
  for (unsigned bit : {0x8000u, 0x2000u, 0x1000u}) {
    if ((flags & bit) != 0) Put32(&b, 0);
  }
  Append(&b, rest);
  return b;
}

// PPTP's GRE version 1: key (payload length, call id), sequence number, optional ack.
Bytes Pptp(const Bytes& ppp, bool ack) {
  Bytes b;
  Put16(&b, static_cast<uint16_t>(0x3001 | (ack ? 0x80 : 0)));
  Put16(&b, 0x880b);
  Put16(&b, static_cast<uint16_t>(ppp.size()));
  Put16(&b, 7);  // call id
  Put32(&b, 1);  // sequence number
  if (ack) Put32(&b, 0);
  Append(&b, ppp);
  return b;
}

Bytes Vxlan(const Bytes& frame) {
  Bytes b = {0x08, 0, 0, 0, 0, 0, 42, 0};  // I flag, VNI 42
  Append(&b, frame);
  return b;
}

// Geneve with `option_words` 4-byte words of options.
Bytes Geneve(uint16_t proto, int option_words, const Bytes& rest) {
  Bytes b = {static_cast<uint8_t>(option_words), 0};
  Put16(&b, proto);
  Put32(&b, 42 << 8);  // VNI
  b.resize(8 + static_cast<size_t>(option_words) * 4, 0);
  Append(&b, rest);
  return b;
}

// A GTP-U G-PDU; with `extensions`, the sequence flag and two extension headers (PDU session
// container of 4 bytes, then one of 8).
Bytes Gtpu(const Bytes& ip, bool extensions) {
  Bytes b = {static_cast<uint8_t>(extensions ? 0x36 : 0x30), 0xff};
  Bytes rest;
  if (extensions) rest = {0, 1, 0, 0x85, 1, 0x10, 0x01, 0x40, 2, 0, 0, 0, 0, 0, 0, 0};
  Append(&rest, ip);
  Put16(&b, static_cast<uint16_t>(rest.size()));
  Put32(&b, 0xabcdef01);  // TEID
  Append(&b, rest);
  return b;
}

// ERSPAN type II (8 bytes) or III (12, and the 8-byte platform subheader when `sub`).
Bytes Erspan(int type, bool sub, const Bytes& frame) {
  Bytes b = {static_cast<uint8_t>(type == 2 ? 0x10 : 0x20), 0x64, 0, 1};
  b.resize(type == 2 ? 8 : 12, 0);
  if (type == 3 && sub) {
    b[11] = 1;
    b.resize(20, 0);
  }
  Append(&b, frame);
  return b;
}

// Teredo: IPv6 behind an authentication indication (id "ab", no value) and an origin one.
Bytes Teredo(const Bytes& ipv6) {
  Bytes b = {0, 1, 2, 0, 'a', 'b'};
  b.resize(b.size() + 9, 0);  // nonce, confirmation
  Append(&b, {0, 0, 0x12, 0x34, 1, 2, 3, 4});
  Append(&b, ipv6);
  return b;
}

// Radiotap (8 bytes, or more with `extra`) and an 802.11 data frame with LLC/SNAP.
Bytes Wifi(uint8_t fc0, uint8_t fc1, uint16_t type, const Bytes& l3) {
  Bytes b = {fc0, fc1, 0, 0};
  b.resize(24, 0x11);  // duration, three addresses, sequence control
  if ((fc1 & 3) == 3) b.resize(30, 0x22);
  if ((fc0 & 0x80) != 0) b.resize(b.size() + ((fc1 & 0x80) != 0 ? 6 : 2), 0);
  Append(&b, {0xaa, 0xaa, 0x03, 0, 0, 0});
  Put16(&b, type);
  Append(&b, l3);
  return b;
}

Bytes Radiotap(const Bytes& frame, size_t len = 8) {
  Bytes b = {0, 0, static_cast<uint8_t>(len), 0};
  b.resize(len, 0);
  Append(&b, frame);
  return b;
}

// NFLOG (AF_INET) with a prefix TLV, then the payload TLV; lengths in the given byte order.
Bytes Nflog(const Bytes& ip, bool little_endian) {
  const auto put = [&](Bytes* b, uint16_t v) {
    if (little_endian) {
      b->push_back(static_cast<uint8_t>(v));
      b->push_back(static_cast<uint8_t>(v >> 8));
    } else {
      Put16(b, v);
    }
  };
  Bytes b = {2, 0, 0, 0};
  put(&b, 8);  // packet header TLV (type 1): hardware protocol, hook, pad
  put(&b, 1);
  Append(&b, {0x08, 0x00, 1, 0});
  put(&b, 7);  // prefix TLV (type 10): "ab\0", padded to 8
  put(&b, 10);
  Append(&b, {'a', 'b', 0, 0});
  put(&b, static_cast<uint16_t>(4 + ip.size()));
  put(&b, 9);
  Append(&b, ip);
  return b;
}

Bytes CiscoHdlc(uint16_t type, const Bytes& l3) {
  Bytes b = {0x0f, 0x00};
  Put16(&b, type);
  Append(&b, l3);
  return b;
}

// SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
Bytes SynOptions() { return {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7}; }

// ACK options: NOP NOP timestamps, NOP NOP SACK with two blocks.
Bytes SackOptions() {
  Bytes b = {1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 1, 5, 18};
  b.resize(b.size() + 16, 0xab);
  return b;
}

// Decodes the first `caplen` bytes of `packet` from an allocation of exactly that size, so
// AddressSanitizer reports any read past caplen.
DecodeStatus DecodePrefix(int link_type, const Bytes& packet, size_t caplen, DecodedPacket* out) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[caplen]);
  std::copy(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(caplen), copy.get());
  return Decode(link_type, copy.get(), static_cast<uint32_t>(caplen), out);
}

DecodeStatus DecodeAll(int link_type, const Bytes& packet, DecodedPacket* out) {
  return DecodePrefix(link_type, packet, packet.size(), out);
}

Address Src4() { return Address::FromV4(kSrc4); }
Address Dst4() { return Address::FromV4(kDst4); }
Address Src6() { return Address::FromV6(kSrc6); }
Address Dst6() { return Address::FromV6(kDst6); }

// ---- Link layers ----

TEST(DecodeTest, EthernetIpv4TcpSyn) {
  const Bytes pkt = Ether(0x0800, Ipv4(6, Tcp(kTcpSyn, SynOptions())));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkEthernet, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l3_offset, 14);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.payload_offset, 74);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.ip_proto, 6);
  EXPECT_EQ(p.ip_ttl, 64);
  EXPECT_EQ(p.vlan_depth, 0);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.src, Src4());
  EXPECT_EQ(p.dst, Dst4());
  EXPECT_EQ(p.src_port, 43210);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.ip_len, 60u);
  EXPECT_EQ(p.payload_len, 0u);
  EXPECT_EQ(p.tcp_seq, 0x01020304u);
  EXPECT_EQ(p.tcp_ack, 0xa0b0c0d0u);
  EXPECT_EQ(p.tcp_window, 65535);
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
  EXPECT_EQ(p.tcp_wscale, 7);
  EXPECT_TRUE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_ts_val, 1u);
  EXPECT_EQ(p.tcp_ts_ecr, 2u);
  EXPECT_EQ(p.tcp_sack_blocks, 0);
}

TEST(DecodeTest, TcpSackAndTimestampsOnAck) {
  const Bytes pkt = Ether(0x0800, Ipv4(6, Tcp(kTcpAck, SackOptions(), 100)));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkEthernet, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.tcp_sack_blocks, 2);
  EXPECT_TRUE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_ts_val, 0x11223344u);
  EXPECT_EQ(p.tcp_ts_ecr, 0x55667788u);
  EXPECT_EQ(p.tcp_wscale, 0xff);
  EXPECT_EQ(p.payload_offset, 14 + 20 + 52);
  EXPECT_EQ(p.payload_len, 100u);
}

TEST(DecodeTest, WindowScaleOnlyOnSynAndCappedAt14) {
  DecodedPacket p;
  const Bytes ack = Ether(0x0800, Ipv4(6, Tcp(kTcpAck, {1, 3, 3, 7})));
  ASSERT_EQ(DecodeAll(kLinkEthernet, ack, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.tcp_wscale, 0xff);
  const Bytes big = Ether(0x0800, Ipv4(6, Tcp(kTcpSyn | kTcpAck, {1, 3, 3, 200})));
  ASSERT_EQ(DecodeAll(kLinkEthernet, big, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.tcp_wscale, 14);
}

TEST(DecodeTest, SingleVlanIpv6) {
  const Bytes pkt = Ether(0x86dd, Ipv6(6, Tcp(kTcpAck, {}, 10)), {0x8100});
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkEthernet, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.vlan_depth, 1);
  EXPECT_EQ(p.l3_offset, 18);
  EXPECT_EQ(p.l4_offset, 58);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.ip_ttl, 57);
  EXPECT_EQ(p.src, Src6());
  EXPECT_EQ(p.dst, Dst6());
  EXPECT_EQ(p.ip_len, 70u);
  EXPECT_EQ(p.payload_len, 10u);
}

TEST(DecodeTest, QinQAllTagTypes) {
  const Bytes pkt = Ether(0x0800, Ipv4(17, Udp(12)), {0x88a8, 0x9100, 0x8100});
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkEthernet, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.vlan_depth, 3);
  EXPECT_EQ(p.l3_offset, 26);
  EXPECT_EQ(p.ip_proto, 17);
  EXPECT_EQ(p.src_port, 5353);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.payload_len, 12u);
}

TEST(DecodeTest, VlanDepthIsBounded) {
  DecodedPacket p;
  const Bytes deepest = Ether(0x0800, Ipv4(17, Udp(0)), std::vector<uint16_t>(255, 0x8100));
  ASSERT_EQ(DecodeAll(kLinkEthernet, deepest, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.vlan_depth, 255);
  EXPECT_EQ(p.l3_offset, 14 + 4 * 255);
  const Bytes too_deep = Ether(0x0800, Ipv4(17, Udp(0)), std::vector<uint16_t>(256, 0x8100));
  EXPECT_EQ(DecodeAll(kLinkEthernet, too_deep, &p), DecodeStatus::kNotIp);
}

TEST(DecodeTest, LinuxSllV1) {
  const Bytes pkt = Sll(0x0800, Ipv4(6, Tcp(kTcpAck, {}, 5)));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkLinuxSll, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l3_offset, 16);
  EXPECT_EQ(p.l4_offset, 36);
  EXPECT_EQ(p.payload_len, 5u);
}

TEST(DecodeTest, LinuxSllV2Ipv6) {
  const Bytes pkt = Sll2(0x86dd, Ipv6(17, Udp(3)));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkLinuxSll2, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l3_offset, 20);
  EXPECT_EQ(p.l4_offset, 60);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.payload_len, 3u);
}

TEST(DecodeTest, SllNonIpProtocol) {
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkLinuxSll, Sll(0x0806, Bytes(28, 0)), &p), DecodeStatus::kNotIp);
  EXPECT_EQ(DecodeAll(kLinkLinuxSll2, Sll2(0x0806, Bytes(28, 0)), &p), DecodeStatus::kNotIp);
}

TEST(DecodeTest, RawLinkTypesChooseByVersion) {
  for (int link : {kLinkRaw, kLinkRawAlt, kLinkRawFile}) {
    SCOPED_TRACE(link);
    DecodedPacket p;
    ASSERT_EQ(DecodeAll(link, Ipv4(6, Tcp(kTcpAck)), &p), DecodeStatus::kOk);
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.l3_offset, 0);
    EXPECT_EQ(p.l4_offset, 20);
    ASSERT_EQ(DecodeAll(link, Ipv6(6, Tcp(kTcpAck)), &p), DecodeStatus::kOk);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.l4_offset, 40);
    Bytes bad = Ipv4(6, Tcp(kTcpAck));
    bad[0] = 0x55;
    EXPECT_EQ(DecodeAll(link, bad, &p), DecodeStatus::kBadIpHeader);
  }
}

TEST(DecodeTest, LinkTypes228And229FixTheVersion) {
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkIpv4, Ipv4(17, Udp(1)), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_version, 4);
  ASSERT_EQ(DecodeAll(kLinkIpv6, Ipv6(17, Udp(1)), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(DecodeAll(kLinkIpv4, Ipv6(17, Udp(1)), &p), DecodeStatus::kBadIpHeader);
  EXPECT_EQ(DecodeAll(kLinkIpv6, Ipv4(17, Udp(40)), &p), DecodeStatus::kBadIpHeader);
}

TEST(DecodeTest, NullAcceptsBothByteOrders) {
  for (bool big_endian : {false, true}) {
    SCOPED_TRACE(big_endian);
    DecodedPacket p;
    ASSERT_EQ(DecodeAll(kLinkNull, BsdFamily(2, big_endian, Ipv4(6, Tcp(kTcpAck))), &p),
              DecodeStatus::kOk);
    EXPECT_EQ(p.l3_offset, 4);
    EXPECT_EQ(p.ip_version, 4);
    for (uint32_t family : {24u, 28u, 30u}) {
      ASSERT_EQ(DecodeAll(kLinkNull, BsdFamily(family, big_endian, Ipv6(6, Tcp(kTcpAck))), &p),
                DecodeStatus::kOk);
      EXPECT_EQ(p.ip_version, 6);
    }
    EXPECT_EQ(DecodeAll(kLinkNull, BsdFamily(7, big_endian, Ipv4(6, Tcp(kTcpAck))), &p),
              DecodeStatus::kNotIp);
  }
}

TEST(DecodeTest, LoopIsNetworkByteOrderOnly) {
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkLoop, BsdFamily(2, true, Ipv4(17, Udp(0))), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l3_offset, 4);
  ASSERT_EQ(DecodeAll(kLinkLoop, BsdFamily(24, true, Ipv6(17, Udp(0))), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(DecodeAll(kLinkLoop, BsdFamily(2, false, Ipv4(17, Udp(0))), &p), DecodeStatus::kNotIp);
}

TEST(DecodeTest, NonIpEthertypes) {
  DecodedPacket p;
  const Bytes arp = Ether(0x0806, Bytes(28, 0));
  EXPECT_EQ(DecodeAll(kLinkEthernet, arp, &p), DecodeStatus::kNotIp);
  const Bytes lldp = Ether(0x88cc, Bytes(40, 0));
  EXPECT_EQ(DecodeAll(kLinkEthernet, lldp, &p), DecodeStatus::kNotIp);
  const Bytes vlan_arp = Ether(0x0806, Bytes(28, 0), {0x8100});
  EXPECT_EQ(DecodeAll(kLinkEthernet, vlan_arp, &p), DecodeStatus::kNotIp);
  EXPECT_EQ(p.vlan_depth, 1);
}

TEST(DecodeTest, UnsupportedLinkType) {
  DecodedPacket p;
  const Bytes pkt = Ipv4(6, Tcp(kTcpAck));
  EXPECT_EQ(DecodeAll(147, pkt, &p), DecodeStatus::kUnsupportedLinkType);
  EXPECT_EQ(DecodeAll(-1, pkt, &p), DecodeStatus::kUnsupportedLinkType);
  for (int link : {kLinkNull, kLinkEthernet, kLinkRaw, kLinkRawAlt, kLinkRawFile, kLinkLoop,
                   kLinkLinuxSll, kLinkIpv4, kLinkIpv6, kLinkLinuxSll2}) {
    EXPECT_TRUE(IsSupportedLinkType(link)) << link;
  }
  EXPECT_FALSE(IsSupportedLinkType(147));
  EXPECT_FALSE(IsSupportedLinkType(113 + 1));
}

// ---- IPv4 ----

TEST(DecodeTest, Ipv4OptionsMoveTheL4Header) {
  const Bytes pkt = Ipv4(17, Udp(4), 0, {0x94, 0x04, 0, 0});  // router alert
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkRaw, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l4_offset, 24);
  EXPECT_EQ(p.ip_len, 36u);
  EXPECT_EQ(p.payload_len, 4u);
}

TEST(DecodeTest, Ipv4BadHeaders) {
  DecodedPacket p;
  Bytes bad_ihl = Ipv4(6, Tcp(kTcpAck));
  bad_ihl[0] = 0x44;
  EXPECT_EQ(DecodeAll(kLinkRaw, bad_ihl, &p), DecodeStatus::kBadIpHeader);
  Bytes short_total = Ipv4(6, Tcp(kTcpAck));
  short_total[2] = 0;
  short_total[3] = 19;
  EXPECT_EQ(DecodeAll(kLinkRaw, short_total, &p), DecodeStatus::kBadIpHeader);
  Bytes wrong_version = Ether(0x0800, Ipv6(6, Tcp(kTcpAck)));
  EXPECT_EQ(DecodeAll(kLinkEthernet, wrong_version, &p), DecodeStatus::kBadIpHeader);
}

TEST(DecodeTest, Ipv4OptionsBeyondCaptureAreTruncated) {
  Bytes pkt = Ipv4(6, Tcp(kTcpAck));
  pkt[0] = 0x4f;  // 60-byte header, 40 bytes captured
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkRaw, pkt, &p), DecodeStatus::kTruncated);
}

TEST(DecodeTest, Ipv4LengthsComeFromHeadersNotCaplen) {
  // Snaplen cut: the header claims 1500 bytes, 54 were captured.
  const Bytes full = Ether(0x0800, Ipv4(6, Tcp(kTcpAck, {}, 1460)));
  DecodedPacket p;
  ASSERT_EQ(DecodePrefix(kLinkEthernet, full, 54, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_len, 1500u);
  EXPECT_EQ(p.payload_len, 1460u);
  // Ethernet padding after a short datagram is not payload.
  Bytes padded = Ether(0x0800, Ipv4(6, Tcp(kTcpAck)));
  padded.resize(60, 0);
  ASSERT_EQ(DecodeAll(kLinkEthernet, padded, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_len, 40u);
  EXPECT_EQ(p.payload_len, 0u);
}

TEST(DecodeTest, Ipv4ZeroTotalLengthFallsBackToCaplen) {
  Bytes pkt = Ether(0x0800, Ipv4(6, Tcp(kTcpAck, {}, 3000)));
  pkt[16] = 0;
  pkt[17] = 0;
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkEthernet, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_len, 3040u);
  EXPECT_EQ(p.payload_len, 3000u);
}

TEST(DecodeTest, Ipv4Fragments) {
  DecodedPacket p;
  // First fragment: MF set, offset 0 -> L4 decoded, marked.
  const Bytes first = Ipv4(17, Udp(100), 0x2000);
  ASSERT_EQ(DecodeAll(kLinkRaw, first, &p), DecodeStatus::kOk);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.dst_port, 53);
  // Middle and last fragments: no L4 header.
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(17, Bytes(64, 0xee), 0x2000 | 185), &p),
            DecodeStatus::kFragment);
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(17, Bytes(64, 0xee), 370), &p), DecodeStatus::kFragment);
  // Don't Fragment is not a fragment.
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, Udp(1), 0x4000), &p), DecodeStatus::kOk);
  EXPECT_FALSE(p.fragment);
}

// ---- IPv6 extension headers ----

TEST(DecodeTest, Ipv6HopByHopDestOptsAndFirstFragment) {
  const Bytes tcp = Tcp(kTcpAck, SackOptions(), 7);
  const Bytes pkt =
      Ether(0x86dd, Ipv6(0, Ipv6Ext(60, 1, Ipv6Ext(44, 2, Ipv6Frag(6, 0, true, tcp)))));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkEthernet, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l4_offset, 14 + 40 + 8 + 16 + 8);
  EXPECT_EQ(p.ip_proto, 6);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.ip_len, 40u + 32 + tcp.size());
  EXPECT_EQ(p.payload_len, 7u);
  EXPECT_EQ(p.tcp_sack_blocks, 2);
}

TEST(DecodeTest, Ipv6RoutingAndAtomicFragment) {
  const Bytes pkt = Ipv6(43, Ipv6Ext(44, 3, Ipv6Frag(17, 0, false, Udp(9))));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkIpv6, pkt, &p), DecodeStatus::kOk);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.l4_offset, 40 + 24 + 8);
  EXPECT_EQ(p.payload_len, 9u);
}

TEST(DecodeTest, Ipv6NonFirstFragment) {
  DecodedPacket p;
  const Bytes middle = Ipv6(44, Ipv6Frag(6, 181, true, Bytes(64, 0xee)));
  EXPECT_EQ(DecodeAll(kLinkIpv6, middle, &p), DecodeStatus::kFragment);
  const Bytes last = Ipv6(0, Ipv6Ext(44, 1, Ipv6Frag(6, 362, false, Bytes(64, 0xee))));
  EXPECT_EQ(DecodeAll(kLinkIpv6, last, &p), DecodeStatus::kFragment);
}

TEST(DecodeTest, Ipv6AuthenticationHeaderUsesItsOwnLengthUnit) {
  // AH payload length 4 -> (4 + 2) * 4 = 24 bytes.
  Bytes ah = {17, 4};
  ah.resize(24, 0);
  Append(&ah, Udp(2));
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkIpv6, Ipv6(51, ah), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.l4_offset, 64);
  EXPECT_EQ(p.ip_proto, 17);
  EXPECT_EQ(p.payload_len, 2u);
}

TEST(DecodeTest, Ipv6EspAndNoNextHeaderStopTheWalk) {
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkIpv6, Ipv6(0, Ipv6Ext(50, 1, Bytes(100, 0x5a))), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_proto, 50);
  EXPECT_EQ(p.l4_offset, 48);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.dst_port, 0);
  EXPECT_EQ(p.payload_len, 100u);
  ASSERT_EQ(DecodeAll(kLinkIpv6, Ipv6(59, {}), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_proto, 59);
  EXPECT_EQ(p.ip_len, 40u);
  EXPECT_EQ(p.payload_len, 0u);
}

TEST(DecodeTest, Ipv6ExtensionChainIsBounded) {
  Bytes chain = Udp(0);
  for (int i = 0; i < 17; ++i) chain = Ipv6Ext(i == 0 ? 17 : 60, 1, chain);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkIpv6, Ipv6(60, chain), &p), DecodeStatus::kBadIpHeader);
  // Sixteen is fine.
  Bytes ok = Udp(0);
  for (int i = 0; i < 16; ++i) ok = Ipv6Ext(i == 0 ? 17 : 60, 1, ok);
  EXPECT_EQ(DecodeAll(kLinkIpv6, Ipv6(60, ok), &p), DecodeStatus::kOk);
}

TEST(DecodeTest, Ipv6ExtensionLongerThanPayloadIsBad) {
  Bytes pkt = Ipv6(0, Ipv6Ext(17, 1, Udp(0)));
  pkt[5] = 8;   // payload length covers only the hop-by-hop header...
  pkt[41] = 1;  // ...which now claims 16 bytes
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkIpv6, pkt, &p), DecodeStatus::kBadIpHeader);
}

TEST(DecodeTest, Ipv6ZeroPayloadLengthFallsBackToCaplen) {
  Bytes pkt = Ipv6(6, Tcp(kTcpAck, {}, 2000));
  pkt[4] = 0;
  pkt[5] = 0;
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkIpv6, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_len, 2060u);
  EXPECT_EQ(p.payload_len, 2000u);
}

// ---- Layer 4 ----

TEST(DecodeTest, UdpLengthUsesTheSmallerClaim) {
  DecodedPacket p;
  Bytes udp_longer = Ipv4(17, Udp(10));
  udp_longer[25] = 200;  // UDP says 200, IP says 18
  ASSERT_EQ(DecodeAll(kLinkRaw, udp_longer, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.payload_len, 10u);
  Bytes udp_shorter = Ipv4(17, Udp(10));
  udp_shorter[25] = 12;
  ASSERT_EQ(DecodeAll(kLinkRaw, udp_shorter, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.payload_len, 4u);
  Bytes too_short = Ipv4(17, Udp(10));
  too_short[25] = 7;
  EXPECT_EQ(DecodeAll(kLinkRaw, too_short, &p), DecodeStatus::kBadL4Header);
}

TEST(DecodeTest, IcmpTypeAndCodeAsPorts) {
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(1, Icmp(8, 0, 60)), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_proto, 1);
  EXPECT_EQ(p.src_port, 8);
  EXPECT_EQ(p.dst_port, 0);
  EXPECT_EQ(p.payload_offset, 24);
  EXPECT_EQ(p.payload_len, 60u);
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv6(58, Icmp(1, 4, 48)), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_proto, 58);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_EQ(p.dst_port, 4);
  EXPECT_EQ(p.payload_len, 48u);
}

TEST(DecodeTest, OtherProtocolCountsTheWholeIpPayload) {
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(132, Bytes(36, 0x11)), &p), DecodeStatus::kOk);  // SCTP
  EXPECT_EQ(p.ip_proto, 132);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.payload_offset, 20);
  EXPECT_EQ(p.payload_len, 36u);
}

TEST(DecodeTest, TcpDataOffsetBelowFiveIsBad) {
  Bytes pkt = Ipv4(6, Tcp(kTcpAck, {}, 10));
  pkt[32] = 3 << 4;
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkRaw, pkt, &p), DecodeStatus::kBadL4Header);
}

TEST(DecodeTest, TcpHeaderLongerThanIpPayloadIsBad) {
  Bytes pkt = Ipv4(6, Tcp(kTcpAck));
  pkt[32] = 15 << 4;  // 60-byte header in a 20-byte IP payload
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkRaw, pkt, &p), DecodeStatus::kBadL4Header);
  EXPECT_EQ(p.payload_len, 0u);
}

TEST(DecodeTest, GarbageTcpOptionsStopParsing) {
  DecodedPacket p;
  // Zero length, then a timestamp that would otherwise be read.
  const Bytes zero_len = Ipv4(6, Tcp(kTcpAck, {3, 0, 8, 10, 0, 0, 0, 9, 0, 0, 0, 9}));
  ASSERT_EQ(DecodeAll(kLinkRaw, zero_len, &p), DecodeStatus::kOk);
  EXPECT_FALSE(p.tcp_has_ts);
  // An option running past the header end.
  const Bytes overlong = Ipv4(6, Tcp(kTcpSyn, {1, 1, 3, 40}));
  ASSERT_EQ(DecodeAll(kLinkRaw, overlong, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.tcp_wscale, 0xff);
  // End of list stops before a valid option.
  const Bytes eol = Ipv4(6, Tcp(kTcpSyn, {0, 3, 3, 5}));
  ASSERT_EQ(DecodeAll(kLinkRaw, eol, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.tcp_wscale, 0xff);
  // Known kinds with wrong lengths are skipped, the rest still parsed.
  const Bytes odd = Ipv4(6, Tcp(kTcpSyn, {8, 4, 0, 0, 5, 7, 0, 0, 0, 0, 0, 3, 3, 2}));
  ASSERT_EQ(DecodeAll(kLinkRaw, odd, &p), DecodeStatus::kOk);
  EXPECT_FALSE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_sack_blocks, 0);
  EXPECT_EQ(p.tcp_wscale, 2);
}

TEST(DecodeTest, TcpOptionsCutBySnaplenAreNotRead) {
  const Bytes full = Ipv4(6, Tcp(kTcpSyn, SynOptions()));
  DecodedPacket p;
  // Cut inside the timestamp option: MSS and SACK-permitted read, timestamps not.
  ASSERT_EQ(DecodePrefix(kLinkRaw, full, 20 + 20 + 10, &p), DecodeStatus::kOk);
  EXPECT_FALSE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_wscale, 0xff);
  EXPECT_EQ(p.payload_offset, 60);
}

TEST(DecodeTest, StatusNamesAreDistinct) {
  std::vector<std::string> names;
  for (int i = 0; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    names.emplace_back(DecodeStatusName(static_cast<DecodeStatus>(i)));
  }
  EXPECT_THAT(
      names, ::testing::ElementsAre("ok", "truncated", "unsupported_link_type", "not_ip",
                                    "bad_ip_header", "fragment", "bad_l4_header", "bad_link_header",
                                    "bad_tunnel_header", "too_many_tunnels"));
}

// ---- Encapsulations ----

// Decodes `pkt` expecting the TCP flow of Tcp() between the IPv4 (or IPv6) test addresses,
// come through `tunnel`, its IP header at `l3`.
void ExpectInnerTcp(int link_type, const Bytes& pkt, const std::string& tunnel, uint16_t l3,
                    bool v6 = false) {
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(link_type, pkt, &p), DecodeStatus::kOk);
  EXPECT_EQ(TunnelPathName(p.tunnels), tunnel);
  EXPECT_EQ(p.l3_offset, l3);
  EXPECT_EQ(p.ip_version, v6 ? 6 : 4);
  EXPECT_EQ(p.src, v6 ? Src6() : Src4());
  EXPECT_EQ(p.ip_proto, 6);
  EXPECT_EQ(p.src_port, 43210);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.payload_len, 5u);
}

TEST(DecodeTest, PppoeSessionCarriesIp) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkEthernet, Ether(0x8864, Pppoe(Ppp(0x0021, Ipv4(6, tcp), false))), "pppoe",
                 14 + 6 + 2);
  ExpectInnerTcp(kLinkEthernet, Ether(0x8864, Pppoe(Ppp(0x0057, Ipv6(6, tcp), false)), {0x8100}),
                 "pppoe", 18 + 6 + 2, true);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkEthernet, Ether(0x8864, Pppoe(Ppp(0xc021, Bytes(8, 0), false))), &p),
            DecodeStatus::kNotIp);  // LCP
  Bytes bad = Ether(0x8864, Pppoe(Ppp(0x0021, Ipv4(6, tcp), false)));
  bad[14] = 0x21;  // version 2
  EXPECT_EQ(DecodeAll(kLinkEthernet, bad, &p), DecodeStatus::kBadTunnel);
}

TEST(DecodeTest, MplsStackToItsBottomThenIpByVersion) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkEthernet, Ether(0x8847, Mpls(3, Ipv6(6, tcp)), {0x8100}), "mpls", 18 + 12,
                 true);
  ExpectInnerTcp(kLinkEthernet, Ether(0x8848, Mpls(1, Ipv4(6, tcp))), "mpls", 14 + 4);
  DecodedPacket p;
  // A pseudowire's control word (first nibble 0) is not IP.
  EXPECT_EQ(DecodeAll(kLinkEthernet, Ether(0x8847, Mpls(1, Bytes(20, 0))), &p),
            DecodeStatus::kNotIp);
  // A stack that never ends is cut at 16 labels.
  EXPECT_EQ(DecodeAll(kLinkEthernet, Ether(0x8847, Bytes(4 * 20, 0)), &p),
            DecodeStatus::kBadTunnel);
}

TEST(DecodeTest, GreWithChecksumKeyAndSequenceNumber) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkEthernet, Ether(0x0800, Ipv4(47, Gre(0xb000, 0x0800, Ipv4(6, tcp)))), "gre",
                 14 + 20 + 16);
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0x2000, 0x86dd, Ipv6(6, tcp))), "gre", 20 + 8, true);
  // Transparent Ethernet bridging: a frame, VLAN tags and all.
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0, 0x6558, Ether(0x0800, Ipv4(6, tcp), {0x8100}))), "gre",
                 20 + 4 + 18);
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0, 0x8847, Mpls(2, Ipv4(6, tcp)))), "gre/mpls", 20 + 4 + 8);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(47, Gre(0x4000, 0x0800, Ipv4(6, tcp))), &p),
            DecodeStatus::kBadTunnel);  // RFC 1701 routing
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(47, Gre(0x0002, 0x0800, Ipv4(6, tcp))), &p),
            DecodeStatus::kBadTunnel);  // version 2
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(47, Gre(0, 0x0806, Bytes(28, 0))), &p),
            DecodeStatus::kNotIp);  // ARP
}

TEST(DecodeTest, PptpEnhancedGreCarriesPpp) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Pptp(Ppp(0x0021, Ipv4(6, tcp)), false)), "pptp", 20 + 12 + 4);
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Pptp(Ppp(0x0021, Ipv4(6, tcp), false, true), true)), "pptp",
                 20 + 16 + 1);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(47, Pptp({}, true)), &p), DecodeStatus::kNotIp);  // ack only
}

TEST(DecodeTest, IpInIpNamesBothFamilies) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkRaw, Ipv4(4, Ipv4(6, tcp)), "4in4", 20);
  ExpectInnerTcp(kLinkRaw, Ipv4(41, Ipv6(6, tcp)), "6in4", 20, true);
  ExpectInnerTcp(kLinkRaw, Ipv6(4, Ipv4(6, tcp)), "4in6", 40);
  ExpectInnerTcp(kLinkRaw, Ipv6(0, Ipv6Ext(41, 1, Ipv6(6, tcp))), "6in6", 48, true);
}

TEST(DecodeTest, VxlanAndGeneveCarryEthernet) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  const Bytes frame = Frame(0x0800, Ipv4(6, tcp));
  ExpectInnerTcp(kLinkEthernet, Ether(0x0800, Ipv4(17, UdpTo(50000, 4789, Vxlan(frame)))), "vxlan",
                 14 + 20 + 8 + 8 + 14);
  ExpectInnerTcp(kLinkRaw, Ipv4(17, UdpTo(50000, 6081, Geneve(0x6558, 3, frame))), "geneve",
                 20 + 8 + 20 + 14);
  ExpectInnerTcp(kLinkRaw, Ipv6(17, UdpTo(50000, 6081, Geneve(0x86dd, 0, Ipv6(6, tcp)))), "geneve",
                 40 + 8 + 8, true);
  // Without VXLAN's I flag, or the wrong Geneve version: an ordinary UDP packet.
  Bytes no_i = Ipv4(17, UdpTo(50000, 4789, Vxlan(frame)));
  no_i[28] = 0;
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkRaw, no_i, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.ip_proto, 17);
  EXPECT_EQ(p.dst_port, 4789);
  EXPECT_TRUE(p.tunnels.empty());
  // Too short to be VXLAN at all: UDP too.
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, UdpTo(50000, 4789, {1, 2})), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.dst_port, 4789);
}

TEST(DecodeTest, GtpuGpduWithExtensionHeaders) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkRaw, Ipv4(17, UdpTo(2152, 2152, Gtpu(Ipv4(6, tcp), false))), "gtpu",
                 20 + 8 + 8);
  ExpectInnerTcp(kLinkRaw, Ipv4(17, UdpTo(2152, 2152, Gtpu(Ipv6(6, tcp), true))), "gtpu",
                 20 + 8 + 8 + 4 + 12, true);
  // An echo request is GTP-U's own UDP traffic.
  Bytes echo = Gtpu({}, false);
  echo[1] = 1;
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, UdpTo(2152, 2152, echo)), &p), DecodeStatus::kOk);
  EXPECT_EQ(p.src_port, 2152);
  EXPECT_TRUE(p.tunnels.empty());
  // An extension header of length 0 would never end.
  Bytes bad = Gtpu(Ipv4(6, tcp), true);
  bad[12] = 0;
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(17, UdpTo(2152, 2152, bad)), &p), DecodeStatus::kBadTunnel);
}

TEST(DecodeTest, ErspanTypesTwoAndThree) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  const Bytes frame = Frame(0x0800, Ipv4(6, tcp));
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0x1000, 0x88be, Erspan(2, false, frame))), "erspan",
                 20 + 8 + 8 + 14);
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0, 0x88be, frame)), "erspan", 20 + 4 + 14);  // type I
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0x1000, 0x22eb, Erspan(3, false, frame))), "erspan",
                 20 + 8 + 12 + 14);
  ExpectInnerTcp(kLinkRaw, Ipv4(47, Gre(0x1000, 0x22eb, Erspan(3, true, frame))), "erspan",
                 20 + 8 + 20 + 14);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkRaw, Ipv4(47, Gre(0x1000, 0x22eb, Erspan(2, false, frame))), &p),
            DecodeStatus::kBadTunnel);  // a type II header announced as type III
}

TEST(DecodeTest, TeredoSkipsItsIndications) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkRaw, Ipv4(17, UdpTo(3544, 50000, Teredo(Ipv6(6, tcp)))), "teredo",
                 20 + 8 + 15 + 8, true);
  ExpectInnerTcp(kLinkRaw, Ipv4(17, UdpTo(50000, 3544, Ipv6(6, tcp))), "teredo", 28, true);
  DecodedPacket p;
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, UdpTo(50000, 3544, Bytes(48, 0x45))), &p),
            DecodeStatus::kOk);  // no IPv6 inside: UDP
  EXPECT_EQ(p.dst_port, 3544);
  EXPECT_TRUE(p.tunnels.empty());
}

TEST(DecodeTest, TunnelsNestUpToFourDeep) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  const Bytes four = Ipv4(
      4, Ipv4(47, Gre(0, 0x0800,
                      Ipv4(17, UdpTo(1, 4789, Vxlan(Frame(0x0800, Ipv4(41, Ipv6(6, tcp)))))))));
  ExpectInnerTcp(kLinkRaw, four, "4in4/gre/vxlan/6in4", 20 + 20 + 4 + 20 + 16 + 14 + 20, true);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkEthernet, Ether(0x8864, Pppoe(Ppp(0x0021, four))), &p),
            DecodeStatus::kTooManyTunnels);
  // IP in IP in IP ... as deep as the packet allows stops at the fifth.
  Bytes deep = Ipv4(6, tcp);
  for (int i = 0; i < 100; ++i) deep = Ipv4(4, deep);
  EXPECT_EQ(DecodeAll(kLinkRaw, deep, &p), DecodeStatus::kTooManyTunnels);
}

TEST(DecodeTest, FragmentsOfOneDatagramShareAKey) {
  DecodedPacket first, later, other;
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, Udp(100), 0x2000), &first), DecodeStatus::kOk);
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, Bytes(64, 0xee), 185), &later), DecodeStatus::kFragment);
  EXPECT_NE(first.frag_key, 0u);
  EXPECT_EQ(later.frag_key, first.frag_key);
  EXPECT_EQ(later.ip_len, 84u);
  EXPECT_EQ(later.payload_len, 64u);
  Bytes other_id = Ipv4(17, Bytes(64, 0xee), 185);
  other_id[5] = 0x35;
  ASSERT_EQ(DecodeAll(kLinkRaw, other_id, &other), DecodeStatus::kFragment);
  EXPECT_NE(other.frag_key, first.frag_key);
  // IPv6: the fragment header's identification.
  ASSERT_EQ(DecodeAll(kLinkIpv6, Ipv6(44, Ipv6Frag(17, 0, true, Udp(100))), &first),
            DecodeStatus::kOk);
  ASSERT_EQ(DecodeAll(kLinkIpv6, Ipv6(44, Ipv6Frag(17, 14, false, Bytes(64, 0))), &later),
            DecodeStatus::kFragment);
  EXPECT_EQ(later.frag_key, first.frag_key);
  EXPECT_EQ(later.payload_len, 64u);
  // Whole datagrams have none.
  ASSERT_EQ(DecodeAll(kLinkRaw, Ipv4(17, Udp(100)), &other), DecodeStatus::kOk);
  EXPECT_EQ(other.frag_key, 0u);
}

// ---- Link types of serial lines, wireless and netfilter ----

TEST(DecodeTest, PppLinkWithAndWithoutHdlcFraming) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkPpp, Ppp(0x0021, Ipv4(6, tcp)), "", 4);
  ExpectInnerTcp(kLinkPpp, Ppp(0x0057, Ipv6(6, tcp), false), "", 2, true);
  ExpectInnerTcp(kLinkPpp, Ppp(0x0021, Ipv4(6, tcp), false, true), "", 1);
  ExpectInnerTcp(kLinkPpp, Ppp(0x0281, Mpls(1, Ipv4(6, tcp))), "mpls", 8);
  ExpectInnerTcp(kLinkPppHdlc, Ppp(0x0021, Ipv4(6, tcp)), "", 4);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkPpp, Ppp(0xc023, Bytes(8, 0)), &p), DecodeStatus::kNotIp);  // PAP
  EXPECT_EQ(DecodeAll(kLinkPpp, {0xff, 0x13, 0x00, 0x21}, &p), DecodeStatus::kBadLinkHeader);
}

TEST(DecodeTest, CiscoHdlc) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkCiscoHdlc, CiscoHdlc(0x0800, Ipv4(6, tcp)), "", 4);
  ExpectInnerTcp(kLinkPppHdlc, CiscoHdlc(0x86dd, Ipv6(6, tcp)), "", 4, true);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkCiscoHdlc, CiscoHdlc(0x8035, Bytes(20, 0)), &p),
            DecodeStatus::kNotIp);  // SLARP
}

TEST(DecodeTest, NflogPayloadTlvInEitherByteOrder) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkNflog, Nflog(Ipv4(6, tcp), true), "", 24);
  ExpectInnerTcp(kLinkNflog, Nflog(Ipv4(6, tcp), false), "", 24);
  Bytes bad = Nflog(Ipv4(6, tcp), true);
  bad[12] = 2;  // the prefix TLV shorter than its header
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkNflog, bad, &p), DecodeStatus::kBadLinkHeader);
  Bytes no_payload = Nflog({}, true);
  no_payload.resize(no_payload.size() - 4);  // the payload TLV
  EXPECT_EQ(DecodeAll(kLinkNflog, no_payload, &p), DecodeStatus::kTruncated);
}

TEST(DecodeTest, Ieee80211DataFramesByToDsFromDsAndQos) {
  const Bytes tcp = Tcp(kTcpAck, {}, 5);
  ExpectInnerTcp(kLinkIeee80211, Wifi(0x08, 0x01, 0x0800, Ipv4(6, tcp)), "", 24 + 8);
  ExpectInnerTcp(kLinkRadiotap, Radiotap(Wifi(0x88, 0x02, 0x0800, Ipv4(6, tcp)), 12), "",
                 12 + 26 + 8);
  ExpectInnerTcp(kLinkRadiotap, Radiotap(Wifi(0x88, 0x83, 0x86dd, Ipv6(6, tcp))), "",
                 8 + 30 + 2 + 4 + 8, true);
  DecodedPacket p;
  EXPECT_EQ(DecodeAll(kLinkIeee80211, Wifi(0x08, 0x41, 0x0800, Ipv4(6, tcp)), &p),
            DecodeStatus::kNotIp);  // protected
  EXPECT_EQ(DecodeAll(kLinkIeee80211, Wifi(0xc0, 0x00, 0x0800, Ipv4(6, tcp)), &p),
            DecodeStatus::kNotIp);  // deauthentication
  EXPECT_EQ(DecodeAll(kLinkIeee80211, Wifi(0x48, 0x01, 0x0800, {}), &p),
            DecodeStatus::kNotIp);  // null function
  Bytes amsdu = Wifi(0x88, 0x01, 0x0800, Ipv4(6, tcp));
  amsdu[24] = 0x80;
  EXPECT_EQ(DecodeAll(kLinkIeee80211, amsdu, &p), DecodeStatus::kNotIp);
  Bytes bad = Radiotap(Wifi(0x08, 0x01, 0x0800, Ipv4(6, tcp)));
  bad[0] = 1;  // radiotap version 1
  EXPECT_EQ(DecodeAll(kLinkRadiotap, bad, &p), DecodeStatus::kBadLinkHeader);
}

// ---- Truncation at every length, for every link type ----

struct TruncationCase {
  const char* name;
  int link_type;
  Bytes packet;
};

std::vector<TruncationCase> TruncationCases() {
  const Bytes v4 = Ipv4(6, Tcp(kTcpSyn, SynOptions(), 30));
  const Bytes v6 = Ipv6(0, Ipv6Ext(60, 2, Ipv6Frag(6, 0, true, Tcp(kTcpAck, SackOptions(), 30))));
  return {
      {"Ethernet", kLinkEthernet, Ether(0x0800, v4)},
      {"EthernetV6", kLinkEthernet, Ether(0x86dd, v6)},
      {"Vlan", kLinkEthernet, Ether(0x0800, v4, {0x8100})},
      {"QinQ", kLinkEthernet, Ether(0x86dd, v6, {0x88a8, 0x8100})},
      {"Sll", kLinkLinuxSll, Sll(0x0800, v4)},
      {"Sll2", kLinkLinuxSll2, Sll2(0x86dd, v6)},
      {"RawV4", kLinkRaw, v4},
      {"RawV6", kLinkRawFile, v6},
      {"NullLittle", kLinkNull, BsdFamily(2, false, v4)},
      {"NullBig", kLinkNull, BsdFamily(30, true, v6)},
      {"Loop", kLinkLoop, BsdFamily(2, true, v4)},
      {"Ipv4", kLinkIpv4, v4},
      {"Ipv6", kLinkIpv6, v6},
      {"Pppoe", kLinkEthernet, Ether(0x8864, Pppoe(Ppp(0x0021, v4, false)))},
      {"Mpls", kLinkEthernet, Ether(0x8847, Mpls(2, v6), {0x8100})},
      {"Gre", kLinkRaw, Ipv4(47, Gre(0xb000, 0x0800, v4))},
      {"GreEthernet", kLinkRaw, Ipv4(47, Gre(0, 0x6558, Frame(0x86dd, v6)))},
      {"Pptp", kLinkRaw, Ipv4(47, Pptp(Ppp(0x0021, v4, true, true), true))},
      {"Erspan2", kLinkRaw, Ipv4(47, Gre(0x1000, 0x88be, Erspan(2, false, Frame(0x0800, v4))))},
      {"Erspan3", kLinkRaw, Ipv4(47, Gre(0x1000, 0x22eb, Erspan(3, true, Frame(0x0800, v4))))},
      {"Vxlan", kLinkRaw, Ipv4(17, UdpTo(1, 4789, Vxlan(Frame(0x0800, v4))))},
      {"Geneve", kLinkRaw, Ipv6(17, UdpTo(1, 6081, Geneve(0x6558, 2, Frame(0x86dd, v6))))},
      {"Gtpu", kLinkRaw, Ipv4(17, UdpTo(2152, 2152, Gtpu(v6, true)))},
      {"Teredo", kLinkRaw, Ipv4(17, UdpTo(3544, 1, Teredo(v6)))},
      {"IpInIp", kLinkRaw, Ipv6(4, Ipv4(41, v6))},
      {"Ppp", kLinkPpp, Ppp(0x0021, v4)},
      {"PppHdlc", kLinkPppHdlc, Ppp(0x0057, v6)},
      {"CiscoHdlc", kLinkCiscoHdlc, CiscoHdlc(0x0800, v4)},
      {"NflogLe", kLinkNflog, Nflog(v4, true)},
      {"NflogBe", kLinkNflog, Nflog(v4, false)},
      {"Radiotap", kLinkRadiotap, Radiotap(Wifi(0x88, 0x83, 0x0800, v4), 12)},
      {"Ieee80211", kLinkIeee80211, Wifi(0x08, 0x02, 0x86dd, v6)},
  };
}

class TruncationTest : public ::testing::TestWithParam<TruncationCase> {};

TEST_P(TruncationTest, TruncatedUntilTcpFixedHeaderThenOk) {
  const TruncationCase& c = GetParam();
  DecodedPacket full;
  ASSERT_EQ(DecodeAll(c.link_type, c.packet, &full), DecodeStatus::kOk);
  const size_t tcp_end = full.l4_offset + 20u;
  for (size_t caplen = 0; caplen <= c.packet.size(); ++caplen) {
    DecodedPacket p;
    const DecodeStatus s = DecodePrefix(c.link_type, c.packet, caplen, &p);
    if (caplen < tcp_end) {
      EXPECT_EQ(s, DecodeStatus::kTruncated) << "caplen " << caplen;
    } else {
      ASSERT_EQ(s, DecodeStatus::kOk) << "caplen " << caplen;
      EXPECT_EQ(p.ip_len, full.ip_len);
      EXPECT_EQ(p.payload_len, full.payload_len);
      EXPECT_EQ(p.src_port, full.src_port);
    }
  }
  // Nothing at all, not even a pointer.
  DecodedPacket p;
  EXPECT_EQ(Decode(c.link_type, nullptr, 0, &p), DecodeStatus::kTruncated);
}

INSTANTIATE_TEST_SUITE_P(AllLinkTypes, TruncationTest, ::testing::ValuesIn(TruncationCases()),
                         [](const ::testing::TestParamInfo<TruncationCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

// ---- Robustness: mutated and random packets never read outside the capture ----

TEST(DecodeTest, MutatedPacketsNeverCrash) {
  std::mt19937 rng(12345);
  const std::vector<TruncationCase> seeds = TruncationCases();
  for (int iter = 0; iter < 20000; ++iter) {
    const TruncationCase& seed = seeds[rng() % seeds.size()];
    Bytes pkt = seed.packet;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) pkt[rng() % pkt.size()] = static_cast<uint8_t>(rng());
    const size_t caplen = rng() % (pkt.size() + 1);
    DecodedPacket p;
    const DecodeStatus s = DecodePrefix(seed.link_type, pkt, caplen, &p);
    ASSERT_LT(static_cast<int>(s), static_cast<int>(DecodeStatus::kCount));
    if (s == DecodeStatus::kOk) {
      ASSERT_LE(p.l4_offset, caplen);
    }
  }
}

TEST(DecodeTest, RandomBytesNeverCrash) {
  std::mt19937 rng(777);
  const int links[] = {kLinkNull,      kLinkEthernet,  kLinkRaw,       kLinkLoop, kLinkLinuxSll,
                       kLinkIpv4,      kLinkIpv6,      kLinkLinuxSll2, kLinkPpp,  kLinkPppHdlc,
                       kLinkCiscoHdlc, kLinkIeee80211, kLinkRadiotap,  kLinkNflog};
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes pkt(rng() % 160);
    for (uint8_t& b : pkt) b = static_cast<uint8_t>(rng());
    if (pkt.size() > 20 && rng() % 2 == 0) pkt[rng() % 21] = (rng() % 2) ? 0x45 : 0x60;
    DecodedPacket p;
    const DecodeStatus s = DecodeAll(links[rng() % std::size(links)], pkt, &p);
    ASSERT_LT(static_cast<int>(s), static_cast<int>(DecodeStatus::kCount));
  }
}

}  // namespace
}  // namespace tw::capture
