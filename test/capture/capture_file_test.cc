#include "capture/capture_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capture/decode.h"

namespace tw::capture {
namespace {

// The crafted files of test/data/broken (see make.py there): one defect each.
std::vector<uint8_t> Slurp(const std::string& name) {
  std::ifstream in(std::string(TW_SOURCE_DIR) + "/test/data/broken/" + name, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Outcome {
  bool opened = false;
  std::string error;  // from Open() or the final Next()
  ReadStatus end = ReadStatus::kEnd;
  std::vector<Packet> packets;
  CaptureFileStats stats;
  std::vector<std::string> notes;
};

Outcome Read(const std::string& name) {
  static std::vector<std::vector<uint8_t>> keep;  // packets point into the bytes
  keep.push_back(Slurp(name));
  const std::vector<uint8_t>& bytes = keep.back();
  EXPECT_FALSE(bytes.empty()) << name;
  Outcome o;
  CaptureFileReader r;
  o.opened = r.Open(bytes.data(), bytes.size(), name, &o.error);
  if (!o.opened) return o;
  Packet p;
  while ((o.end = r.Next(&p)) == ReadStatus::kPacket) o.packets.push_back(p);
  if (o.end == ReadStatus::kMalformed) o.error = r.error();
  o.stats = r.stats();
  o.notes = r.notes();
  return o;
}

uint16_t SrcPort(const Packet& p) {
  DecodedPacket d;
  EXPECT_EQ(Decode(p.link_type, p.data, p.caplen, &d), DecodeStatus::kOk);
  return d.src_port;
}

constexpr int64_t kT0 = 1'700'000'000LL * 1'000'000'000;

TEST(CaptureFileTest, BigEndianNanosecondPcap) {
  const Outcome o = Read("ok_big_endian_nanosecond.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.end, ReadStatus::kEnd);
  ASSERT_EQ(o.packets.size(), 3u);
  EXPECT_EQ(o.packets[1].ts_ns, kT0 + 1'000'000'000 + 500);
  EXPECT_EQ(o.packets[1].caplen, 66u);
  EXPECT_EQ(o.packets[1].wire_len, 1514u);
  EXPECT_EQ(o.packets[1].link_type, kLinkEthernet);
  EXPECT_EQ(SrcPort(o.packets[2]), 40002);
  EXPECT_TRUE(o.notes.empty());
}

TEST(CaptureFileTest, WrongMagicIsFatalAtByteZero) {
  const Outcome o = Read("wrong_magic.pcap");
  EXPECT_FALSE(o.opened);
  EXPECT_NE(o.error.find("wrong_magic.pcap: byte 0: not a pcap or pcapng file"), std::string::npos)
      << o.error;
}

TEST(CaptureFileTest, TruncatedHeaderIsFatal) {
  const Outcome o = Read("truncated_header.pcap");
  EXPECT_FALSE(o.opened);
  EXPECT_NE(o.error.find("truncated_header.pcap: byte 10: truncated pcap file header"),
            std::string::npos)
      << o.error;
}

TEST(CaptureFileTest, TruncatedLastPacketDeliversTheRestThenFails) {
  const Outcome o = Read("truncated_last_packet.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.packets.size(), 2u);
  EXPECT_EQ(o.end, ReadStatus::kMalformed);
  // Header 24 + two records of 16 + 66: the third record starts at byte 188.
  EXPECT_NE(o.error.find("truncated_last_packet.pcap: byte 188: truncated packet"),
            std::string::npos)
      << o.error;
}

TEST(CaptureFileTest, AbsurdCaplenIsFatal) {
  const Outcome o = Read("caplen_absurd.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.packets.size(), 1u);
  EXPECT_EQ(o.end, ReadStatus::kMalformed);
  EXPECT_NE(o.error.find("byte 106: absurd captured length 1000000"), std::string::npos) << o.error;
}

TEST(CaptureFileTest, CaplenOverSnaplenIsCountedAndKept) {
  const Outcome o = Read("caplen_over_snaplen.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.end, ReadStatus::kEnd);
  EXPECT_EQ(o.packets.size(), 2u);
  EXPECT_EQ(o.stats.caplen_over_snaplen, 2u);
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("caplen_over_snaplen.pcap: byte 24: captured length above"),
            std::string::npos)
      << o.notes[0];
}

TEST(CaptureFileTest, ZeroLengthRecordsAreSkipped) {
  const Outcome o = Read("zero_length.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.end, ReadStatus::kEnd);
  ASSERT_EQ(o.packets.size(), 2u);
  EXPECT_EQ(SrcPort(o.packets[1]), 40002);
  EXPECT_EQ(o.stats.zero_length, 1u);
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("byte 106: zero-length"), std::string::npos) << o.notes[0];
}

TEST(CaptureFileTest, TimeGoingBackwardsIsCountedAndKept) {
  const Outcome o = Read("time_backwards.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.packets.size(), 3u);
  EXPECT_EQ(o.stats.time_backwards, 1u);
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("byte 106: timestamp earlier"), std::string::npos) << o.notes[0];
}

TEST(CaptureFileTest, TimestampJumpingYearsIsSkipped) {
  const Outcome o = Read("time_jump.pcap");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.end, ReadStatus::kEnd);
  ASSERT_EQ(o.packets.size(), 3u);
  EXPECT_EQ(SrcPort(o.packets[1]), 40002);
  EXPECT_EQ(o.stats.time_jumps, 1u);
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("byte 106: timestamp more than a year"), std::string::npos);
}

TEST(CaptureFileTest, UnknownLinkTypeIsFatal) {
  const Outcome o = Read("unknown_link_type.pcap");
  EXPECT_FALSE(o.opened);
  EXPECT_NE(o.error.find("unknown_link_type.pcap: byte 20: unsupported link type 147"),
            std::string::npos)
      << o.error;
}

TEST(CaptureFileTest, PcapngWithSeveralInterfacesSectionsAndUnknownBlocks) {
  const Outcome o = Read("multi_interface.pcapng");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.end, ReadStatus::kEnd) << o.error;
  ASSERT_EQ(o.packets.size(), 4u);
  EXPECT_EQ(o.packets[0].link_type, kLinkEthernet);
  EXPECT_EQ(o.packets[1].link_type, kLinkRawFile);  // the raw-IP interface
  EXPECT_EQ(o.packets[2].link_type, kLinkEthernet);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(SrcPort(o.packets[size_t(i)]), 40000 + i);
  EXPECT_EQ(o.packets[0].ts_ns, kT0);
  EXPECT_EQ(o.packets[1].ts_ns, kT0 + 1'000'000);      // microsecond default resolution
  EXPECT_EQ(o.packets[3].ts_ns, kT0 + 3'000'000'000);  // nanosecond interface, 2nd section
  EXPECT_EQ(o.stats.unknown_blocks, 1u);
  EXPECT_EQ(o.stats.unsupported_link, 1u);  // the USER0 interface's packet
  EXPECT_EQ(o.notes.size(), 2u);
}

// As a pcap file of that link type is fatal, so is a pcapng file of no decodable interface
// (a file mixing them skips the unsupported interfaces' packets: the test above).
TEST(CaptureFileTest, PcapngWithOnlyUnsupportedInterfacesIsFatal) {
  const Outcome o = Read("unknown_link_type.pcapng");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_TRUE(o.packets.empty());
  EXPECT_EQ(o.end, ReadStatus::kMalformed);
  EXPECT_NE(o.error.find("unknown_link_type.pcapng: byte 36: unsupported link type 147 (no "
                         "interface of the file has a link type that can be decoded; 2 packets "
                         "skipped)"),
            std::string::npos)
      << o.error;
}

TEST(CaptureFileTest, CompressedFilesAreNamedAsSuch) {
  const struct {
    std::vector<uint8_t> magic;
    const char* says;
  } cases[] = {
      {{0x1f, 0x8b, 0x08, 0x00}, "is gzip-compressed; gunzip it first (or: zcat c.pcap.gz |"},
      {{0xfd, '7', 'z', 'X', 'Z', 0x00}, "is xz-compressed; unxz it first"},
      {{0x28, 0xb5, 0x2f, 0xfd}, "is zstd-compressed; unzstd it first"},
      {{'B', 'Z', 'h', '9'}, "is bzip2-compressed; bunzip2 it first"},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> bytes = c.magic;
    bytes.resize(64, 0x55);
    CaptureFileReader r;
    std::string err;
    EXPECT_FALSE(r.Open(bytes.data(), bytes.size(), "c.pcap.gz", &err));
    EXPECT_EQ(err.rfind(std::string("c.pcap.gz: ") + c.says, 0), 0u) << err;
  }
}

TEST(CaptureFileTest, BigEndianPcapng) {
  const Outcome o = Read("multi_interface_big_endian.pcapng");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.end, ReadStatus::kEnd) << o.error;
  ASSERT_EQ(o.packets.size(), 2u);
  EXPECT_EQ(o.packets[1].ts_ns, kT0 + 1'000'000);
  EXPECT_EQ(SrcPort(o.packets[1]), 40001);
}

TEST(CaptureFileTest, PcapngBlockTrailerMismatchIsFatal) {
  const Outcome o = Read("bad_block_trailer.pcapng");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.packets.size(), 1u);
  EXPECT_EQ(o.end, ReadStatus::kMalformed);
  EXPECT_NE(o.error.find("bad_block_trailer.pcapng: byte 244: pcapng block trailer"),
            std::string::npos)
      << o.error;
}

TEST(CaptureFileTest, PcapngPacketOfUndeclaredInterfaceIsFatal) {
  const Outcome o = Read("undeclared_interface.pcapng");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.packets.size(), 1u);
  EXPECT_EQ(o.end, ReadStatus::kMalformed);
  EXPECT_NE(o.error.find("undeclared interface 3"), std::string::npos) << o.error;
}

TEST(CaptureFileTest, TruncatedPcapngBlockIsFatal) {
  const Outcome o = Read("truncated_block.pcapng");
  ASSERT_TRUE(o.opened) << o.error;
  EXPECT_EQ(o.packets.size(), 1u);
  EXPECT_EQ(o.end, ReadStatus::kMalformed);
  EXPECT_NE(o.error.find("truncated pcapng block"), std::string::npos) << o.error;
}

// In memory: a clock step (two packets agreeing on a new time) moves the time base on.
TEST(CaptureFileTest, ClockStepIsFollowedAfterOnePacket) {
  std::vector<uint8_t> f = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                            0,    0,    0,    0,    0, 0, 1, 0, 1, 0, 0, 0};
  auto add = [&](uint32_t sec) {
    const uint8_t rec[16] = {uint8_t(sec),
                             uint8_t(sec >> 8),
                             uint8_t(sec >> 16),
                             uint8_t(sec >> 24),
                             0,
                             0,
                             0,
                             0,
                             1,
                             0,
                             0,
                             0,
                             1,
                             0,
                             0,
                             0};
    f.insert(f.end(), rec, rec + 16);
    f.push_back(0xab);
  };
  add(1'000);  // 1970: a box without a clock
  add(1'000'000'000);
  add(1'000'000'001);
  add(1'000'000'002);
  CaptureFileReader r;
  std::string err;
  ASSERT_TRUE(r.Open(f.data(), f.size(), "step", &err)) << err;
  std::vector<int64_t> ts;
  Packet p;
  while (r.Next(&p) == ReadStatus::kPacket) ts.push_back(p.ts_ns / 1'000'000'000);
  EXPECT_EQ(ts, (std::vector<int64_t>{1'000, 1'000'000'001, 1'000'000'002}));
  EXPECT_EQ(r.stats().time_jumps, 1u);
}

TEST(CaptureFileTest, EmptyInputIsATruncatedHeader) {
  CaptureFileReader r;
  std::string err;
  EXPECT_FALSE(r.Open(nullptr, 0, "empty.pcap", &err));
  EXPECT_NE(err.find("empty.pcap: byte 0: truncated file header"), std::string::npos) << err;
}

}  // namespace
}  // namespace tw::capture
