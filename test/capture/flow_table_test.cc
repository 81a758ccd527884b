#include "capture/flow_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "capture/ip_proto.h"

namespace tw::capture {
namespace {

FlowKey Key(uint32_t i) {
  FlowKey k;
  k.proto = capture::kIpProtoTcp;
  k.a.bytes[15] = uint8_t(i);
  k.a.bytes[14] = uint8_t(i >> 8);
  k.a.bytes[13] = uint8_t(i >> 16);
  k.port_a = uint16_t(i * 7);
  k.port_b = 443;
  return k;
}

TEST(FlowTableTest, InsertFindErase) {
  FlowTable<int> t(4);
  EXPECT_EQ(t.Find(Key(1)), nullptr);
  t.Insert(Key(1))->value = 10;
  t.Insert(Key(2))->value = 20;
  ASSERT_NE(t.Find(Key(1)), nullptr);
  EXPECT_EQ(t.Find(Key(1))->value, 10);
  EXPECT_EQ(t.Find(Key(2))->value, 20);
  t.EraseAt(0);
  EXPECT_EQ(t.Find(Key(1)), nullptr);
  ASSERT_NE(t.Find(Key(2)), nullptr);
  EXPECT_EQ(t.Find(Key(2))->value, 20);
  EXPECT_EQ(t.size(), 1u);
}

TEST(FlowTableTest, HardCapRefusesInsert) {
  FlowTable<int> t(3);
  for (uint32_t i = 0; i < 3; ++i) ASSERT_NE(t.Insert(Key(i)), nullptr);
  EXPECT_TRUE(t.full());
  EXPECT_EQ(t.Insert(Key(99)), nullptr);
}

// Random inserts and erases against std::map: exercises backward-shift deletion with long
// probe chains (a tiny table forces collisions).
TEST(FlowTableTest, MatchesReferenceMapUnderChurn) {
  FlowTable<uint32_t> t(64);
  std::map<uint32_t, uint32_t> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t k = uint32_t(rng() % 200);
    auto* e = t.Find(Key(k));
    ASSERT_EQ(e != nullptr, ref.count(k) == 1) << "step " << step;
    if (e != nullptr) {
      ASSERT_EQ(e->value, ref[k]);
      if (rng() % 2 == 0) {
        t.EraseAt(size_t(e - &t.at(0)));
        ref.erase(k);
      }
    } else if (!t.full()) {
      t.Insert(Key(k))->value = k * 3;
      ref[k] = k * 3;
    }
  }
  for (const auto& [k, v] : ref) {
    auto* e = t.Find(Key(k));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->value, v);
  }
  EXPECT_EQ(t.size(), ref.size());
}

}  // namespace
}  // namespace tw::capture
