#ifndef THROTTLEWATCH_CAPTURE_SERVER_NAMES_H_
#define THROTTLEWATCH_CAPTURE_SERVER_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/address.h"
#include "capture/binner.h"
#include "capture/decode.h"
#include "capture/ip_proto.h"

namespace tw::capture {

// The packets ServerNames learns from, as a libpcap filter: a TCP payload that starts with a
// TLS handshake record holding a ClientHello (IPv4, and IPv6 without extension headers), and
// UDP from port 53 (DNS answers). For a capture handle of its own with a snaplen long enough
// for them, beside a headers-only one (the daemon's).
inline constexpr char kServerNameFilter[] =
    "(tcp and tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x16 and "
    "tcp[((tcp[12:1] & 0xf0) >> 2) + 5:1] = 0x01) or "
    "(ip6 and ip6[6] = 6 and ip6[40 + ((ip6[52:1] & 0xf0) >> 2)] = 0x16 and "
    "ip6[45 + ((ip6[52:1] & 0xf0) >> 2)] = 0x01) or "
    "(udp and src port 53)";

// A name found in one packet: the server name of flow `flow_id`'s ClientHello, or (flow_id 0)
// a DNS name of `address`.
struct LearnedName {
  uint64_t flow_id = 0;
  Address address;
  std::string name;
};

// Names of the servers flows talk to, learned from the traffic itself: the server name of each TLS
// ClientHello (per flow) and the A/AAAA answers of DNS responses (per address). Only the names
// are kept, never payload, and only names that are host names (CanonicalHostName, lower case):
// whoever controls the link chooses these bytes, so anything else is dropped and counted.
// Bounded: at most `max_entries` addresses and as many flows; when full, arbitrary old entries
// make room. Single-threaded.
class ServerNames {
 public:
  explicit ServerNames(size_t max_entries = 65536) : max_(max_entries) {}

  // Looks at one binned packet's payload (`data`/`caplen`: the captured bytes, borrowed for the
  // call) for a DNS response (UDP from port 53) or a ClientHello (TCP payload starting with a
  // TLS handshake record). Cheap for every other packet: a few comparisons.
  void Observe(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
               const BinnedPacket& bp);
  // The names Observe() would store, appended to *out instead: for packets seen in another
  // thread than the one that owns the ServerNames. Hand them to Learn() there, in packet
  // order, and the result is that of Observe().
  // Whether Observe() could learn anything from the packet (the cheap test it starts with):
  // a DNS response or a TCP payload starting with a TLS handshake record.
  static bool MayName(const uint8_t* data, uint32_t caplen, const DecodedPacket& p) {
    if (p.payload_len == 0 || p.payload_offset >= caplen) return false;
    return (p.ip_proto == kIpProtoUdp && p.src_port == kDnsPort) ||
           (p.ip_proto == kIpProtoTcp && data[p.payload_offset] == kTlsHandshakeRecord);
  }
  static void Find(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                   const BinnedPacket& bp, std::vector<LearnedName>* out);
  void Learn(const LearnedName& n);

  // The server name of a flow: its SNI, else the DNS name of `remote`; empty when neither is known.
  std::string_view NameOf(uint64_t flow_id, const Address& remote) const;
  void ForgetFlow(uint64_t flow_id) { by_flow_.erase(flow_id); }

  size_t addresses() const { return by_address_.size(); }
  // Names stored so far (SNIs and DNS answers, repeats included): a sign names are seen at all.
  uint64_t learned() const { return learned_; }
  // Names dropped because they were not host names (forged or broken DNS answers and SNIs).
  uint64_t rejected() const { return rejected_; }

 private:
  // Calls on_flow(name) for a ClientHello's server name, on_address(address, name) for each
  // DNS answer.
  template <typename OnFlow, typename OnAddress>
  static void Parse(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                    const BinnedPacket& bp, OnFlow on_flow, OnAddress on_address);
  template <typename Map, typename Key>
  void Put(Map* m, const Key& k, std::string_view name);

  size_t max_;
  uint64_t learned_ = 0;
  uint64_t rejected_ = 0;
  std::unordered_map<uint64_t, std::string> by_flow_;
  std::unordered_map<Address, std::string, AddressHash> by_address_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_SERVER_NAMES_H_
