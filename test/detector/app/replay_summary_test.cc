#include "detector/app/replay_summary.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "capture/ip_proto.h"
#include "test/support/block_event.h"

namespace tw::detector {
namespace {

constexpr double kT0 = 1'700'000'000;

// The summary PrintSummary writes for `r`.
std::string Summary(const ReplayResult& r) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  PrintSummary(r, "", out, capture::AddressFormatter());
  std::fclose(out);
  std::string text(buf, size);
  std::free(buf);
  return text;
}

Event Block(uint64_t id, EventState state, double ts, const std::string& name) {
  return testing::BlockEvent(id, state, ts, name, name.empty() ? "2001:db8::5" : "203.0.113.5");
}

// A block is its service with its method and counts, from when to when, in its transport's column
// (it has no direction, rates or flows); one still on at the end says so; the openings' line stays.
TEST(ReplaySummaryTest, BlocksNameTheirServiceMethodAndSpan) {
  ReplayResult r;
  r.events.push_back(Block(1, EventState::kStart, kT0 + 10, "news.example"));
  Event end = Block(1, EventState::kEnd, kT0 + 30, "news.example");
  end.block.attempts = 5;
  end.block.failures = 4;
  end.duration_s = 20;
  end.reason = "lifted";
  r.events.push_back(end);
  Event quic = Block(2, EventState::kStart, kT0 + 40, "");
  quic.block.transport = BlockTransport::kQuic;
  quic.block.method = BlockMethod::kQuicBlackhole;
  quic.block.witnesses = 1;
  r.events.push_back(quic);
  capture::Opening o;
  o.outcome = capture::OpeningOutcome::kResetAfterRequest;
  r.openings = {o, o};
  const std::string text = Summary(r);
  EXPECT_NE(text.find("  2023-11-14T22:13:30.000Z  block    start tcp  news.example:443 "
                      "(203.0.113.5)  tcp_rst, 3 of 3 connections failed, 2 other services "
                      "worked, until 2023-11-14T22:13:50.000Z (confidence 0.90)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  2023-11-14T22:13:50.000Z  block    end   tcp  news.example:443 "
                      "(203.0.113.5)  tcp_rst, 4 of 5 connections failed, lifted, lasted 20.0 s "
                      "(confidence 0.90)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  2023-11-14T22:14:00.000Z  block    start quic [2001:db8::5]:443  "
                      "quic_blackhole, 3 of 3 connections failed, 1 other service worked, still "
                      "blocked at the end of the capture (confidence 0.90)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("flows)"), std::string::npos) << text;
  EXPECT_EQ(text.find("bit/s"), std::string::npos) << text;
  EXPECT_NE(text.find("  connection openings: reset_after_request 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace tw::detector
