#include "capture/capture_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "capture/decode.h"

namespace tw::capture {

namespace {

constexpr uint32_t kPcapMagicUs = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;
constexpr uint32_t kNgSectionHeader = 0x0a0d0d0a;
constexpr uint32_t kNgByteOrder = 0x1a2b3c4d;
constexpr uint32_t kNgInterface = 1;
constexpr uint32_t kNgObsoletePacket = 2;
constexpr uint32_t kNgSimplePacket = 3;
constexpr uint32_t kNgNameResolution = 4;
constexpr uint32_t kNgInterfaceStats = 5;
constexpr uint32_t kNgEnhancedPacket = 6;
constexpr uint32_t kNgDecryptionSecrets = 10;
constexpr uint32_t kNgCustom = 0xbad, kNgCustomNoCopy = 0x40000bad;

enum NoteKind { kZeroLength, kOverSnaplen, kBackwards, kJump, kUnsupportedLink };
const char* const kNoteText[] = {
    "zero-length packet record (skipped)",
    "captured length above the file's snapshot length (kept)",
    "timestamp earlier than the packet before (kept)",
    "timestamp more than a year away from the packet before (skipped)",
    "packet of an interface with an unsupported link type (skipped)",
};

constexpr size_t kPrefetchAhead = 1024;

// A compressed file: what compressed it, the tool that undoes it and the one that writes the
// result to standard output; nullptr when it is not one.
struct Compression {
  const char* name;
  const char* undo;
  const char* cat;
};
const Compression* CompressionOf(const uint8_t* d, size_t size) {
  static const Compression kGzip{"gzip", "gunzip", "zcat"}, kXz{"xz", "unxz", "xzcat"},
      kZstd{"zstd", "unzstd", "zstdcat"}, kBzip2{"bzip2", "bunzip2", "bzcat"};
  const auto starts = [&](std::initializer_list<uint8_t> magic) {
    return size >= magic.size() && std::equal(magic.begin(), magic.end(), d);
  };
  if (starts({0x1f, 0x8b})) return &kGzip;
  if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00})) return &kXz;
  if (starts({0x28, 0xb5, 0x2f, 0xfd})) return &kZstd;
  if (starts({'B', 'Z', 'h'})) return &kBzip2;
  return nullptr;
}

uint32_t Bswap(uint32_t v) { return __builtin_bswap32(v); }

}  // namespace

uint32_t CaptureFileReader::U32(size_t at) const {
  uint32_t v;
  std::memcpy(&v, data_ + at, 4);
  return swap_ ? Bswap(v) : v;
}

uint16_t CaptureFileReader::U16(size_t at) const {
  uint16_t v;
  std::memcpy(&v, data_ + at, 2);
  return swap_ ? __builtin_bswap16(v) : v;
}

ReadStatus CaptureFileReader::Fail(size_t at, const std::string& what) {
  error_ = name_ + ": byte " + std::to_string(at) + ": " + what;
  pos_ = size_;  // nothing more comes out of a broken file
  return ReadStatus::kMalformed;
}

void CaptureFileReader::Note(int kind, size_t at) {
  if (!noted_[kind]) {
    noted_[kind] = true;
    first_at_[kind] = at;
  }
}

std::vector<std::string> CaptureFileReader::notes() const {
  const uint64_t counts[kNoteKinds] = {stats_.zero_length, stats_.caplen_over_snaplen,
                                       stats_.time_backwards, stats_.time_jumps,
                                       stats_.unsupported_link};
  std::vector<std::string> out;
  for (int k = 0; k < kNoteKinds; ++k) {
    if (!noted_[k]) continue;
    out.push_back(name_ + ": byte " + std::to_string(first_at_[k]) + ": " + kNoteText[k] + ", " +
                  std::to_string(counts[k]) + " time" + (counts[k] == 1 ? "" : "s"));
  }
  if (stats_.unknown_blocks > 0) {
    out.push_back(name_ + ": " + std::to_string(stats_.unknown_blocks) +
                  " pcapng block(s) of unknown type (skipped)");
  }
  return out;
}

bool CaptureFileReader::Open(const uint8_t* data, size_t size, std::string name,
                             std::string* error) {
  *this = CaptureFileReader();
  data_ = data;
  size_ = size;
  name_ = std::move(name);
  auto fail = [&](size_t at, const std::string& what) {
    Fail(at, what);
    *error = error_;
    return false;
  };
  if (size < 4) return fail(0, "truncated file header (" + std::to_string(size) + " bytes)");
  uint32_t magic;
  std::memcpy(&magic, data, 4);
  if (magic == kNgSectionHeader) {
    pcapng_ = true;
    if (!ParseSectionHeader(0)) {
      *error = error_;
      return false;
    }
    return true;
  }
  if (magic == kPcapMagicUs || magic == kPcapMagicNs) {
    swap_ = false;
  } else if (Bswap(magic) == kPcapMagicUs || Bswap(magic) == kPcapMagicNs) {
    swap_ = true;
  } else if (const Compression* c = CompressionOf(data, size); c != nullptr) {
    error_ = name_ + ": is " + c->name + "-compressed; " + c->undo + " it first";
    if (name_ != "-") {
      error_ += std::string(" (or: ") + c->cat + " " + name_ + " | throttlewatch replay -)";
    }
    pos_ = size_;
    *error = error_;
    return false;
  } else {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%08x", Bswap(magic));
    return fail(0, std::string("not a pcap or pcapng file (magic ") + hex + ")");
  }
  nano_ = (swap_ ? Bswap(magic) : magic) == kPcapMagicNs;
  if (size < 24)
    return fail(size, "truncated pcap file header (" + std::to_string(size) + " of 24 bytes)");
  snaplen_ = U32(16);
  // The upper bits of the link-type field carry FCS information; the type is the low 16.
  link_type_ = int(U32(20) & 0xffff);
  if (!IsSupportedLinkType(link_type_)) {
    return fail(20, "unsupported link type " + std::to_string(link_type_));
  }
  pos_ = 24;
  return true;
}

namespace {
__extension__ typedef __int128 Int128;  // GCC and clang; -Wpedantic knows it is an extension

int64_t SaturatingNs(Int128 v) {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return int64_t(v);
}

// |a - b| > limit, without overflow (crafted timestamps reach the ends of int64).
bool FarApart(int64_t a, int64_t b, int64_t limit) {
  int64_t d = 0;
  if (__builtin_sub_overflow(a, b, &d)) return true;
  return d > limit || d < -limit;
}
}  // namespace

bool CaptureFileReader::Accept(size_t at, uint32_t caplen, uint32_t snaplen, int64_t ts_ns) {
  if (caplen == 0) {
    ++stats_.zero_length;
    Note(kZeroLength, at);
    return false;
  }
  if (snaplen != 0 && caplen > snaplen) {
    ++stats_.caplen_over_snaplen;
    Note(kOverSnaplen, at);
  }
  if (have_last_) {
    if (FarApart(ts_ns, last_ns_, kMaxJumpNs)) {
      ++stats_.time_jumps;
      Note(kJump, at);
      // Two packets in a row that agree on the new time are a clock step, not damage: the
      // time base moves on (the first of them is lost).
      if (have_jump_ && !FarApart(ts_ns, jump_ns_, kMaxJumpNs)) {
        have_jump_ = false;
        --stats_.time_jumps;  // this one is delivered
        last_ns_ = ts_ns;
        ++stats_.packets;
        return true;
      }
      have_jump_ = true;
      jump_ns_ = ts_ns;
      return false;
    }
    if (ts_ns < last_ns_) {
      ++stats_.time_backwards;
      Note(kBackwards, at);
    }
  }
  have_jump_ = false;
  have_last_ = true;
  if (ts_ns > last_ns_ || stats_.packets == 0) last_ns_ = ts_ns;
  ++stats_.packets;
  return true;
}

ReadStatus CaptureFileReader::Next(Packet* out) {
  return pcapng_ ? NextPcapng(out) : NextPcap(out);
}

ReadStatus CaptureFileReader::NextPcap(Packet* out) {
  for (;;) {
    const size_t at = pos_;
    if (at == size_) return ReadStatus::kEnd;
    if (size_ - at < 16) {
      return Fail(
          at, "truncated packet record header (" + std::to_string(size_ - at) + " of 16 bytes)");
    }
    uint32_t h[4];
    std::memcpy(h, data_ + at, 16);
    if (swap_) {
      for (uint32_t& v : h) v = Bswap(v);
    }
    const uint32_t caplen = h[2];
    if (caplen > kMaxCaplen) {
      return Fail(at, "absurd captured length " + std::to_string(caplen) +
                          " (over 256 KiB): the file is corrupt here");
    }
    if (size_ - at - 16 < caplen) {
      return Fail(at, "truncated packet: record needs " + std::to_string(caplen) + " bytes, " +
                          std::to_string(size_ - at - 16) + " left");
    }
    pos_ = at + 16 + caplen;
    // The file is read once, front to back: ask for the lines a few packets ahead now, as the
    // hardware prefetcher stops at every page boundary.
    __builtin_prefetch(data_ + at + kPrefetchAhead);
    __builtin_prefetch(data_ + at + kPrefetchAhead + 64);
    const int64_t ts_ns =
        int64_t(h[0]) * 1'000'000'000 + (nano_ ? int64_t(h[1]) : int64_t(h[1]) * 1000);
    if (!Accept(at, caplen, snaplen_, ts_ns)) continue;
    out->ts_ns = ts_ns;
    out->data = data_ + at + 16;
    out->caplen = caplen;
    out->wire_len = h[3] < caplen ? caplen : h[3];
    out->link_type = link_type_;
    return ReadStatus::kPacket;
  }
}

bool CaptureFileReader::ParseSectionHeader(size_t at) {
  // Block type, total length, byte-order magic, version, section length (64 bits).
  if (size_ - at < 12) {
    Fail(at, "truncated pcapng section header");
    return false;
  }
  uint32_t bom;
  std::memcpy(&bom, data_ + at + 8, 4);
  if (bom == kNgByteOrder) {
    swap_ = false;
  } else if (Bswap(bom) == kNgByteOrder) {
    swap_ = true;
  } else {
    Fail(at + 8, "bad pcapng byte-order magic");
    return false;
  }
  const uint32_t len = U32(at + 4);
  if (len < 28 || len % 4 != 0) {
    Fail(at + 4, "bad pcapng section header length " + std::to_string(len));
    return false;
  }
  if (size_ - at < len) {
    Fail(at, "truncated pcapng section header");
    return false;
  }
  if (U32(at + len - 4) != len) {
    Fail(at + len - 4, "pcapng block trailer disagrees with its length");
    return false;
  }
  const uint16_t major = U16(at + 12);
  if (major != 1) {
    Fail(at + 12, "unsupported pcapng version " + std::to_string(major));
    return false;
  }
  interfaces_.clear();
  pos_ = at + len;
  return true;
}

bool CaptureFileReader::ParseInterface(size_t at, uint32_t len) {
  if (len < 20) {
    Fail(at, "pcapng interface block too short");
    return false;
  }
  Interface itf;
  itf.link_type = U16(at + 8);
  itf.snaplen = U32(at + 12);
  itf.supported = IsSupportedLinkType(itf.link_type);
  // Options: if_tsresol (9) and if_tsoffset (14).
  size_t o = at + 16;
  const size_t end = at + len - 4;
  while (o + 4 <= end) {
    const uint16_t code = U16(o), olen = U16(o + 2);
    if (code == 0) break;
    if (o + 4 + olen > end) {
      Fail(o, "pcapng option runs past its block");
      return false;
    }
    if (code == 9 && olen >= 1) {
      const uint8_t r = data_[o + 4];
      const int n = r & 0x7f;
      if (r & 0x80) {
        if (n > 63) {
          Fail(o, "bad if_tsresol");
          return false;
        }
        itf.shift = n;
      } else {
        if (n > 18) {
          Fail(o, "bad if_tsresol");
          return false;
        }
        itf.mul = 1, itf.div = 1;
        for (int i = n; i < 9; ++i) itf.mul *= 10;
        for (int i = 9; i < n; ++i) itf.div *= 10;
      }
    } else if (code == 14 && olen >= 8) {
      const uint64_t lo = U32(o + 4), hi = U32(o + 8);
      // Options are in the section's byte order as a 64-bit value.
      const uint64_t v = swap_ ? (lo << 32 | hi) : (hi << 32 | lo);
      itf.offset_ns = SaturatingNs(Int128(int64_t(v)) * 1'000'000'000);
    }
    o += 4 + ((olen + 3u) & ~3u);
  }
  if (link_type_ < 0) link_type_ = itf.link_type;
  if (itf.supported) {
    any_supported_ = true;
  } else if (unsupported_link_ < 0) {
    unsupported_link_ = itf.link_type;
    unsupported_at_ = at + 8;
  }
  interfaces_.push_back(itf);
  return true;
}

int64_t CaptureFileReader::ToNs(const Interface& itf, uint64_t ts) const {
  // In 128 bits and clamped: crafted resolutions and offsets must not overflow (an absurd time
  // is then caught as a jump by Accept()).
  Int128 ns;
  if (itf.shift >= 0) {
    const uint64_t secs = itf.shift == 0 ? ts : ts >> itf.shift;
    const uint64_t frac = itf.shift == 0 ? 0 : ts & ((uint64_t{1} << itf.shift) - 1);
    ns = Int128(secs) * 1'000'000'000 +
         Int128(double(frac) * 1e9 / double(uint64_t{1} << itf.shift));
  } else {
    ns = Int128(ts) * itf.mul / itf.div;
  }
  return SaturatingNs(ns + itf.offset_ns);
}

ReadStatus CaptureFileReader::NextPcapng(Packet* out) {
  for (;;) {
    const size_t at = pos_;
    if (at == size_) {
      if (any_supported_ || unsupported_link_ < 0) return ReadStatus::kEnd;
      // Nothing in the file could be decoded: as fatal as a pcap file of that link type.
      return Fail(unsupported_at_,
                  "unsupported link type " + std::to_string(unsupported_link_) +
                      " (no interface of the file has a link type that can be decoded; " +
                      std::to_string(stats_.unsupported_link) + " packet" +
                      (stats_.unsupported_link == 1 ? "" : "s") + " skipped)");
    }
    if (size_ - at < 12) return Fail(at, "truncated pcapng block header");
    uint32_t type;
    std::memcpy(&type, data_ + at, 4);
    if (type == kNgSectionHeader) {
      if (!ParseSectionHeader(at)) return ReadStatus::kMalformed;
      continue;
    }
    if (swap_) type = Bswap(type);
    const uint32_t len = U32(at + 4);
    if (len < 12 || len % 4 != 0) {
      return Fail(at + 4, "bad pcapng block length " + std::to_string(len));
    }
    if (size_ - at < len) {
      return Fail(at, "truncated pcapng block: needs " + std::to_string(len) + " bytes, " +
                          std::to_string(size_ - at) + " left");
    }
    if (U32(at + len - 4) != len) {
      return Fail(at + len - 4, "pcapng block trailer disagrees with its length");
    }
    pos_ = at + len;
    uint32_t iface = 0, caplen = 0, wire = 0;
    uint64_t ts = 0;
    size_t body = 0;
    bool has_ts = true;
    if (type == kNgEnhancedPacket || type == kNgObsoletePacket) {
      if (len < 32) return Fail(at, "pcapng packet block too short");
      iface = type == kNgEnhancedPacket ? U32(at + 8) : U16(at + 8);
      ts = uint64_t(U32(at + 12)) << 32 | U32(at + 16);
      caplen = U32(at + 20);
      wire = U32(at + 24);
      body = at + 28;
    } else if (type == kNgSimplePacket) {
      if (len < 16) return Fail(at, "pcapng simple packet block too short");
      wire = U32(at + 8);
      caplen = len - 16;
      if (!interfaces_.empty() && interfaces_[0].snaplen != 0 && interfaces_[0].snaplen < caplen) {
        caplen = interfaces_[0].snaplen;
      }
      if (wire < caplen) caplen = wire;
      body = at + 12;
      has_ts = false;
    } else if (type == kNgInterface) {
      if (!ParseInterface(at, len)) return ReadStatus::kMalformed;
      continue;
    } else {
      if (type != kNgNameResolution && type != kNgInterfaceStats && type != kNgDecryptionSecrets &&
          type != kNgCustom && type != kNgCustomNoCopy) {
        ++stats_.unknown_blocks;
      }
      continue;
    }
    if (iface >= interfaces_.size()) {
      return Fail(at + 8, "packet of undeclared interface " + std::to_string(iface));
    }
    if (caplen > kMaxCaplen) {
      return Fail(at + 20, "absurd captured length " + std::to_string(caplen) +
                               " (over 256 KiB): the file is corrupt here");
    }
    if (body + caplen > at + len - 4) {
      return Fail(at + 20, "captured length " + std::to_string(caplen) + " runs past its block");
    }
    const Interface& itf = interfaces_[iface];
    if (!itf.supported) {
      ++stats_.unsupported_link;
      Note(kUnsupportedLink, at);
      continue;
    }
    const int64_t ts_ns = has_ts ? ToNs(itf, ts) : last_ns_;
    if (!Accept(at, caplen, itf.snaplen, ts_ns)) continue;
    out->ts_ns = ts_ns;
    out->data = data_ + body;
    out->caplen = caplen;
    out->wire_len = wire < caplen ? caplen : wire;
    out->link_type = itf.link_type;
    return ReadStatus::kPacket;
  }
}

}  // namespace tw::capture
