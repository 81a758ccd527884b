#ifndef THROTTLEWATCH_CAPTURE_CAPTURE_FILE_H_
#define THROTTLEWATCH_CAPTURE_CAPTURE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/packet_source.h"

namespace tw::capture {

// Anomalies of a capture file that are counted and survived, not fatal. Packets that are
// skipped are not delivered; the others are.
struct CaptureFileStats {
  uint64_t packets = 0;              // packets delivered
  uint64_t zero_length = 0;          // records with caplen 0: skipped
  uint64_t caplen_over_snaplen = 0;  // caplen above the file's snaplen (<= 256 KiB): delivered
  uint64_t time_backwards = 0;       // older than the packet before (<= 1 year): delivered
  uint64_t time_jumps = 0;           // more than a year from the packet before: skipped
  uint64_t unsupported_link = 0;     // pcapng: packets of an interface whose link type Decode()
                                     // does not know: skipped
  uint64_t unknown_blocks = 0;       // pcapng: blocks of unknown type: skipped
};

// Outcome of CaptureFileReader::Next().
enum class ReadStatus : uint8_t {
  kPacket,     // *out holds a packet
  kEnd,        // clean end of the file
  kMalformed,  // the file is broken at offset(); error() names the file, offset and defect
};

// A pcap or pcapng parser over bytes in memory (typically a memory-mapped file): no copies,
// no allocation per packet, no libpcap. Both byte orders; pcap with micro- or nanosecond
// timestamps; pcapng with several sections and interfaces (each interface keeps its own link
// type and timestamp resolution/offset), Enhanced, Simple and obsolete Packet Blocks.
//
// Fatal defects (Open() fails or Next() returns kMalformed; packets before were delivered):
// wrong magic, truncated file or section header, a truncated record or block (including the
// last packet), caplen above 256 KiB or beyond its block, a pcap link type Decode() does not
// know, a pcapng block length that is not a multiple of 4 or disagrees with its trailer, a
// packet of an undeclared interface, a pcapng file none of whose interfaces has a link type
// Decode() knows (reported at its end, at the first such interface: as a pcap file of that
// link type is). A compressed file (gzip, xz, zstd, bzip2) fails Open() with a message that
// says so. Counted and survived: see CaptureFileStats (a pcapng file mixing supported and
// unsupported interfaces skips the latter's packets); notes() names the file and byte offset
// of the first occurrence of each.
//
// The bytes are borrowed: they must stay valid and unchanged for the reader's lifetime, and a
// delivered Packet points into them. Single-threaded.
class CaptureFileReader {
 public:
  static constexpr uint32_t kMaxCaplen = 256 * 1024;
  static constexpr int64_t kMaxJumpNs = 366LL * 86400 * 1'000'000'000;

  // Parses the file header. `name` is used in messages. On failure returns false and sets
  // *error ("NAME: byte N: what").
  [[nodiscard]] bool Open(const uint8_t* data, size_t size, std::string name, std::string* error);

  ReadStatus Next(Packet* out);

  const std::string& error() const { return error_; }
  size_t offset() const { return pos_; }  // bytes consumed so far
  size_t size() const { return size_; }
  bool pcapng() const { return pcapng_; }
  // Link type of a pcap file, or of the first interface of a pcapng file (-1 before it).
  int link_type() const { return link_type_; }
  const CaptureFileStats& stats() const { return stats_; }
  // One line per kind of survived anomaly: its first occurrence (name, offset) and the count
  // so far. Empty when the file was clean.
  std::vector<std::string> notes() const;

 private:
  struct Interface {
    int link_type = 0;
    uint32_t snaplen = 0;
    bool supported = false;
    // Timestamp units: ts * mul / div nanoseconds (decimal), or binary with `shift`.
    uint64_t mul = 1000, div = 1;
    int shift = -1;  // >= 0: units of 2^-shift seconds
    int64_t offset_ns = 0;
  };

  ReadStatus NextPcap(Packet* out);
  ReadStatus NextPcapng(Packet* out);
  bool ParseSectionHeader(size_t at);
  bool ParseInterface(size_t at, uint32_t len);
  // Final checks on a packet; false when it is skipped (counted).
  bool Accept(size_t at, uint32_t caplen, uint32_t snaplen, int64_t ts_ns);
  ReadStatus Fail(size_t at, const std::string& what);
  void Note(int kind, size_t at);
  uint32_t U32(size_t at) const;
  uint16_t U16(size_t at) const;
  int64_t ToNs(const Interface& itf, uint64_t ts) const;

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
  std::string name_;
  std::string error_;
  bool swap_ = false;
  bool pcapng_ = false;
  bool nano_ = false;
  int link_type_ = -1;
  uint32_t snaplen_ = 0;
  std::vector<Interface> interfaces_;  // pcapng: of the current section
  bool any_supported_ = false;         // pcapng: an interface of a known link type, any section
  int unsupported_link_ = -1;          // pcapng: the first unsupported interface's link type
  size_t unsupported_at_ = 0;          // and its block
  int64_t last_ns_ = 0;
  bool have_last_ = false;
  int64_t jump_ns_ = 0;  // a skipped jump that the next packet may confirm as a clock step
  bool have_jump_ = false;
  CaptureFileStats stats_;
  static constexpr int kNoteKinds = 5;
  size_t first_at_[kNoteKinds] = {};
  bool noted_[kNoteKinds] = {};
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_CAPTURE_FILE_H_
