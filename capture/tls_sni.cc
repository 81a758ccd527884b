#include "capture/tls_sni.h"

namespace tw::capture {

namespace {

// A bounds-checked big-endian reader over a byte range.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool U8(uint32_t* v) { return Get(1, v); }
  bool U16(uint32_t* v) { return Get(2, v); }
  bool U24(uint32_t* v) { return Get(3, v); }
  bool Skip(size_t k) {
    if (k > n_ - i_) return false;
    i_ += k;
    return true;
  }
  // A sub-reader over the next k bytes (clamped to what is left: captures may be cut short).
  Reader Sub(size_t k) {
    const size_t take = k > n_ - i_ ? n_ - i_ : k;
    Reader r(p_ + i_, take);
    i_ += take;
    return r;
  }
  const uint8_t* here() const { return p_ + i_; }
  size_t left() const { return n_ - i_; }

 private:
  bool Get(size_t k, uint32_t* v) {
    if (k > n_ - i_) return false;
    uint32_t x = 0;
    for (size_t j = 0; j < k; ++j) x = (x << 8) | p_[i_ + j];
    i_ += k;
    *v = x;
    return true;
  }
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

}  // namespace

bool ParseTlsSni(const uint8_t* data, size_t len, std::string_view* name) {
  Reader rec(data, len);
  uint32_t type = 0, version = 0, rec_len = 0;
  if (!rec.U8(&type) || type != 22) return false;  // handshake record
  if (!rec.U16(&version) || (version >> 8) != 3) return false;
  if (!rec.U16(&rec_len)) return false;
  Reader hs = rec.Sub(rec_len);
  return ParseClientHelloSni(hs.here(), hs.left(), name);
}

bool ParseClientHelloSni(const uint8_t* data, size_t len, std::string_view* name) {
  Reader hs(data, len);
  uint32_t hs_type = 0, hs_len = 0;
  if (!hs.U8(&hs_type) || hs_type != 1) return false;  // ClientHello
  if (!hs.U24(&hs_len)) return false;
  Reader ch = hs.Sub(hs_len);
  uint32_t n = 0;
  if (!ch.Skip(2 + 32)) return false;            // client version, random
  if (!ch.U8(&n) || !ch.Skip(n)) return false;   // session id
  if (!ch.U16(&n) || !ch.Skip(n)) return false;  // cipher suites
  if (!ch.U8(&n) || !ch.Skip(n)) return false;   // compression methods
  uint32_t ext_total = 0;
  if (!ch.U16(&ext_total)) return false;
  Reader exts = ch.Sub(ext_total);
  for (int guard = 0; guard < 256 && exts.left() >= 4; ++guard) {
    uint32_t ext_type = 0, ext_len = 0;
    if (!exts.U16(&ext_type) || !exts.U16(&ext_len)) return false;
    Reader ext = exts.Sub(ext_len);
    if (ext_type != 0) continue;  // server_name
    uint32_t list_len = 0;
    if (!ext.U16(&list_len)) return false;
    Reader list = ext.Sub(list_len);
    while (list.left() >= 3) {
      uint32_t name_type = 0, name_len = 0;
      if (!list.U8(&name_type) || !list.U16(&name_len)) return false;
      if (name_type != 0 || name_len == 0 || name_len > list.left() || name_len > 255) {
        if (!list.Skip(name_len)) return false;
        continue;
      }
      *name = std::string_view(reinterpret_cast<const char*>(list.here()), name_len);
      return true;
    }
    return false;
  }
  return false;
}

}  // namespace tw::capture
