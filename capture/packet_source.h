#ifndef THROTTLEWATCH_CAPTURE_PACKET_SOURCE_H_
#define THROTTLEWATCH_CAPTURE_PACKET_SOURCE_H_

#include <cstdint>
#include <string>

namespace tw::capture {

// One captured packet as lent by a PacketSource.
struct Packet {
  int64_t ts_ns = 0;              // capture time, nanoseconds since the Unix epoch
  const uint8_t* data = nullptr;  // borrowed: valid until the next Next() on the same source
  uint32_t caplen = 0;            // bytes available at data
  uint32_t wire_len = 0;          // length of the packet on the wire
  int link_type = 0;              // DLT value (see decode.h)
};

enum class SourceStatus : uint8_t {
  kPacket,     // *out holds a packet
  kEnd,        // no more packets (end of all files)
  kError,      // unrecoverable read error: error() says what; packets before it were delivered
  kMalformed,  // the input is broken (a damaged file): error() names the file and byte offset;
               // packets before the damage were delivered
  kIdle,       // live sources only: no packet arrived within the source's poll timeout; call again
};

// A stream of packets in capture order. Single-threaded; the source owns the packet bytes and
// lends them until the next call to Next().
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  virtual SourceStatus Next(Packet* out) = 0;
  // Human-readable description of the last kError (names the file).
  virtual const std::string& error() const = 0;
  // Progress for files: bytes consumed so far and in total (0 total when unknown, e.g. live).
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t bytes_total() const = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_PACKET_SOURCE_H_
