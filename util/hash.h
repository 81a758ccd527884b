#pragma once
// The project's one hash: a few 64-bit words to a well-mixed 64-bit value. Used for the flow
// table (every packet), the shard of a flow, the server-name and series maps and the verdict
// index, so that one function is measured, tested and trusted instead of five.
//
// The words are mixed in pairs by independent 64x64->128-bit multiplies (folded: low half xor
// high half), so the multiplies overlap instead of forming a chain, then finished with murmur3's
// fmix step. Not a cryptographic hash: nothing here defends against chosen collisions beyond
// what bounded tables already do (see capture/flow_table.h).

#include <cstddef>
#include <cstdint>

namespace tw::util {

// murmur3's finaliser (one round): spreads every input bit over the output.
constexpr uint64_t Mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

namespace hash_internal {
inline constexpr uint64_t kSeeds[6] = {0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
                                       0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL,
                                       0x1d8e4e27c47d124fULL, 0x9e3779b97f4a7c15ULL};
inline uint64_t MulFold(uint64_t x, uint64_t y) {
  __extension__ using U128 = unsigned __int128;  // GCC and Clang on 64-bit targets
  const U128 r = static_cast<U128>(x) * y;
  return uint64_t(r) ^ uint64_t(r >> 64);
}
}  // namespace hash_internal

// Hash of N (1 to 6) words. Inline: the flow table calls it on every packet.
template <size_t N>
inline uint64_t HashWords(const uint64_t (&w)[N]) {
  static_assert(N >= 1 && N <= 6);
  using hash_internal::kSeeds;
  using hash_internal::MulFold;
  uint64_t h = 0;
  for (size_t i = 0; i < N; i += 2) {
    h ^= MulFold(w[i] ^ kSeeds[i], i + 1 < N ? w[i + 1] ^ kSeeds[i + 1] : kSeeds[5]);
  }
  return Mix64(h);
}

// Hash of one integer (an id, a key).
inline uint64_t HashU64(uint64_t x) {
  const uint64_t w[1] = {x};
  return HashWords(w);
}

}  // namespace tw::util
