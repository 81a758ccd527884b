#include "capture/pcap_file_source.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test/support/capture_input.h"
#include "test/support/temp_dir.h"

namespace tw::capture {
namespace {

namespace fs = std::filesystem;

class PcapFileSourceTest : public tw::testing::TempDirTest {
 protected:
  // Writes an Ethernet pcap whose packets carry their index in the first byte.
  std::string Write(const std::string& name, const std::vector<double>& times) {
    const std::string path = (dir_ / name).string();
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    for (size_t i = 0; i < times.size(); ++i) {
      uint8_t data[60] = {uint8_t(i)};
      pcap_pkthdr h{};
      h.ts.tv_sec = time_t(times[i]);
      h.ts.tv_usec = suseconds_t((times[i] - double(h.ts.tv_sec)) * 1e6);
      h.caplen = sizeof(data);
      h.len = 1500;
      pcap_dump(reinterpret_cast<u_char*>(d), &h, data);
    }
    pcap_dump_close(d);
    pcap_close(dead);
    return path;
  }
};

TEST_F(PcapFileSourceTest, MergesFilesInTimeOrder) {
  const std::string a = Write("a.pcap", {1.0, 3.0, 5.0});
  const std::string b = Write("b.pcap", {2.0, 4.0});
  std::string err;
  auto src = PcapFileSource::Open({a, b}, "", &err);
  ASSERT_NE(src, nullptr) << err;
  std::vector<int64_t> ts;
  Packet p;
  while (src->Next(&p) == SourceStatus::kPacket) {
    ts.push_back(p.ts_ns);
    EXPECT_EQ(p.caplen, 60u);
    EXPECT_EQ(p.wire_len, 1500u);
    EXPECT_EQ(p.link_type, DLT_EN10MB);
  }
  EXPECT_EQ(ts, (std::vector<int64_t>{1'000'000'000, 2'000'000'000, 3'000'000'000, 4'000'000'000,
                                      5'000'000'000}));
  EXPECT_EQ(src->bytes_read(), src->bytes_total());
}

TEST_F(PcapFileSourceTest, MissingFileNamesTheFile) {
  std::string err;
  EXPECT_EQ(PcapFileSource::Open({(dir_ / "nope.pcap").string()}, "", &err), nullptr);
  EXPECT_NE(err.find("nope.pcap"), std::string::npos);
}

TEST_F(PcapFileSourceTest, BadFilterIsAnError) {
  std::string err;
  OpenFailure why = OpenFailure::kNone;
  EXPECT_EQ(PcapFileSource::Open({Write("a.pcap", {1.0})}, "tcp port banana", &err, &why), nullptr);
  EXPECT_NE(err.find("bad filter 'tcp port banana'"), std::string::npos) << err;
  EXPECT_EQ(why, OpenFailure::kBadFilter);
  // In pcapng the link type is known only at the first interface block: the same.
  const std::string ng = (dir_ / "a.pcapng").string();
  const std::vector<uint8_t> bytes =
      testing::PcapToPcapng(testing::ReadBytes(Write("b.pcap", {1.0})));
  ASSERT_FALSE(bytes.empty());
  std::ofstream(ng, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  why = OpenFailure::kNone;
  EXPECT_EQ(PcapFileSource::Open({ng}, "tcp port banana", &err, &why), nullptr);
  EXPECT_NE(err.find("bad filter"), std::string::npos) << err;
  EXPECT_EQ(why, OpenFailure::kBadFilter);
  EXPECT_NE(PcapFileSource::Open({ng}, "tcp", &err, &why), nullptr) << err;
}

TEST_F(PcapFileSourceTest, SaysWhatIsWrongWithAnUnopenableInput) {
  const std::string good = Write("a.pcap", {1.0});
  std::string err;
  OpenFailure why = OpenFailure::kNone;
  EXPECT_EQ(PcapFileSource::Open({good, (dir_ / "missing.pcap").string()}, "", &err, &why),
            nullptr);
  EXPECT_EQ(err, (dir_ / "missing.pcap").string() + ": no such capture file");
  EXPECT_EQ(why, OpenFailure::kUnreadable);
  EXPECT_EQ(PcapFileSource::Open({good, dir_.string()}, "", &err, &why), nullptr);
  EXPECT_EQ(err, dir_.string() + ": is a directory");
  EXPECT_EQ(why, OpenFailure::kUnreadable);
  const std::string gz = (dir_ / "a.pcap.gz").string();
  std::ofstream(gz) << "\x1f\x8b\x08\x08 and the rest of a gzip stream";
  EXPECT_EQ(PcapFileSource::Open({gz}, "", &err, &why), nullptr);
  EXPECT_NE(err.find("a.pcap.gz: is gzip-compressed; gunzip it first"), std::string::npos) << err;
  EXPECT_EQ(why, OpenFailure::kMalformed);
}

// Standard input is read once, into memory; a regular file is mapped. Either way a packet's
// bytes stay valid after later Next() calls, for the source's lifetime (the replay holds the
// packets it reads to infer the local side, then analyses them), also once the pages behind
// the reader of a large mapped file were released.
TEST_F(PcapFileSourceTest, StandardInputAndHeldPackets) {
  std::vector<double> times(250'000);  // 19 MB: the mapping is released behind the reader
  for (size_t i = 0; i < times.size(); ++i) times[i] = 1.0 + double(i) * 1e-3;
  const std::string path = Write("big.pcap", times);
  const std::vector<uint8_t> bytes = testing::ReadBytes(path);
  for (int how = 0; how < 3; ++how) {
    SCOPED_TRACE(how);
    std::unique_ptr<testing::StdinPipe> in;
    if (how == 1) in = std::make_unique<testing::StdinPipe>(bytes);  // cat big.pcap | ...
    if (how == 2) in = std::make_unique<testing::StdinPipe>(path);   // ... < big.pcap
    if (in != nullptr) {
      ASSERT_TRUE(in->ok());
    }
    std::string err;
    auto src = PcapFileSource::Open({how == 0 ? path : "-"}, "", &err);
    ASSERT_NE(src, nullptr) << err;
    std::vector<Packet> held;
    Packet p;
    while (src->Next(&p) == SourceStatus::kPacket) held.push_back(p);
    EXPECT_EQ(src->Next(&p), SourceStatus::kEnd);  // and stays there
    ASSERT_EQ(held.size(), times.size());
    size_t wrong = 0;
    for (size_t i = 0; i < held.size(); ++i) wrong += held[i].data[0] != uint8_t(i);
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(src->bytes_total(), bytes.size());
  }
}

TEST_F(PcapFileSourceTest, TruncatedLastPacketDeliversTheRestThenErrors) {
  const std::string path = Write("t.pcap", {1.0, 2.0, 3.0});
  fs::resize_file(path, fs::file_size(path) - 10);
  std::string err;
  auto src = PcapFileSource::Open({path}, "", &err);
  ASSERT_NE(src, nullptr) << err;
  Packet p;
  int n = 0;
  SourceStatus st;
  while ((st = src->Next(&p)) == SourceStatus::kPacket) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_EQ(st, SourceStatus::kMalformed);
  EXPECT_NE(src->error().find("t.pcap"), std::string::npos);
}

TEST_F(PcapFileSourceTest, NotAPcapIsRejected) {
  const std::string path = (dir_ / "text.pcap").string();
  std::ofstream(path) << "hello, this is not a capture file\n";
  std::string err;
  EXPECT_EQ(PcapFileSource::Open({path}, "", &err), nullptr);
  EXPECT_NE(err.find("text.pcap"), std::string::npos);
}

}  // namespace
}  // namespace tw::capture
