#ifndef THROTTLEWATCH_CAPTURE_SERVICE_NAMES_H_
#define THROTTLEWATCH_CAPTURE_SERVICE_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "capture/address.h"
#include "capture/binner.h"
#include "capture/decode.h"

namespace tw::capture {

// The packets ServiceNames learns from, as a libpcap filter: a TCP payload that starts with a
// TLS handshake record holding a ClientHello (IPv4, and IPv6 without extension headers), and
// UDP from port 53 (DNS answers). For a capture handle of its own with a snaplen long enough
// for them, beside a headers-only one (the daemon's).
inline constexpr char kServiceNameFilter[] =
    "(tcp and tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x16 and "
    "tcp[((tcp[12:1] & 0xf0) >> 2) + 5:1] = 0x01) or "
    "(ip6 and ip6[6] = 6 and ip6[40 + ((ip6[52:1] & 0xf0) >> 2)] = 0x16 and "
    "ip6[45 + ((ip6[52:1] & 0xf0) >> 2)] = 0x01) or "
    "(udp and src port 53)";

// Names of remote services, learned from the traffic itself: the server name of each TLS
// ClientHello (per flow) and the A/AAAA answers of DNS responses (per address). Only the names
// are kept, never payload. Bounded: at most `max_entries` addresses and as many flows; when
// full, arbitrary old entries make room. Single-threaded.
class ServiceNames {
 public:
  explicit ServiceNames(size_t max_entries = 65536) : max_(max_entries) {}

  // Looks at one binned packet's payload (`data`/`caplen`: the captured bytes, borrowed for the
  // call) for a DNS response (UDP from port 53) or a ClientHello (TCP payload starting with a
  // TLS handshake record). Cheap for every other packet: a few comparisons.
  void Observe(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
               const BinnedPacket& bp);

  // The flow's service: its SNI, else the DNS name of `remote`; empty when neither is known.
  std::string_view NameOf(uint64_t flow_id, const Address& remote) const;
  void ForgetFlow(uint64_t flow_id) { by_flow_.erase(flow_id); }

  size_t addresses() const { return by_address_.size(); }
  // Names stored so far (SNIs and DNS answers, repeats included): a sign names are seen at all.
  uint64_t learned() const { return learned_; }

 private:
  struct AddressHash {
    size_t operator()(const Address& a) const;
  };
  template <typename Map, typename Key>
  void Put(Map* m, const Key& k, std::string_view name);

  size_t max_;
  uint64_t learned_ = 0;
  std::unordered_map<uint64_t, std::string> by_flow_;
  std::unordered_map<Address, std::string, AddressHash> by_address_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_SERVICE_NAMES_H_
