#include "detector/daemon/port_labels.h"

#include <gtest/gtest.h>

namespace tw::detector {
namespace {

capture::FlowInfo Flow(uint8_t proto, uint16_t remote_port, bool local_initiated = true) {
  capture::FlowInfo f;
  f.key.a = *capture::Address::Parse("10.0.0.2");
  f.key.b = *capture::Address::Parse("192.0.2.1");
  f.key.port_a = 40000;
  f.key.port_b = remote_port;
  f.key.proto = proto;
  f.local_is_a = true;
  f.local_initiated = local_initiated;
  return f;
}

TEST(PortLabelTest, WellKnownPortsAndServerSide) {
  EXPECT_EQ(PortLabel(Flow(6, 443)), "https");
  EXPECT_EQ(PortLabel(Flow(17, 443)), "quic");
  EXPECT_EQ(PortLabel(Flow(6, 5202)), "tcp/5202");
  // The remote side opened it: our port is the service.
  EXPECT_EQ(PortLabel(Flow(6, 5202, /*local_initiated=*/false)), "tcp/40000");
  EXPECT_EQ(PortLabel(Flow(1, 0)), "other");
}

TEST(PortLabelsTest, StickyBoundedLabelsWithMonotonicOther) {
  PortLabels t(/*max_labels=*/2, /*min_bytes=*/1000);
  t.Add(Flow(6, 443), 100, 600);  // 700 < 1000: still "other"
  ASSERT_EQ(t.entries().size(), 1u);
  EXPECT_EQ(t.LabelOf(Flow(6, 443)), "other");
  EXPECT_EQ(t.entries().back().bytes[capture::kDown], 600u);
  t.Add(Flow(6, 443), 0, 600);  // 1300: gets its label; these bytes stay in "other"
  ASSERT_EQ(t.entries().size(), 2u);
  EXPECT_EQ(t.LabelOf(Flow(6, 443)), "https");
  EXPECT_EQ(t.entries().back().bytes[capture::kDown], 1200u);
  t.Add(Flow(6, 443), 0, 50);
  EXPECT_EQ(t.entries()[0].bytes[capture::kDown], 50u);
  t.Add(Flow(6, 5202), 0, 5000);
  t.Add(Flow(17, 443), 0, 5000);  // no label left: counted as other
  ASSERT_EQ(t.entries().size(), 3u);
  EXPECT_EQ(t.entries()[1].label, "tcp/5202");
  EXPECT_EQ(t.entries()[2].label, "other");
  EXPECT_EQ(t.LabelOf(Flow(17, 443)), "other");
  EXPECT_EQ(t.entries()[2].bytes[capture::kDown], 1200u + 5000 + 5000);
}

}  // namespace
}  // namespace tw::detector
