#include "capture/crypto_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tw::capture {
namespace {

const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string Prefix(const CryptoStream& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.contiguous());
}

TEST(CryptoStreamTest, PiecesInAnyOrderMakeThePrefix) {
  CryptoStream s;
  EXPECT_EQ(s.contiguous(), 0u);
  ASSERT_TRUE(s.Add(6, U("world"), 5));
  EXPECT_EQ(s.contiguous(), 0u);  // a hole at the start
  ASSERT_TRUE(s.Add(0, U("hel"), 3));
  EXPECT_EQ(Prefix(s), "hel");
  ASSERT_TRUE(s.Add(2, U("llo "), 4));  // overlaps both
  EXPECT_EQ(Prefix(s), "hello world");
  ASSERT_TRUE(s.Add(0, U("hello"), 5));  // a repeat changes nothing
  EXPECT_EQ(Prefix(s), "hello world");
  ASSERT_TRUE(s.Add(3, U(""), 0));
  EXPECT_EQ(Prefix(s), "hello world");
}

// Whoever sends the pieces chooses their offsets: past the bound, or too many holes, they are
// refused and nothing is kept.
TEST(CryptoStreamTest, BoundsRefusePieces) {
  CryptoStream s;
  const std::string x(10, 'x');
  EXPECT_FALSE(s.Add(CryptoStream::kMaxBytes - 5, U(x), x.size()));
  EXPECT_FALSE(s.Add(uint64_t(1) << 62, U(x), x.size()));
  EXPECT_TRUE(s.Add(CryptoStream::kMaxBytes - 10, U(x), x.size()));
  for (size_t i = 1; i < CryptoStream::kMaxGaps; ++i) EXPECT_TRUE(s.Add(100 * i, U(x), 1)) << i;
  EXPECT_FALSE(s.Add(50, U(x), 1));  // one hole too many
  EXPECT_TRUE(s.Add(100, U(x), 5));  // within a range already there
  EXPECT_FALSE(s.Add(0, U(x), 1));   // a new hole-separated range: refused as well
  EXPECT_EQ(s.contiguous(), 0u);
}

}  // namespace
}  // namespace tw::capture
