// The classifier on bins recorded from real TCP stacks in the lab (test/tools/record_bins.cc
// regenerates the fixtures from the lab captures).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "detector/core/throttle_detector.h"
#include "detector/outputs/event_json.h"
#include "test/support/schema_lines.h"

namespace tw::detector {
namespace {

constexpr int64_t kSec = 1'000'000'000;

struct Recording {
  std::map<uint64_t, capture::FlowInfo> flows;
  std::map<uint64_t, std::pair<int, int>> span;  // flow -> first and last bin with data
  std::map<std::pair<int, uint64_t>, capture::FlowBin> bins;
  int last_bin = 0;
};

Recording Load(const std::string& name) {
  Recording r;
  std::ifstream in(std::string(TW_SOURCE_DIR) + "/test/scenarios/data/" + name);
  EXPECT_TRUE(in) << name;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::vector<std::string> f;
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f.size() != 12) continue;
    const int bin = std::stoi(f[0]);
    const uint64_t id = std::stoull(f[1]);
    capture::FlowInfo& info = r.flows[id];
    info.id = id;
    info.key.proto = uint8_t(std::stoi(f[2]));
    info.key.b = *capture::Address::Parse(f[3]);
    info.key.port_b = uint16_t(std::stoi(f[4]));
    info.local_is_a = true;
    auto [it, fresh] = r.span.try_emplace(id, bin, bin);
    it->second.second = bin;
    capture::FlowBin& fb = r.bins[{bin, id}];
    fb.info = info;
    const capture::Direction d = f[5] == "up" ? capture::kUp : capture::kDown;
    fb.dir[d].payload_bytes = std::stoull(f[6]);
    fb.dir[d].wire_bytes = std::stoull(f[7]);
    fb.dir[d].retrans_bytes = std::stoull(f[8]);
    fb.dir[d].data_packets = uint32_t(fb.dir[d].payload_bytes / 1448);  // full-size segments
    fb.dir[d].zero_window = f[11] == "1";
    fb.rtt.samples = uint32_t(std::stoul(f[10]));
    fb.rtt.min_s = float(std::stod(f[9]));
    r.last_bin = std::max(r.last_bin, bin);
  }
  return r;
}

// The events a default ThrottleDetector emits on the recorded bins of `file`, in order; with
// `reversed`, each bin's flows handed over in the opposite order.
std::vector<Event> Classify(const std::string& file, bool reversed = false) {
  const Recording r = Load(file);
  EventCollector events;
  uint64_t next_event_id = 1;
  ThrottleDetector det({}, &events, &next_event_id);
  for (int bin = 0; bin <= r.last_bin; ++bin) {
    std::vector<capture::FlowBin> flows;
    for (const auto& [id, span] : r.span) {
      if (bin < span.first || bin > span.second) continue;
      auto it = r.bins.find({bin, id});
      capture::FlowBin fb;
      if (it != r.bins.end()) {
        fb = it->second;
      } else {
        fb.info = r.flows.at(id);
      }
      flows.push_back(fb);
    }
    if (reversed) std::reverse(flows.begin(), flows.end());
    det.OnBin(int64_t(bin) * kSec, kSec, flows, false);
  }
  return events.events();
}

// A sharded replay hands a bin's flows over in another order than one Binner: the events must
// not change (the server recording has flows of one host starting in the same bin).
TEST(RecordedBinsTest, EventsDoNotDependOnTheOrderOfFlowsInABin) {
  for (const char* file : {"demo_bins.csv", "onoff_bins.csv", "server_bins.csv"}) {
    const std::vector<Event> a = Classify(file), b = Classify(file, /*reversed=*/true);
    ASSERT_EQ(a.size(), b.size()) << file;
    for (size_t i = 0; i < a.size(); ++i) {
      testing::KeepLines(EventToJson(a[i], {}));
      EXPECT_EQ(EventToJson(a[i], {}), EventToJson(b[i], {})) << file << " event " << i;
    }
  }
}

TEST(RecordedBinsTest, DemoHasOneTargetedShapedFlowAndNothingElse) {
  const auto ev = Classify("demo_bins.csv");
  ASSERT_EQ(ev.size(), 2u);
  const Event& s = ev[0];
  EXPECT_EQ(s.state, EventState::kStart);
  EXPECT_EQ(s.flow.remote_port(), 5202);
  EXPECT_EQ(s.direction, capture::kDown);
  EXPECT_TRUE(s.targeted);
  EXPECT_EQ(s.mechanism, Mechanism::kShaping);  // HTB's queue: RTT from 23 ms to ~250 ms
  EXPECT_NEAR(s.ts, 20.0, 1.5);
  EXPECT_NEAR(s.rate_after_bps, 250'000, 0.15 * 250'000);
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_NEAR(ev[1].ts, 45.0, 1.5);
}

// throttle_onoff, the run where the 2nd and 3rd squeezes of port 5202 (300 kbit/s at 16.4-25.9,
// 35.3-45.0 and 55.9-65.8 s) were missed: after each squeeze TCP catches up with a burst, and
// the onset refinement took that burst, not the next squeeze, for the change.
TEST(RecordedBinsTest, OnOffEverySqueezeFound) {
  const auto ev = Classify("onoff_bins.csv");
  const double onsets[] = {16.4, 35.3, 55.9};
  const double ends[] = {25.9, 45.0, 65.8};
  ASSERT_EQ(ev.size(), 6u);
  for (size_t i = 0; i < 3; ++i) {
    const Event& s = ev[2 * i];
    const Event& e = ev[2 * i + 1];
    EXPECT_EQ(s.state, EventState::kStart) << i;
    EXPECT_EQ(s.flow.remote_port(), 5202) << i;
    EXPECT_EQ(s.scope, EventScope::kFlow) << i;
    EXPECT_TRUE(s.targeted) << i;
    EXPECT_NEAR(s.ts, onsets[i], 1.0) << i;
    EXPECT_NEAR(s.rate_after_bps, 300'000, 0.10 * 300'000) << i;
    EXPECT_EQ(e.state, EventState::kEnd) << i;
    EXPECT_EQ(e.id, s.id) << i;
    EXPECT_NEAR(e.ts, ends[i], 1.0) << i;
  }
}

// throttle_server: server 10.77.2.3 (two downloads of 1.5 Mbit/s) shaped to 800 kbit/s in all
// at 19.6-50.9 s; the shaper starved its flow to port 5201 for three seconds at the onset, so
// only the other flow looked throttled and the server's squeeze went unreported.
TEST(RecordedBinsTest, ServerSqueezeIsOneServiceEvent) {
  const auto ev = Classify("server_bins.csv");
  ASSERT_EQ(ev.size(), 2u);
  const Event& s = ev[0];
  EXPECT_EQ(s.state, EventState::kStart);
  EXPECT_EQ(s.scope, EventScope::kRemoteHost);
  ASSERT_TRUE(s.has_remote);
  EXPECT_EQ(s.remote.ToString(), "10.77.2.3");
  EXPECT_EQ(s.flows, 2);
  EXPECT_TRUE(s.targeted);
  EXPECT_EQ(s.direction, capture::kDown);
  EXPECT_NEAR(s.ts, 19.6, 1.0);
  EXPECT_NEAR(s.rate_after_bps, 800'000, 0.10 * 800'000);
  EXPECT_EQ(ev[1].state, EventState::kEnd);
  EXPECT_EQ(ev[1].id, s.id);
  EXPECT_NEAR(ev[1].ts, 50.9, 1.5);
}

}  // namespace
}  // namespace tw::detector
