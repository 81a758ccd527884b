#include "capture/crypto_stream.h"

#include <algorithm>
#include <cstring>

namespace tw::capture {

bool CryptoStream::Add(uint64_t offset, const uint8_t* data, size_t len) {
  if (len == 0) return true;
  if (offset > kMaxBytes || len > kMaxBytes - offset) return false;
  const size_t begin = size_t(offset), end = begin + len;
  // Merge [begin, end) into the sorted ranges, then check the bound before touching bytes.
  std::vector<std::pair<size_t, size_t>> merged;
  merged.reserve(ranges_.size() + 1);
  std::pair<size_t, size_t> add{begin, end};
  bool placed = false;
  for (const auto& r : ranges_) {
    if (r.second < add.first) {
      merged.push_back(r);
    } else if (add.second < r.first) {
      if (!placed) merged.push_back(add), placed = true;
      merged.push_back(r);
    } else {
      add = {std::min(add.first, r.first), std::max(add.second, r.second)};
    }
  }
  if (!placed) merged.push_back(add);
  std::sort(merged.begin(), merged.end());
  if (merged.size() > kMaxGaps) return false;
  if (buf_.size() < end) buf_.resize(end);
  std::memcpy(buf_.data() + begin, data, len);
  ranges_ = std::move(merged);
  return true;
}

}  // namespace tw::capture
