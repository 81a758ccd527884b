#include "detector/list_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tw::detector {
namespace {

TEST(ListArenaTest, InterleavedListsKeepTheirItemsInOrder) {
  ListArena<uint64_t> arena(1 << 16);
  std::vector<ListArena<uint64_t>::List> lists(5);
  std::vector<std::vector<uint64_t>> want(5);
  // Lists of very different lengths, appended in turn, so their chunks interleave.
  for (uint64_t i = 0; i < 5000; ++i) {
    for (size_t l = 0; l < lists.size(); ++l) {
      if (i % (l + 1) != 0) continue;
      const uint64_t v = i * 10 + l;
      ASSERT_TRUE(arena.Append(&lists[l], v));
      want[l].push_back(v);
    }
  }
  for (size_t l = 0; l < lists.size(); ++l) {
    const auto view = arena.view(lists[l]);
    ASSERT_EQ(view.size(), want[l].size());
    for (size_t i = 0; i < view.size(); ++i) ASSERT_EQ(view[i], want[l][i]) << l << " " << i;
    EXPECT_EQ(view.front(), want[l].front());
    EXPECT_EQ(view.back(), want[l].back());
  }
  arena.At(lists[2], 7) = 42;  // items are writable in place
  EXPECT_EQ(arena.view(lists[2])[7], 42u);
}

TEST(ListArenaTest, UsesFewerThanTwoSlotsPerItemPlusTheFirstChunk) {
  ListArena<uint32_t> arena(1 << 20);
  ListArena<uint32_t>::List a, b;
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(arena.Append(&a, i));
  ASSERT_TRUE(arena.Append(&b, 1));
  EXPECT_LT(arena.used(), 2 * 1000 + 16 + 16);
  EXPECT_GE(arena.used(), 1000u + 16);
}

TEST(ListArenaTest, AppendFailsWhenTheRegionIsUsedUp) {
  ListArena<uint32_t> arena(16 + 32);  // room for one list's first two chunks
  ListArena<uint32_t>::List a, b;
  for (uint32_t i = 0; i < 48; ++i) ASSERT_TRUE(arena.Append(&a, i));
  EXPECT_FALSE(arena.Append(&a, 48));  // a third chunk (64) does not fit
  EXPECT_FALSE(arena.Append(&b, 0));   // neither does another list's first
  EXPECT_EQ(a.size, 48u);
  EXPECT_EQ(b.size, 0u);
  EXPECT_EQ(arena.view(a).back(), 47u);
  arena.Clear();  // everything is free again
  ListArena<uint32_t>::List c;
  for (uint32_t i = 0; i < 48; ++i) ASSERT_TRUE(arena.Append(&c, i + 100));
  EXPECT_EQ(arena.view(c)[47], 147u);
}

TEST(ListArenaTest, ZeroCapacityHoldsNothing) {
  ListArena<uint32_t> arena(0);
  ListArena<uint32_t>::List a;
  EXPECT_FALSE(arena.Append(&a, 1));
  EXPECT_EQ(a.size, 0u);
}

}  // namespace
}  // namespace tw::detector
