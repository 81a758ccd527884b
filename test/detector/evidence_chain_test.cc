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
#include "detector/daemon/event_log.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/json.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

Event Outage(uint64_t id, EventState state, double ts) {
  Event e;
  e.id = id;
  e.kind = EventKind::kOutage;
  e.state = state;
  e.ts = ts;
  e.detected_at = ts + 2;
  return e;
}

// A replay-like stream: a header and `n` events, as JsonLinesWriter writes them.
std::vector<std::string> Stream(int n) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  {
    JsonLinesWriter w(f);
    InputDigest d;
    d.file = "a.pcap";
    d.bytes = 3;
    d.sha256 = Sha256Hex("abc");
    w.SetHeader([&d](std::string_view prev) { return ReplayHeader({d}, "test", prev); });
    for (int i = 1; i <= n; ++i) {
      w.OnEvent(Outage(uint64_t((i + 1) / 2), i % 2 ? EventState::kStart : EventState::kEnd,
                       1e9 + 10 * i));
    }
    EXPECT_FALSE(w.failed());
  }
  std::fclose(f);
  std::vector<std::string> lines;
  std::istringstream in(std::string(buf, size));
  free(buf);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

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
    if (name.find('\xff') == std::string::npos) EXPECT_EQ(j["inputs"][0]["file"], name);
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

TEST(EvidenceChainTest, HashInputHashesFilesAndSaysWhyNot) {
  const fs::path dir = fs::path(TW_BINARY_DIR) / "evidence_chain_test";
  fs::create_directories(dir);
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

class EvidenceFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(TW_BINARY_DIR) / "evidence_chain_test" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "events.jsonl").string();
  }
  std::string Write(const std::string& name, const std::vector<std::string>& lines,
                    bool last_newline = true) {
    const std::string p = (dir_ / name).string();
    std::ofstream out(p, std::ios::binary);
    for (size_t i = 0; i < lines.size(); ++i) {
      out << lines[i];
      if (i + 1 < lines.size() || last_newline) out << '\n';
    }
    return p;
  }
  static std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  int Verify(std::vector<std::string> args) {
    char* obuf = nullptr;
    char* ebuf = nullptr;
    size_t osize = 0, esize = 0;
    std::FILE* o = open_memstream(&obuf, &osize);
    std::FILE* e = open_memstream(&ebuf, &esize);
    const int rc = RunVerify(args, o, e);
    std::fclose(o);
    std::fclose(e);
    out_.assign(obuf, osize);
    err_.assign(ebuf, esize);
    free(obuf);
    free(ebuf);
    return rc;
  }
  // A daemon's start: the header, then events.
  static void Start(EventLog* log, const SensorIdentity& s, const std::vector<Event>& events) {
    std::string error;
    ASSERT_TRUE(log->AppendRecord(LiveHeader(s, "start", log->head(), 1e9), &error)) << error;
    for (const Event& e : events) ASSERT_TRUE(log->Append(e, &error)) << error;
  }

  fs::path dir_;
  std::string path_;
  std::string out_, err_;
  const SensorIdentity sensor_{"sensor-1", "eth0", "test", 1e9};
};

TEST_F(EvidenceFilesTest, VerifySaysOkWithTheHeadOrNamesTheBrokenLine) {
  const std::vector<std::string> lines = Stream(4);
  const std::string head(ChainOf(lines.back()));
  EXPECT_EQ(Verify({Write("ok.jsonl", lines)}), 0) << err_;
  EXPECT_EQ(out_, "ok: 5 lines, head " + head + "\n");

  std::vector<std::string> edited = lines;
  edited[2].replace(edited[2].find("\"state\":\"end\""), 13, "\"state\":\"start\"");
  EXPECT_EQ(Verify({Write("edited.jsonl", edited)}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("edited.jsonl: line 3: chain broken (edited, deleted or reordered "
                              "line)\n  the 2 lines before it verified, up to head " +
                              std::string(ChainOf(lines[1]))));
  std::vector<std::string> deleted = lines;
  deleted.erase(deleted.begin() + 1);
  EXPECT_EQ(Verify({Write("deleted.jsonl", deleted)}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("deleted.jsonl: line 2: chain broken"));
  std::vector<std::string> reordered = lines;
  std::swap(reordered[3], reordered[4]);
  EXPECT_EQ(Verify({Write("reordered.jsonl", reordered)}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("reordered.jsonl: line 4: chain broken"));
}

TEST_F(EvidenceFilesTest, TruncatedAndExtendedFilesAreReportedRight) {
  const std::vector<std::string> lines = Stream(4);
  const std::string head(ChainOf(lines.back()));
  // Cut mid-line: the last line has no newline.
  std::vector<std::string> cut = lines;
  cut.back().resize(cut.back().size() / 2);
  EXPECT_EQ(Verify({Write("cut.jsonl", cut, false)}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("cut.jsonl: line 5: cut short: no newline at its end"));
  EXPECT_EQ(Verify({Write("nonl.jsonl", lines, false)}), kVerifyBroken);  // even a whole line
  EXPECT_THAT(out_, HasSubstr("nonl.jsonl: line 5: cut short"));

  // Cut at a line boundary: the rest still verifies; only a published head tells.
  const std::vector<std::string> shorter(lines.begin(), lines.end() - 1);
  const std::string trunc = Write("trunc.jsonl", shorter);
  EXPECT_EQ(Verify({trunc}), 0);
  EXPECT_EQ(out_, "ok: 4 lines, head " + std::string(ChainOf(lines[3])) + "\n");
  EXPECT_EQ(Verify({"--head", head, trunc}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("the published head " + head + " is not in this chain"));

  // Extended with a line sealed by someone else (no key is needed: a chain can be extended)...
  std::vector<std::string> longer = lines;
  longer.push_back(SealLine(head, EventToJson(Outage(9, EventState::kStart, 2e9)), nullptr));
  const std::string ext = Write("ext.jsonl", longer);
  EXPECT_EQ(Verify({ext}), 0);
  EXPECT_THAT(out_, HasSubstr("ok: 6 lines"));
  // ... is counted after the published head.
  EXPECT_EQ(Verify({"--head=" + head, ext}), 0);
  EXPECT_THAT(out_, HasSubstr("the published head is " + ext +
                              " line 5: everything up to it is unchanged; 1 line was written "
                              "after it"));
  EXPECT_EQ(Verify({"--head", head, Write("same.jsonl", lines)}), 0);
  EXPECT_THAT(out_, HasSubstr("the published head is the last line"));
  // Extended with anything else: named.
  longer.back() = "{\"schema\":1,\"id\":9,\"kind\":\"outage\"}";
  EXPECT_EQ(Verify({Write("junk.jsonl", longer)}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("junk.jsonl: line 6: no chain field"));
  // Emptied.
  EXPECT_EQ(Verify({Write("empty.jsonl", {}, false)}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("empty.jsonl: empty"));
}

TEST_F(EvidenceFilesTest, UsageAndUnreadableFiles) {
  EXPECT_EQ(Verify({}), 2);
  EXPECT_EQ(Verify({"--head", "abc", "x"}), 2);
  EXPECT_EQ(Verify({"--head"}), 2);
  EXPECT_EQ(Verify({"--frobnicate", "x"}), 2);
  EXPECT_EQ(Verify({(dir_ / "missing.jsonl").string()}), 1);
  EXPECT_THAT(err_, HasSubstr("missing.jsonl"));
}

TEST_F(EvidenceFilesTest, RestartsContinueTheChainInTheSameFile) {
  std::string error;
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_NE(log, nullptr) << error;
    EXPECT_EQ(log->head(), kChainGenesis);
    Start(log.get(), sensor_, {Outage(1, EventState::kStart, 100)});
  }
  // A crash mid-line: the torn line is cut at the restart and the chain goes on.
  { std::ofstream(path_, std::ios::app) << "{\"schema\":1,\"id\":1,\"ki"; }
  const std::string before_restart = Lines(path_)[1];
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  EXPECT_TRUE(log->recovery().cut_partial_line);
  EXPECT_EQ(log->recovery().chain_error, "");
  EXPECT_EQ(log->head(), ChainOf(before_restart));
  ASSERT_EQ(log->recovery().open.size(), 1u);
  Start(log.get(), sensor_, {RestartEnd(log->recovery().open[0], 200)});
  const std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[2], HasSubstr("\"mode\":\"live\",\"reason\":\"start\",\"host\":\"sensor-1\","
                                  "\"interface\":\"eth0\""));
  EXPECT_THAT(lines[2], HasSubstr("\"previous_head\":\"" + std::string(ChainOf(lines[1]))));
  EXPECT_EQ(Verify({path_}), 0) << out_;
  EXPECT_EQ(out_, "ok: 4 lines, head " + log->head() + "\n");
}

TEST_F(EvidenceFilesTest, RotationContinuesTheChainAcrossFiles) {
  std::string error;
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  Start(log.get(), sensor_, {Outage(1, EventState::kStart, 100)});
  const std::string first_head = log->head();
  const std::string old1 = path_ + ".2", old2 = path_ + ".1";
  fs::rename(path_, old1);
  ASSERT_TRUE(log->Reopen(&error)) << error;
  EXPECT_EQ(log->head(), first_head);  // a new file: the chain goes on from the old one
  ASSERT_TRUE(log->AppendRecord(LiveHeader(sensor_, "reopen", log->head(), 2e9), &error));
  ASSERT_TRUE(log->Append(Outage(1, EventState::kEnd, 110), &error));
  fs::rename(path_, old2);
  ASSERT_TRUE(log->Reopen(&error)) << error;
  ASSERT_TRUE(log->AppendRecord(LiveHeader(sensor_, "reopen", log->head(), 3e9), &error));
  ASSERT_TRUE(log->Append(Outage(2, EventState::kStart, 120), &error));
  // SIGHUP without a rotation: the same file goes on from its own last line.
  ASSERT_TRUE(log->Reopen(&error)) << error;
  ASSERT_TRUE(log->AppendRecord(LiveHeader(sensor_, "reopen", log->head(), 4e9), &error));

  EXPECT_EQ(Verify({old1, old2, path_}), 0) << out_;
  EXPECT_EQ(out_, "ok: 7 lines, head " + log->head() + "\n");
  // A rotated file checks alone, from the head its header names.
  EXPECT_EQ(Verify({old2}), 0) << out_;
  EXPECT_THAT(out_, HasSubstr("the first line continues head " + first_head));
  // A file missing between two, or the files out of order: the link is not there.
  EXPECT_EQ(Verify({old1, path_}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr(path_ + ": line 1: does not continue the file before it"));
  EXPECT_EQ(Verify({old2, old1}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr(old1 + ": line 1: starts a new chain instead of continuing"));
  // Files appended to each other form one chain.
  std::vector<std::string> all = Lines(old1);
  for (const std::string& p : {old2, path_}) {
    for (const std::string& l : Lines(p)) all.push_back(l);
  }
  EXPECT_EQ(Verify({Write("all.jsonl", all)}), 0) << out_;
}

TEST_F(EvidenceFilesTest, OpenFindsABreakLeftWhileTheDaemonWasDown) {
  std::string error;
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_NE(log, nullptr) << error;
    Start(log.get(), sensor_,
          {Outage(1, EventState::kStart, 100), Outage(1, EventState::kEnd, 110)});
  }
  std::vector<std::string> lines = Lines(path_);
  lines.erase(lines.begin() + 1);  // the outage's start removed
  Write("events.jsonl", lines);
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  EXPECT_EQ(log->recovery().chain_error,
            "line 2: chain broken (edited, deleted or reordered line)");
  // The daemon goes on from the last line: the break stays where it was made.
  EXPECT_EQ(log->head(), ChainOf(lines.back()));
  Start(log.get(), sensor_, {});
  EXPECT_EQ(Verify({path_}), kVerifyBroken);
  EXPECT_THAT(out_, HasSubstr("line 2: chain broken"));
}

TEST_F(EvidenceFilesTest, AFailedAppendLeavesTheChainWhole) {
  std::string error;
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  Start(log.get(), sensor_, {Outage(1, EventState::kStart, 100)});
  const std::string head = log->head();
  const auto size = fs::file_size(path_);
  // The disk fills up mid-line: the file may grow by 10 more bytes only.
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = rlim_t(size + 10);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  const bool appended = log->Append(Outage(1, EventState::kEnd, 110), &error);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(appended);
  EXPECT_EQ(fs::file_size(path_), size);  // the 10 bytes taken back
  EXPECT_EQ(log->head(), head);
  ASSERT_TRUE(log->Append(Outage(1, EventState::kEnd, 110), &error)) << error;
  EXPECT_EQ(Verify({path_}), 0) << out_;
  EXPECT_THAT(out_, HasSubstr("ok: 3 lines"));
}

}  // namespace
}  // namespace tw::detector
