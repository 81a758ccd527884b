#include "util/hash.h"

#include <gtest/gtest.h>

#include <cstring>
#include <unordered_set>
#include <vector>

namespace tw::util {
namespace {

// The flow table's hash as it was before it moved here: HashWords of five words must stay this
// function, bit for bit, so that the table's slots (and its measured speed) do not move.
uint64_t FlowKeyHashAsBefore(const uint64_t (&w)[5]) {
  const auto mix = [](uint64_t x, uint64_t y) {
    __extension__ using U128 = unsigned __int128;
    const U128 r = static_cast<U128>(x) * y;
    return uint64_t(r) ^ uint64_t(r >> 64);
  };
  uint64_t h = mix(w[0] ^ 0xa0761d6478bd642fULL, w[1] ^ 0xe7037ed1a0b428dbULL) ^
               mix(w[2] ^ 0x8ebc6af09c88c6e3ULL, w[3] ^ 0x589965cc75374cc3ULL) ^
               mix(w[4] ^ 0x1d8e4e27c47d124fULL, 0x9e3779b97f4a7c15ULL);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

TEST(HashTest, FiveWordsHashAsTheFlowTableAlwaysDid) {
  uint64_t w[5] = {0x0a00000100000000ULL, 0, 0x0a00000200000000ULL, 0, 0x0006005001bb0000ULL};
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(HashWords(w), FlowKeyHashAsBefore(w));
    w[i % 5] = w[i % 5] * 6364136223846793005ULL + 1442695040888963407ULL;
  }
}

TEST(HashTest, EveryWordAndItsPositionMatter) {
  const uint64_t a[3] = {1, 2, 3}, b[3] = {2, 1, 3}, c[3] = {1, 2, 4};
  EXPECT_NE(HashWords(a), HashWords(b));
  EXPECT_NE(HashWords(a), HashWords(c));
  const uint64_t one[1] = {0};
  EXPECT_NE(HashU64(0), 0u);
  EXPECT_EQ(HashU64(0), HashWords(one));
}

// Sequential ids (flow ids, counters) must spread over a power-of-two table's low bits: with
// 65,536 ids in 65,536 slots a uniform hash leaves about 1/e of the slots empty.
TEST(HashTest, SequentialIdsSpreadOverTheLowBits) {
  constexpr size_t kSlots = 1 << 16;
  std::vector<bool> used(kSlots);
  for (uint64_t id = 1; id <= kSlots; ++id) used[HashU64(id) & (kSlots - 1)] = true;
  size_t empty = 0;
  for (bool u : used) empty += !u;
  EXPECT_NEAR(double(empty) / kSlots, 0.3679, 0.01);
}

}  // namespace
}  // namespace tw::util
