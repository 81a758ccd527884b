#include "util/list_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tw::util {
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

TEST(ListArenaTest, UsesFewerThanOneAndAHalfSlotsPerItemPlusTheFirstChunk) {
  // After every length n: the list's chunks hold n items and fewer than half as many more.
  ListArena<uint32_t> arena(1 << 20);
  ListArena<uint32_t>::List a;
  for (uint32_t n = 1; n <= 90'000; ++n) {
    ASSERT_TRUE(arena.Append(&a, n));
    ASSERT_GE(arena.used(), n);
    ASSERT_LT(arena.used(), 1.5 * n + 16) << n;
  }
  EXPECT_EQ(arena.used(), 98'272u);  // doubling chunks held 131 056
  ListArena<uint32_t>::List b;
  ASSERT_TRUE(arena.Append(&b, 1));
  EXPECT_EQ(arena.view(a)[89'999], 90'000u);
  EXPECT_EQ(arena.view(b)[0], 1u);
  EXPECT_LE(sizeof(ListArena<uint32_t>::List), 40u);  // one per flow direction: kept small
}

TEST(ListArenaTest, AListHoldsMaxItemsAndNoMore) {
  using Arena = ListArena<uint32_t>;
  Arena arena(2 * Arena::max_items());
  Arena::List a;
  for (uint32_t i = 0; i < Arena::max_items(); ++i) ASSERT_TRUE(arena.Append(&a, i)) << i;
  EXPECT_FALSE(arena.Append(&a, 0));
  EXPECT_EQ(arena.used(), Arena::max_items());  // the last chunk is exactly full
  const auto view = arena.view(a);
  for (uint32_t i = 0; i < Arena::max_items(); i += 997) ASSERT_EQ(view[i], i);
  EXPECT_EQ(view.back(), Arena::max_items() - 1);
  EXPECT_GE(Arena::max_items(), size_t{1} << 17);  // the verdict tracker's cap per flow
}

TEST(ListArenaTest, AppendFailsWhenTheRegionIsUsedUp) {
  ListArena<uint32_t> arena(16 + 16 + 32);  // room for one list's first three chunks
  ListArena<uint32_t>::List a, b;
  for (uint32_t i = 0; i < 64; ++i) ASSERT_TRUE(arena.Append(&a, i));
  EXPECT_FALSE(arena.Append(&a, 64));  // a fourth chunk (32) does not fit
  EXPECT_FALSE(arena.Append(&b, 0));   // neither does another list's first
  EXPECT_EQ(a.size, 64u);
  EXPECT_EQ(b.size, 0u);
  EXPECT_EQ(arena.view(a).back(), 63u);
  arena.Clear();  // everything is free again
  ListArena<uint32_t>::List c;
  for (uint32_t i = 0; i < 64; ++i) ASSERT_TRUE(arena.Append(&c, i + 100));
  EXPECT_EQ(arena.view(c)[63], 163u);
}

TEST(ListArenaTest, ClearAlsoFreesTheDirectoriesOfLongLists) {
  // Each list outgrows the chunks a List holds itself (480 items) and takes a directory; the
  // region fits two such lists at a time, again after Clear().
  ListArena<uint32_t> arena(2 * 1000);
  for (int round = 0; round < 3; ++round) {
    ListArena<uint32_t>::List a, b;
    for (uint32_t i = 0; i < 700; ++i) {
      ASSERT_TRUE(arena.Append(&a, i)) << round;
      ASSERT_TRUE(arena.Append(&b, 7 * i)) << round;
    }
    EXPECT_NE(a.more, 0u);
    EXPECT_NE(b.more, a.more);
    for (uint32_t i = 0; i < 700; ++i) {
      ASSERT_EQ(arena.view(a)[i], i);
      ASSERT_EQ(arena.view(b)[i], 7 * i);
    }
    arena.Clear();
  }
}

TEST(ListArenaTest, ZeroCapacityHoldsNothing) {
  ListArena<uint32_t> arena(0);
  ListArena<uint32_t>::List a;
  EXPECT_FALSE(arena.Append(&a, 1));
  EXPECT_EQ(a.size, 0u);
}

}  // namespace
}  // namespace tw::util
