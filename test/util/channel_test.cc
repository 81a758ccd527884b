#include "util/channel.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tw::util {
namespace {

TEST(ChannelTest, KeepsOrderAcrossThreadsAndGrowsPastItsCapacity) {
  Channel<int> ch(2);
  for (int i = 0; i < 5; ++i) ch.Push(i);  // past the capacity: grows, keeps order
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ch.Pop(), i);
  // A producer and a consumer passing a fixed population of items back and forth.
  Channel<int> full(4), free(4);
  for (int i = 0; i < 4; ++i) free.Push(0);
  std::vector<int> got;
  std::thread consumer([&] {
    for (int v = 0; v >= 0;) {
      v = full.Pop();
      if (v >= 0) got.push_back(v);
      free.Push(0);
    }
  });
  for (int i = 0; i < 10000; ++i) {
    free.Pop();
    full.Push(i);
  }
  free.Pop();
  full.Push(-1);
  consumer.join();
  ASSERT_EQ(got.size(), 10000u);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(got[size_t(i)], i);
}

}  // namespace
}  // namespace tw::util
