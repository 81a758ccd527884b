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
#include <string>
#include <vector>

#include "detector/app/verify_command.h"
#include "detector/daemon/event_log.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/evidence_chain.h"
#include "test/support/event_streams.h"
#include "test/support/temp_dir.h"

// The files that carry the evidence chain, as the analyst checks them: the daemon's event file
// across restarts and rotation, and `throttlewatch verify` on edited, cut and extended files.
namespace tw::detector {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tw::testing::Outage;
using tw::testing::Stream;

class EvidenceFilesTest : public tw::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
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
    const int rc = ToInt(RunVerify(args, o, e));
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

  std::string path_;
  std::string out_, err_;
  const SensorIdentity sensor_{"sensor-1", "eth0", "test", 1e9, "uplink-1"};
};

TEST_F(EvidenceFilesTest, VerifySaysOkWithTheHeadOrNamesTheBrokenLine) {
  const std::vector<std::string> lines = Stream(4);
  const std::string head(ChainOf(lines.back()));
  EXPECT_EQ(Verify({Write("ok.jsonl", lines)}), 0) << err_;
  EXPECT_EQ(out_, "ok: 5 lines, head " + head + "\n");

  std::vector<std::string> edited = lines;
  edited[2].replace(edited[2].find("\"state\":\"end\""), 13, "\"state\":\"start\"");
  EXPECT_EQ(Verify({Write("edited.jsonl", edited)}), ToInt(ExitCode::kChainBroken));
  EXPECT_THAT(out_, HasSubstr("edited.jsonl: line 3: chain broken (edited, deleted or reordered "
                              "line)\n  the 2 lines before it verified, up to head " +
                              std::string(ChainOf(lines[1]))));
  std::vector<std::string> deleted = lines;
  deleted.erase(deleted.begin() + 1);
  EXPECT_EQ(Verify({Write("deleted.jsonl", deleted)}), ToInt(ExitCode::kChainBroken));
  EXPECT_THAT(out_, HasSubstr("deleted.jsonl: line 2: chain broken"));
  std::vector<std::string> reordered = lines;
  std::swap(reordered[3], reordered[4]);
  EXPECT_EQ(Verify({Write("reordered.jsonl", reordered)}), ToInt(ExitCode::kChainBroken));
  EXPECT_THAT(out_, HasSubstr("reordered.jsonl: line 4: chain broken"));
}

TEST_F(EvidenceFilesTest, TruncatedAndExtendedFilesAreReportedRight) {
  const std::vector<std::string> lines = Stream(4);
  const std::string head(ChainOf(lines.back()));
  // Cut mid-line: the last line has no newline.
  std::vector<std::string> cut = lines;
  cut.back().resize(cut.back().size() / 2);
  EXPECT_EQ(Verify({Write("cut.jsonl", cut, false)}), ToInt(ExitCode::kChainBroken));
  EXPECT_THAT(out_, HasSubstr("cut.jsonl: line 5: cut short: no newline at its end"));
  EXPECT_EQ(Verify({Write("nonl.jsonl", lines, false)}),
            ToInt(ExitCode::kChainBroken));  // even a whole line
  EXPECT_THAT(out_, HasSubstr("nonl.jsonl: line 5: cut short"));

  // Cut at a line boundary: the rest still verifies; only a published head tells.
  const std::vector<std::string> shorter(lines.begin(), lines.end() - 1);
  const std::string trunc = Write("trunc.jsonl", shorter);
  EXPECT_EQ(Verify({trunc}), 0);
  EXPECT_EQ(out_, "ok: 4 lines, head " + std::string(ChainOf(lines[3])) + "\n");
  EXPECT_EQ(Verify({"--head", head, trunc}), ToInt(ExitCode::kChainBroken));
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
  EXPECT_EQ(Verify({Write("junk.jsonl", longer)}), ToInt(ExitCode::kChainBroken));
  EXPECT_THAT(out_, HasSubstr("junk.jsonl: line 6: no chain field"));
  // Emptied.
  EXPECT_EQ(Verify({Write("empty.jsonl", {}, false)}), ToInt(ExitCode::kChainBroken));
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
                                  "\"sensor\":\"uplink-1\",\"interface\":\"eth0\""));
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
  EXPECT_EQ(Verify({old1, path_}), ToInt(ExitCode::kChainBroken));
  EXPECT_THAT(out_, HasSubstr(path_ + ": line 1: does not continue the file before it"));
  EXPECT_EQ(Verify({old2, old1}), ToInt(ExitCode::kChainBroken));
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
  EXPECT_EQ(Verify({path_}), ToInt(ExitCode::kChainBroken));
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
