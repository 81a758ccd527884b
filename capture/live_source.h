#ifndef THROTTLEWATCH_CAPTURE_LIVE_SOURCE_H_
#define THROTTLEWATCH_CAPTURE_LIVE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_source.h"

struct pcap;  // libpcap's pcap_t, kept out of this header

namespace tw::capture {

struct LiveOptions {
  std::string interface;        // empty = the interface of the default route
  std::string bpf_filter;       // tcpdump syntax; empty = everything
  int snaplen = 128;            // headers only: no payload is kept
  int buffer_bytes = 32 << 20;  // kernel ring (TPACKET_V3, memory-mapped by libpcap)
  bool promiscuous = false;
  int poll_timeout_ms = 100;  // Next() returns kIdle after this long without a packet
  // Packets are handed over in blocks of the ring (TPACKET_V3), a block at the latest this long
  // after its first packet: one wake-up per block instead of one per packet. 0 = immediate
  // mode (one wake-up per packet: costs more CPU than the packets themselves at 300 kpps).
  int block_timeout_ms = 50;
};

// Capture counters from the kernel (pcap_stats), cumulative since Open().
struct CaptureCounters {
  uint64_t received = 0;    // packets that reached the capture ring
  uint64_t dropped = 0;     // dropped because the ring was full (we were too slow)
  uint64_t if_dropped = 0;  // dropped by the interface or its driver
};

// A live interface through libpcap: memory-mapped ring of buffer_bytes, packets handed over in
// blocks within block_timeout_ms of their arrival, snaplen 128 and no promiscuous mode by
// default. Opening needs root or CAP_NET_RAW; once open, the process may drop its privileges.
// Single-threaded like every PacketSource, except Stop(), which another thread may call.
class PcapLiveSource final : public PacketSource {
 public:
  // On failure returns nullptr and sets *error (names the interface and the reason, e.g.
  // "permission denied: run as root or with CAP_NET_RAW").
  static std::unique_ptr<PcapLiveSource> Open(const LiveOptions& options, std::string* error);
  ~PcapLiveSource() override;

  // kPacket, kIdle (nothing within poll_timeout_ms, or Stop() was called), kError.
  SourceStatus Next(Packet* out) override;
  const std::string& error() const override { return error_; }
  uint64_t bytes_read() const override { return bytes_read_; }
  uint64_t bytes_total() const override { return 0; }

  // Kernel counters, 64-bit and wrap-safe if read at least every 2^32 packets (read them at
  // every bin close). False (and error() set) if the platform cannot tell.
  bool Counters(CaptureCounters* out);
  // Makes a waiting Next() return kIdle at once. Thread-safe (the one call that is).
  void Stop();

  const std::string& interface() const { return interface_; }
  int link_type() const { return link_type_; }

 private:
  PcapLiveSource() = default;
  ::pcap* pcap_ = nullptr;
  uint32_t last_raw_[3] = {0, 0, 0};  // pcap_stats' 32-bit counters, last read
  CaptureCounters totals_;            // 64-bit totals accumulated across their wraps
  std::string interface_;
  std::string error_;
  int link_type_ = 0;
  int fd_ = -1;       // the capture's pollable descriptor (owned by libpcap)
  int wake_fd_ = -1;  // eventfd written by Stop()
  int poll_timeout_ms_ = 100;
  uint64_t bytes_read_ = 0;
};

// The interface of the IPv4 default route (from /proc/net/route), or else the first non-loopback
// interface that is up. Empty when there is none.
std::string DefaultRouteInterface();

// "CIDR,CIDR" of the networks configured on `interface` (IPv4 and global IPv6); empty if none.
std::string InterfaceNetworks(const std::string& interface);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_LIVE_SOURCE_H_
