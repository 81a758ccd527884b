#include "detector/outputs/evidence_chain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "detector/core/event_sink.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/json.h"
#include "test/support/event_streams.h"
#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tw::testing::Outage;
using tw::testing::Stream;

// Verifies `lines` as one file: the error, or "" when the chain holds.
std::string Check(const std::vector<std::string>& lines) {
  ChainVerifier v;
  v.BeginFile();
  for (const std::string& l : lines) {
    if (!v.Add(l)) break;
  }
  return v.error();
}

TEST(EvidenceChainTest, Sha256IsTheStandardOne) {
  // FIPS 180-2, appendix B.1.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("a", "bc"), Sha256Hex("abc"));
}

TEST(EvidenceChainTest, SealAppendsTheChainFieldLastAndItCanBeStrippedTextually) {
  const std::string line = "{\"schema\":1,\"id\":7}";
  std::string chain;
  const std::string sealed = SealLine(kChainGenesis, line, &chain);
  EXPECT_EQ(sealed, "{\"schema\":1,\"id\":7,\"chain\":\"" + chain + "\"}");
  EXPECT_EQ(chain, Sha256Hex(kChainGenesis, line));
  EXPECT_EQ(ChainOf(sealed), chain);
  EXPECT_EQ(sealed.size(), line.size() + kChainSuffixSize - 1);
  EXPECT_EQ(sealed.substr(0, sealed.size() - kChainSuffixSize) + "}", line);
  EXPECT_EQ(ChainOf(line), "");
  EXPECT_EQ(ChainOf("{\"chain\":\"" + std::string(64, 'g') + "\"}"), "");
}

// File and host names are bytes, not text: the header is one JSON object whatever they hold.
TEST(EvidenceChainTest, HeaderNamesAreEscaped) {
  const std::string names[] = {"a\"b\\c.pcap", std::string("x\n\x01", 3), "caf\xc3\xa9.pcap",
                               "\xff\xc0\xaf.pcap", "\",\"sha256\":\"0\"}"};
  for (const std::string& name : names) {
    InputDigest d;
    d.file = name;
    d.sha256 = std::string(64, 'a');
    const std::string line = ReplayHeader({d}, "1.0", kChainGenesis);
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << line;
    ASSERT_EQ(j["inputs"].size(), 1u) << line;
    EXPECT_EQ(j["inputs"][0]["sha256"], std::string(64, 'a')) << line;
    if (name.find('\xff') == std::string::npos) {
      EXPECT_EQ(j["inputs"][0]["file"], name);
    }
    for (unsigned char c : line) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << line;
  }
}

TEST(EvidenceChainTest, StreamStartsWithAHeaderAndEveryLineIsChained) {
  const std::vector<std::string> lines = Stream(4);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("\"record\":\"header\""));
  EXPECT_THAT(lines[0], HasSubstr("\"inputs\":[{\"file\":\"a.pcap\",\"bytes\":3,\"sha256\":\"" +
                                  Sha256Hex("abc") + "\"}]"));
  EXPECT_THAT(lines[0], HasSubstr("\"previous_head\":\"" + std::string(kChainGenesis) + "\""));
  std::string prev(kChainGenesis);
  for (const std::string& l : lines) {
    const std::string body = l.substr(0, l.size() - kChainSuffixSize) + "}";
    EXPECT_EQ(ChainOf(l), Sha256Hex(prev, body)) << l;
    prev = std::string(ChainOf(l));
  }
  // The event lines are the events as EventToJson writes them, with the field added.
  EXPECT_EQ(lines[1].substr(0, lines[1].size() - kChainSuffixSize) + "}",
            EventToJson(Outage(1, EventState::kStart, 1e9 + 10)));
  EXPECT_EQ(Check(lines), "");
  Event e;
  EXPECT_FALSE(ParseEventLine(lines[0], &e));  // the header is no event
  EXPECT_TRUE(ParseEventLine(lines[1], &e));
}

TEST(EvidenceChainTest, AnEditedLineBreaksTheChainThere) {
  std::vector<std::string> lines = Stream(4);
  const size_t at = lines[3].find("\"ts\":");
  ASSERT_NE(at, std::string::npos);
  lines[3][at + 6] = lines[3][at + 6] == '9' ? '8' : '9';  // one digit of the time
  EXPECT_EQ(Check(lines), "line 4: chain broken (edited, deleted or reordered line)");
  // Its chain value recomputed: then the next line breaks.
  std::vector<std::string> resealed = Stream(4);
  resealed[3] = lines[3];
  const std::string body = resealed[3].substr(0, resealed[3].size() - kChainSuffixSize) + "}";
  resealed[3] = SealLine(ChainOf(resealed[2]), body, nullptr);
  EXPECT_EQ(Check(resealed), "line 5: chain broken (edited, deleted or reordered line)");
  // An edited header (another input digest) too.
  std::vector<std::string> header = Stream(2);
  header[0].replace(header[0].find("\"bytes\":3"), 9, "\"bytes\":4");
  EXPECT_EQ(Check(header), "line 1: chain broken (edited, deleted or reordered line)");
}

TEST(EvidenceChainTest, ADeletedLineBreaksTheChainAtTheNextOne) {
  std::vector<std::string> lines = Stream(4);
  lines.erase(lines.begin() + 2);
  EXPECT_EQ(Check(lines), "line 3: chain broken (edited, deleted or reordered line)");
  std::vector<std::string> no_header = Stream(4);
  no_header.erase(no_header.begin());
  EXPECT_EQ(Check(no_header), "line 1: chain broken (edited, deleted or reordered line)");
}

TEST(EvidenceChainTest, ReorderedLinesBreakTheChain) {
  std::vector<std::string> swapped = Stream(4);
  std::swap(swapped[2], swapped[3]);
  EXPECT_EQ(Check(swapped), "line 3: chain broken (edited, deleted or reordered line)");
  std::vector<std::string> moved = Stream(4);
  std::rotate(moved.begin() + 1, moved.begin() + 2, moved.end());  // line 2 moved to the end
  EXPECT_EQ(Check(moved), "line 2: chain broken (edited, deleted or reordered line)");
}

TEST(EvidenceChainTest, ForeignLinesAreNamed) {
  std::vector<std::string> lines = Stream(2);
  lines.push_back("{\"schema\":1,\"id\":9}");
  EXPECT_THAT(Check(lines), HasSubstr("line 4: no chain field"));
  lines.back() = "";
  EXPECT_THAT(Check(lines), HasSubstr("line 4: no chain field"));
}

class HashInputTest : public tw::testing::TempDirTest {};

TEST_F(HashInputTest, HashesFilesAndSaysWhyNot) {
  const fs::path dir = dir_;
  const std::string path = (dir / "input.pcap").string();
  std::ofstream(path, std::ios::binary) << "abc";
  const InputDigest d = HashInput(path);
  EXPECT_EQ(d.file, "input.pcap");  // the base name only
  EXPECT_EQ(d.bytes, 3u);
  EXPECT_EQ(d.sha256, Sha256Hex("abc"));
  const InputDigest in = HashInput("-");
  EXPECT_EQ(in.sha256, "");
  EXPECT_EQ(in.note, "sha256 unavailable for standard input");
  const InputDigest missing = HashInput((dir / "missing.pcap").string());
  EXPECT_EQ(missing.sha256, "");
  EXPECT_THAT(missing.note, HasSubstr("No such file"));
  // A named pipe (a process substitution, say) is neither waited on nor drained.
  const std::string fifo = (dir / "fifo").string();
  fs::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(HashInput(fifo).note, HasSubstr("not a regular file"));
  InputHasher hasher({path, "-"});
  ASSERT_EQ(hasher.Get().size(), 2u);
  EXPECT_EQ(hasher.Get()[0].sha256, d.sha256);
  EXPECT_THAT(ReplayHeader(hasher.Get(), "v", kChainGenesis),
              HasSubstr("{\"file\":\"-\",\"sha256\":null,\"note\":\"sha256 unavailable for "
                        "standard input\"}"));
}

TEST(EvidenceChainTest, HeaderIsWrittenEvenWithoutEvents) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  JsonLinesWriter w(f);
  int built = 0;
  w.SetHeader([&built](std::string_view prev) {
    ++built;
    return ReplayHeader({}, "test", prev);
  });
  EXPECT_EQ(built, 0);  // not before it is needed
  w.Finish();
  w.Finish();
  std::fclose(f);
  const std::string text(buf, size);
  free(buf);
  EXPECT_EQ(built, 1);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_EQ(ChainOf(text.substr(0, text.size() - 1)), w.head());
}

}  // namespace
}  // namespace tw::detector
