#include "detector/daemon/event_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "capture/ip_proto.h"
#include "detector/outputs/event_json.h"
#include "test/support/block_event.h"
#include "test/support/schema_lines.h"
#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;

class EventLogTest : public tw::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = (dir_ / "events.jsonl").string();
  }
  std::string Read() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static Event Throttle(uint64_t id, EventState state, double ts) {
    Event e;
    e.id = id;
    e.kind = EventKind::kThrottle;
    e.state = state;
    e.ts = ts;
    e.detected_at = ts + 2;
    e.scope = EventScope::kFlow;
    e.direction = capture::kDown;
    e.has_flow = true;
    e.flow.key.a = *capture::Address::Parse("10.77.1.2");
    e.flow.key.b = *capture::Address::Parse("10.77.2.2");
    e.flow.key.port_a = 40002;
    e.flow.key.port_b = 5202;
    e.flow.key.proto = capture::kIpProtoTcp;
    e.flow.local_is_a = true;
    e.rate_before_bps = 1e6;
    e.rate_after_bps = 250e3;
    return e;
  }
  static Event Outage(uint64_t id, EventState state, double ts) {
    Event e;
    e.id = id;
    e.kind = EventKind::kOutage;
    e.state = state;
    e.ts = ts;
    return e;
  }
  std::string path_;
};

TEST_F(EventLogTest, AppendsLinesAndRecoversIdsAndOpenEvents) {
  std::string error;
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_NE(log, nullptr) << error;
    EXPECT_EQ(log->recovery().lines, 0u);
    ASSERT_TRUE(log->Append(Throttle(1, EventState::kStart, 100), &error)) << error;
    ASSERT_TRUE(log->Append(Outage(2, EventState::kStart, 110), &error)) << error;
    ASSERT_TRUE(log->Append(Outage(2, EventState::kEnd, 120), &error)) << error;
    ASSERT_TRUE(log->Append(Throttle(3, EventState::kStart, 130), &error)) << error;
  }
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  const EventLogRecovery& r = log->recovery();
  EXPECT_EQ(r.lines, 4u);
  EXPECT_EQ(r.last_id, 3u);
  EXPECT_FALSE(r.cut_partial_line);
  ASSERT_EQ(r.open.size(), 2u);
  EXPECT_EQ(r.open[0].id, 1u);
  EXPECT_EQ(r.open[1].id, 3u);
  // The flow survives the round trip, so the end event names it.
  EXPECT_TRUE(r.open[0].has_flow);
  EXPECT_EQ(EventToJson(r.open[0]), EventToJson(Throttle(1, EventState::kStart, 100)));
}

TEST_F(EventLogTest, FileIsPrivateWhateverTheUmask) {
  const mode_t old = umask(0022);
  std::string error;
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_TRUE(log) << error;
  }
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A file an older version left readable by the group is tightened when opened.
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_TRUE(log) << error;
  }
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  umask(old);
}

TEST_F(EventLogTest, TornLastLineIsCutAndNotCounted) {
  std::string error;
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_NE(log, nullptr) << error;
    ASSERT_TRUE(log->Append(Throttle(1, EventState::kStart, 100), &error));
  }
  {
    std::ofstream out(path_, std::ios::app);
    out << EventToJson(Throttle(1, EventState::kEnd, 140)).substr(0, 40);  // a crash mid-write
  }
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  EXPECT_TRUE(log->recovery().cut_partial_line);
  EXPECT_EQ(log->recovery().lines, 1u);
  ASSERT_EQ(log->recovery().open.size(), 1u);
  ASSERT_TRUE(log->Append(RestartEnd(log->recovery().open[0], 150), &error));
  const std::string text = Read();
  testing::KeepLines(text);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_NE(text.find("\"reason\":\"restart\""), std::string::npos);
  EXPECT_NE(text.find("\"duration_s\":50.0"), std::string::npos);
}

// A block the previous run left open ends with the start's service, port, transport, method and
// counts: it is read back whole from the file.
TEST_F(EventLogTest, ARestartEndsABlockAsItsStartSaid) {
  Event start = testing::BlockEvent(4, EventState::kStart, 100, "news.example");
  start.confidence = 0.7;
  start.block.method = BlockMethod::kQuicBlackhole;
  start.block.transport = BlockTransport::kQuic;
  std::string error;
  {
    auto log = EventLog::Open(path_, &error);
    ASSERT_NE(log, nullptr) << error;
    ASSERT_TRUE(log->Append(start, &error)) << error;
  }
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  ASSERT_EQ(log->recovery().open.size(), 1u);
  const Event end = RestartEnd(log->recovery().open[0], 150);
  ASSERT_TRUE(log->Append(end, &error)) << error;
  Event expected = start;
  expected.state = EventState::kEnd;
  expected.ts = expected.detected_at = 150;
  expected.duration_s = 50;
  expected.reason = "restart";
  EXPECT_EQ(EventToJson(end), EventToJson(expected));
  const std::string text = Read();
  testing::KeepLines(text);
  EXPECT_NE(text.find("\"transport\":\"quic\",\"method\":\"quic_blackhole\""), std::string::npos)
      << text;
}

TEST_F(EventLogTest, ReopenFollowsRotation) {
  std::string error;
  auto log = EventLog::Open(path_, &error);
  ASSERT_NE(log, nullptr) << error;
  ASSERT_TRUE(log->Append(Outage(1, EventState::kStart, 100), &error));
  fs::rename(path_, path_ + ".1");
  ASSERT_TRUE(log->Reopen(&error)) << error;
  ASSERT_TRUE(log->Append(Outage(1, EventState::kEnd, 110), &error));
  const std::string now = Read();
  EXPECT_EQ(std::count(now.begin(), now.end(), '\n'), 1);
  std::ifstream old(path_ + ".1");
  std::string line;
  ASSERT_TRUE(std::getline(old, line));
  EXPECT_NE(line.find("\"state\":\"start\""), std::string::npos);
}

TEST_F(EventLogTest, ParseRejectsForeignLines) {
  Event e;
  EXPECT_FALSE(ParseEventLine("", &e));
  EXPECT_FALSE(ParseEventLine("{\"hello\":1}", &e));
  EXPECT_FALSE(ParseEventLine("{\"id\":1,\"kind\":\"x\",\"state\":\"start\",\"ts\":1}", &e));
  // A record other than an event, however much it looks like one.
  for (const char* record : {"header", "flow"}) {
    EXPECT_FALSE(ParseEventLine(std::string("{\"schema\":2,\"record\":\"") + record +
                                    "\",\"id\":1,\"kind\":\"outage\",\"state\":\"end\",\"ts\":1}",
                                &e));
  }
  EXPECT_TRUE(ParseEventLine(EventToJson(Outage(7, EventState::kEnd, 5)), &e));
  EXPECT_EQ(e.id, 7u);
  EXPECT_EQ(e.state, EventState::kEnd);
  // Numbers out of range (an edited file; found by the evidence_chain fuzz target under UBSan).
  EXPECT_FALSE(ParseEventLine("{\"id\":1e30,\"kind\":\"outage\",\"state\":\"end\",\"ts\":1}", &e));
  EXPECT_FALSE(ParseEventLine("{\"id\":nan,\"kind\":\"outage\",\"state\":\"end\",\"ts\":1}", &e));
  std::string line = EventToJson(Throttle(3, EventState::kStart, 100));
  line.replace(line.find("\"local_port\":40002"), 18, "\"local_port\":80004");
  ASSERT_TRUE(ParseEventLine(line, &e));
  EXPECT_FALSE(e.has_flow);  // the flow is not taken from a line with an impossible port
}

TEST_F(EventLogTest, RootRefusesWorldWritableDirectories) {
  if (geteuid() != 0) GTEST_SKIP() << "the refusal applies to root only; not running as root";
  std::string error;
  EXPECT_TRUE(EventPathIsSafe(path_, &error)) << error;
  fs::permissions(dir_, fs::perms::all);
  EXPECT_FALSE(EventPathIsSafe(path_, &error));
  EXPECT_NE(error.find("world-writable"), std::string::npos) << error;
  fs::permissions(dir_, fs::perms::all | fs::perms::sticky_bit);  // like /tmp
  EXPECT_FALSE(EventPathIsSafe(path_, &error));
}

}  // namespace
}  // namespace tw::detector
