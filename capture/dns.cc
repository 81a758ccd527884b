#include "capture/dns.h"

namespace tw::capture {

bool ReadDnsName(const uint8_t* data, size_t len, size_t* pos, std::string* out) {
  out->clear();
  size_t p = *pos;
  bool jumped = false;
  for (int hops = 0; hops < 64; ++hops) {
    if (p >= len) return false;
    const uint8_t l = data[p];
    if (l == 0) {
      if (!jumped) *pos = p + 1;
      return true;
    }
    if ((l & 0xc0) == 0xc0) {
      if (p + 1 >= len) return false;
      const size_t target = size_t(l & 0x3f) << 8 | data[p + 1];
      if (!jumped) *pos = p + 2;
      jumped = true;
      if (target >= p) return false;  // only backward pointers: no loops
      p = target;
      continue;
    }
    if ((l & 0xc0) != 0 || p + 1 + l > len) return false;
    if (!out->empty()) out->push_back('.');
    if (out->size() + l > 253) return false;
    for (size_t i = 0; i < l; ++i) {
      char c = char(data[p + 1 + i]);
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
      out->push_back(c);
    }
    p += 1 + l;
  }
  return false;
}

}  // namespace tw::capture
