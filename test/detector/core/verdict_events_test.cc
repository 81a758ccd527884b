#include "detector/core/verdict_events.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tw::detector {
namespace {

FlowVerdict Verdict(uint64_t id, const std::string& host, VerdictKind kind,
                    EventScope scope = EventScope::kFlow) {
  FlowVerdict v;
  v.info.id = id;
  v.dir = capture::kDown;
  v.remote_host = host;
  v.kind = kind;
  v.scope = scope;
  v.first_ns = 1'000'000'000;
  v.last_ns = 60'000'000'000;
  v.limited_since = 2;
  v.rate_bps = 3e6;
  return v;
}

std::vector<Event> Emit(std::vector<FlowVerdict> verdicts) {
  EventCollector sink;
  EmitVerdictEvents({}, &verdicts, &sink);
  return sink.events();
}

TEST(VerdictEventsTest, AFlowsOwnPolicerIsTargetedWhenAnotherFlowOfItsServiceRanFree) {
  // A policer on one port of a server: the server's other flow was not limited.
  const auto ev = Emit({Verdict(1, "10.0.0.2", VerdictKind::kPoliced),
                        Verdict(2, "10.0.0.2", VerdictKind::kUnlimited)});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].flow.id, 1u);
  EXPECT_TRUE(ev[0].targeted_known);
  EXPECT_TRUE(ev[0].targeted);
}

TEST(VerdictEventsTest, AServicesSharedPolicerIsComparedWithOtherServicesOnly) {
  // The service's flows share the bucket: its own other flows say nothing about targeting.
  const auto alone = Emit({Verdict(1, "10.0.0.2", VerdictKind::kPoliced, EventScope::kRemoteHost),
                           Verdict(2, "10.0.0.2", VerdictKind::kUnlimited)});
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_FALSE(alone[0].targeted_known);
  const auto beside = Emit({Verdict(1, "10.0.0.2", VerdictKind::kPoliced, EventScope::kRemoteHost),
                            Verdict(3, "10.0.0.9", VerdictKind::kUnlimited)});
  ASSERT_EQ(beside.size(), 1u);
  EXPECT_TRUE(beside[0].targeted_known);
  EXPECT_TRUE(beside[0].targeted);
}

TEST(VerdictEventsTest, NotTargetedWhenEveryOtherFlowWasLimitedToo) {
  const auto ev = Emit({Verdict(1, "10.0.0.2", VerdictKind::kPoliced),
                        Verdict(3, "10.0.0.9", VerdictKind::kShaped)});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].targeted_known);
  EXPECT_FALSE(ev[0].targeted);
}

}  // namespace
}  // namespace tw::detector
