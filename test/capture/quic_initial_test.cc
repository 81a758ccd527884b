#include "capture/quic_initial.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "capture/tls_sni.h"
#include "test/support/quic_samples.h"

namespace tw::capture {
namespace {

using tw::testing::FromHex;

// The server name in the handshake bytes of a parsed Initial whose stream starts in it.
std::string NameIn(const QuicInitial& q) {
  for (size_t i = 0; i < q.chunks; ++i) {
    if (q.chunk[i].offset != 0) continue;
    std::string_view name;
    const uint8_t* d = q.bytes.data() + q.chunk[i].at;
    const bool ok = q.handshake == QuicHandshake::kChlo
                        ? ParseChloSni(d, q.chunk[i].len, &name)
                        : ParseClientHelloSni(d, q.chunk[i].len, &name);
    if (ok) return std::string(name);
  }
  return "";
}

TEST(QuicInitialTest, Rfc9001ClientInitialDecrypts) {
  const std::vector<uint8_t> pkt = FromHex(tw::testing::kRfc9001ClientInitialHex);
  ASSERT_EQ(pkt.size(), 1200u);
  EXPECT_TRUE(MayBeQuicInitial(pkt.data(), pkt.size()));
  QuicInitial q;
  ASSERT_TRUE(ParseQuicInitial(pkt.data(), pkt.size(), &q));
  EXPECT_EQ(q.version, "V-1");
  EXPECT_EQ(q.handshake, QuicHandshake::kTls);
  ASSERT_EQ(q.chunks, 1u);
  EXPECT_EQ(q.chunk[0].offset, 0u);
  EXPECT_EQ(q.chunk[0].len, 241u);  // the CRYPTO frame's length, 0x40f1
  // The ClientHello as RFC 9001 A.2 prints it: type 1, length 0xed, legacy version 0x0303.
  const uint8_t* ch = q.bytes.data() + q.chunk[0].at;
  EXPECT_EQ(std::vector<uint8_t>(ch, ch + 6), (std::vector<uint8_t>{1, 0, 0, 0xed, 3, 3}));
  EXPECT_EQ(NameIn(q), "example.com");
}

TEST(QuicInitialTest, Rfc9369V2ClientInitialDecrypts) {
  const std::vector<uint8_t> pkt = FromHex(tw::testing::kRfc9369ClientInitialHex);
  ASSERT_EQ(pkt.size(), 1200u);
  QuicInitial q;
  ASSERT_TRUE(ParseQuicInitial(pkt.data(), pkt.size(), &q));
  EXPECT_EQ(q.version, "V-2");
  ASSERT_EQ(q.chunks, 1u);
  EXPECT_EQ(q.chunk[0].len, 241u);
  EXPECT_EQ(NameIn(q), "example.com");
}

// A v2 packet read with v1's keys (or the reverse) does not authenticate: nothing is returned.
TEST(QuicInitialTest, WrongVersionDoesNotAuthenticate) {
  std::vector<uint8_t> pkt = FromHex(tw::testing::kRfc9001ClientInitialHex);
  pkt[4] = 2;  // version 2 is not a version we read
  QuicInitial q;
  EXPECT_FALSE(ParseQuicInitial(pkt.data(), pkt.size(), &q));
  pkt[1] = 0xff, pkt[2] = 0, pkt[3] = 0, pkt[4] = 29;  // draft-29: another salt
  EXPECT_FALSE(ParseQuicInitial(pkt.data(), pkt.size(), &q));
}

// Coalesced packets: a Handshake packet before the Initial is skipped, a second Initial read.
TEST(QuicInitialTest, CoalescedPacketsAreWalked) {
  const std::vector<uint8_t> initial = FromHex(tw::testing::kRfc9001ClientInitialHex);
  std::vector<uint8_t> d = {
      0xe0, 0,    0,    0,    1, 8, 0x83, 0x94, 0xc8, 0xf0,
      0x3e, 0x51, 0x57, 0x08, 0, 4, 1,    2,    3,    4};  // Handshake: type 2, length 4
  d.insert(d.end(), initial.begin(), initial.end());
  d.insert(d.end(), initial.begin(), initial.end());
  QuicInitial q;
  ASSERT_TRUE(ParseQuicInitial(d.data(), d.size(), &q));
  EXPECT_EQ(q.chunks, 2u);
  EXPECT_EQ(NameIn(q), "example.com");
}

// Every prefix of the packet, and every single-byte change, is read without a fault; none of
// the prefixes (the packet is cut) nor the changed ciphertexts give anything.
TEST(QuicInitialTest, TruncatedAndCorruptedPacketsGiveNothing) {
  const std::vector<uint8_t> pkt = FromHex(tw::testing::kRfc9001ClientInitialHex);
  QuicInitial q;
  for (size_t n = 0; n < pkt.size(); ++n) {
    std::vector<uint8_t> cut(pkt.begin(),
                             pkt.begin() + long(n));  // exact size: ASan sees overreads
    EXPECT_FALSE(ParseQuicInitial(cut.data(), cut.size(), &q)) << n;
  }
  for (size_t i = 0; i < pkt.size(); ++i) {
    std::vector<uint8_t> bad = pkt;
    bad[i] ^= 0x40;
    const bool ok = ParseQuicInitial(bad.data(), bad.size(), &q);
    // Changes past the header break the AEAD tag; the packet number's length bits too.
    if (i >= 22) {
      EXPECT_FALSE(ok) << i;
    }
  }
  EXPECT_FALSE(ParseQuicInitial(nullptr, 0, &q));
}

// Random bytes behind plausible headers of each kind of version: no fault, no name.
TEST(QuicInitialTest, RandomPayloadsAreHarmless) {
  std::mt19937 rng(7);
  const std::vector<std::vector<uint8_t>> heads = {
      {0xc3, 0, 0, 0, 1},         {0xd3, 0x6b, 0x33, 0x43, 0xcf},
      {0xc3, 0xff, 0, 0, 29},     {0xc3, 0xfa, 0xce, 0xb0, 2},
      {0xc3, 'Q', '0', '5', '0'}, {0xc3, 'T', '0', '5', '1'},
      {0xc3, 'Q', '0', '4', '6'}, {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '4', '3'}};
  QuicInitial q;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> d = heads[size_t(round) % heads.size()];
    const size_t n = rng() % 1400;
    for (size_t i = 0; i < n; ++i) d.push_back(uint8_t(rng()));
    if (d.size() > 5 && (d[0] & 0x80)) d[5] = uint8_t(rng() % 24);  // often a valid cid length
    std::vector<uint8_t> exact(d);
    if (ParseQuicInitial(exact.data(), exact.size(), &q)) {
      // Only clear-text gQUIC can "succeed" on random bytes; its pieces stay in bounds.
      for (size_t i = 0; i < q.chunks; ++i) {
        EXPECT_LE(size_t(q.chunk[i].at) + q.chunk[i].len, QuicInitial::kMaxBytes);
      }
    }
  }
}

// A gQUIC CHLO: "CHLO", tag count (little-endian), padding, then (tag, end offset) pairs and
// the values.
std::vector<uint8_t> Chlo(const std::string& sni) {
  std::vector<uint8_t> m = {'C', 'H', 'L', 'O', 2, 0, 0, 0};
  auto tag = [&](const char* t, uint32_t end) {
    m.insert(m.end(), t, t + 4);
    for (int i = 0; i < 4; ++i) m.push_back(uint8_t(end >> (8 * i)));
  };
  tag("PAD\0", 3);
  tag("SNI\0", uint32_t(3 + sni.size()));
  m.insert(m.end(), {'-', '-', '-'});
  m.insert(m.end(), sni.begin(), sni.end());
  return m;
}

// A clear-text gQUIC client packet (public header, 12-byte hash, STREAM frame on stream 1).
std::vector<uint8_t> GquicPacket(const char* version, const std::vector<uint8_t>& chlo,
                                 bool little_endian_len) {
  std::vector<uint8_t> d = {0x09, 1, 2, 3, 4, 5, 6, 7, 8};  // version flag, 8-byte cid
  d.insert(d.end(), version, version + 4);
  d.push_back(1);                                      // packet number
  d.insert(d.end(), 12, 0);                            // message authentication hash
  if (std::string(version) <= "Q033") d.push_back(0);  // private flags
  d.insert(d.end(), {0xa0, 0x01});                     // STREAM, data length present, stream 1
  const uint16_t n = uint16_t(chlo.size());
  if (little_endian_len) {
    d.insert(d.end(), {uint8_t(n), uint8_t(n >> 8)});
  } else {
    d.insert(d.end(), {uint8_t(n >> 8), uint8_t(n)});
  }
  d.insert(d.end(), chlo.begin(), chlo.end());
  d.insert(d.end(), 64, 0);
  return d;
}

TEST(QuicInitialTest, ClearTextGoogleQuicChlo) {
  for (const char* v : {"Q025", "Q035", "Q043"}) {
    const bool le = std::string(v) < "Q039";
    const std::vector<uint8_t> d = GquicPacket(v, Chlo("www.example.com"), le);
    EXPECT_TRUE(MayBeQuicInitial(d.data(), d.size()));
    QuicInitial q;
    ASSERT_TRUE(ParseQuicInitial(d.data(), d.size(), &q)) << v;
    EXPECT_EQ(q.version, v);
    EXPECT_EQ(q.handshake, QuicHandshake::kChlo);
    EXPECT_EQ(NameIn(q), "www.example.com") << v;
  }
}

TEST(QuicInitialTest, ChloParserStaysInBounds) {
  const std::vector<uint8_t> m = Chlo("a.example");
  std::string_view name;
  ASSERT_TRUE(ParseChloSni(m.data(), m.size(), &name));
  EXPECT_EQ(name, "a.example");
  for (size_t n = 0; n < m.size(); ++n) {
    std::vector<uint8_t> cut(m.begin(), m.begin() + long(n));
    EXPECT_FALSE(ParseChloSni(cut.data(), cut.size(), &name)) << n;
  }
  std::vector<uint8_t> bad = m;
  bad[20] = 0xff, bad[21] = 0xff, bad[22] = 0xff, bad[23] = 0x7f;  // SNI ends far past the data
  EXPECT_FALSE(ParseChloSni(bad.data(), bad.size(), &name));
  bad = m;
  bad[4] = 0xff, bad[5] = 0xff;                               // 65535 tags claimed
  EXPECT_FALSE(ParseChloSni(bad.data(), bad.size(), &name));  // read as tags, none "SNI"
}

// RTP (first byte 0x80) and short-header QUIC are not taken for Initials.
TEST(QuicInitialTest, OtherUdpIsNotAnInitial) {
  const std::vector<uint8_t> rtp = {0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1,
                                    0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0};
  EXPECT_FALSE(MayBeQuicInitial(rtp.data(), rtp.size()));
  const std::vector<uint8_t> short_header(40, 0x41);
  EXPECT_FALSE(MayBeQuicInitial(short_header.data(), short_header.size()));
}

}  // namespace
}  // namespace tw::capture
