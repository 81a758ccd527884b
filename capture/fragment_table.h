#ifndef THROTTLEWATCH_CAPTURE_FRAGMENT_TABLE_H_
#define THROTTLEWATCH_CAPTURE_FRAGMENT_TABLE_H_

#include <cstdint>
#include <vector>

#include "capture/address.h"
#include "capture/decode.h"
#include "capture/tunnel.h"

namespace tw::capture {

// Counts the non-first fragments of an IP datagram to the flow of its first fragment, which
// alone carries the ports. Decode() gives every fragment a key (DecodedPacket::frag_key: source,
// destination, protocol and IP ID or IPv6 fragment identification of the fragmented header);
// a first fragment leaves its flow's fields here under that key, a later one finds them.
//
// Fragments that arrive before their first fragment are not counted (they stay kFragment):
// holding them until it comes would mean buffering packets. Reordered fragments are rare; a
// first fragment that never comes (a flood of fragments) costs nothing.
//
// Bounded against floods of fragments: a fixed array of kCapacity slots, allocated once, each
// key in the one slot its hash picks; a new first fragment overwrites what the slot held, and
// an entry older than kTimeoutNs (Linux's ipfrag_time) is no match. Matching is on the 32-bit
// key alone: fragments of two datagrams whose keys collide would share a flow. Per packet: no
// allocation, one slot read or written. Single-threaded.
class FragmentTable {
 public:
  static constexpr size_t kCapacity = 1024;  // a power of two
  static constexpr int64_t kTimeoutNs = 30'000'000'000;

  FragmentTable();

  // Takes the result of Decode() for a packet captured at ts_ns. A first fragment (kOk with a
  // frag_key) is remembered; a later fragment (kFragment) whose first fragment is remembered
  // gets that flow's addresses, protocol, ports and tunnels, later_fragment set, and kOk.
  // Returns `status`, or kOk for a fragment so counted.
  DecodeStatus Resolve(int64_t ts_ns, DecodeStatus status, DecodedPacket* d);

  uint64_t resolved() const { return resolved_; }

 private:
  struct Slot {
    uint32_t key = 0;
    int64_t ts_ns = 0;
    Address src, dst;
    uint16_t src_port = 0, dst_port = 0;
    uint8_t ip_version = 0, ip_proto = 0;
    TunnelPath tunnels;
  };
  std::vector<Slot> slots_;
  uint64_t resolved_ = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_FRAGMENT_TABLE_H_
