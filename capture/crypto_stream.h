#ifndef THROTTLEWATCH_CAPTURE_CRYPTO_STREAM_H_
#define THROTTLEWATCH_CAPTURE_CRYPTO_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tw::capture {

// The start of one flow's handshake stream (QUIC CRYPTO frames), put together from pieces that
// may come in any order, repeat or overlap: a ClientHello spans several Initial packets when
// it is large (post-quantum key shares) and Chrome even shuffles the pieces of one packet.
// Bounded, because whoever sends the pieces chooses their offsets: bytes past kMaxBytes and
// pieces that would leave more than kMaxGaps separate ranges are refused. Memory grows to the
// highest offset seen (at most kMaxBytes), only for flows that send handshake pieces.
class CryptoStream {
 public:
  static constexpr size_t kMaxBytes = 16384;
  static constexpr size_t kMaxGaps = 8;

  // Adds `len` bytes at stream offset `offset`. False (and nothing kept) when refused.
  bool Add(uint64_t offset, const uint8_t* data, size_t len);
  // The bytes received without a hole from offset 0 (valid until the next Add).
  const uint8_t* data() const { return buf_.data(); }
  size_t contiguous() const {
    return ranges_.empty() || ranges_[0].first != 0 ? 0 : ranges_[0].second;
  }

 private:
  std::vector<uint8_t> buf_;
  std::vector<std::pair<size_t, size_t>> ranges_;  // [begin, end) received, sorted, disjoint
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_CRYPTO_STREAM_H_
