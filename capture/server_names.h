#ifndef THROTTLEWATCH_CAPTURE_SERVER_NAMES_H_
#define THROTTLEWATCH_CAPTURE_SERVER_NAMES_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/address.h"
#include "capture/binner.h"
#include "capture/crypto_stream.h"
#include "capture/decode.h"
#include "capture/http_host.h"
#include "capture/ip_proto.h"
#include "capture/quic_initial.h"

namespace tw::capture {

// The packets ServerNames learns from, as a libpcap filter: a TCP payload that starts with a
// TLS handshake record holding a ClientHello (IPv4, and IPv6 without extension headers), UDP
// to and from port 53 (DNS queries, for the DNS tracker, and answers), a plain HTTP GET to port
// 80 (its Host header names the server), and QUIC Initials: a UDP payload with the long-header
// bit and a QUIC version (v1, v2, drafts, mvfst, Google's) or Google QUIC's public header with a
// version (IPv4, and IPv6 without extension headers). The versions keep out RTP, whose first
// byte also has that bit. For a capture handle of its own with a snaplen long enough for them,
// beside a headers-only one (the daemon's).
inline constexpr char kServerNameFilter[] =
    "(tcp and tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x16 and "
    "tcp[((tcp[12:1] & 0xf0) >> 2) + 5:1] = 0x01) or "
    "(ip6 and ip6[6] = 6 and ip6[40 + ((ip6[52:1] & 0xf0) >> 2)] = 0x16 and "
    "ip6[45 + ((ip6[52:1] & 0xf0) >> 2)] = 0x01) or "
    "(udp and port 53) or "
    "(tcp dst port 80 and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420) or "
    "(ip6 and ip6[6] = 6 and ip6[42:2] = 80 and "
    "ip6[40 + ((ip6[52:1] & 0xf0) >> 2):4] = 0x47455420) or "
    "(ip and udp and udp[8] & 0x80 = 0x80 and (udp[9:4] = 1 or udp[9:4] = 0x6b3343cf or "
    "udp[9:2] = 0xff00 or udp[9:2] = 0xface or udp[9:2] = 0x5130 or udp[9:2] = 0x5430)) or "
    "(ip and udp and udp[8] & 0x89 = 0x09 and udp[17:2] = 0x5130) or "
    "(ip6 and ip6[6] = 17 and ip6[48] & 0x80 = 0x80 and (ip6[49:4] = 1 or "
    "ip6[49:4] = 0x6b3343cf or ip6[49:2] = 0xff00 or ip6[49:2] = 0xface or "
    "ip6[49:2] = 0x5130 or ip6[49:2] = 0x5430)) or "
    "(ip6 and ip6[6] = 17 and ip6[48] & 0x89 = 0x09 and ip6[57:2] = 0x5130)";

// A name found in one packet: the server name of flow `flow_id`'s ClientHello, or (flow_id 0)
// a DNS name of `address`. Or, for a QUIC client's Initial (`quic_version` not empty, `name`
// empty): one piece of flow `flow_id`'s handshake stream, `crypto` at stream offset
// `crypto_offset` (empty when the packet held none), for Learn() to put together with the
// flow's other pieces: QUIC's ClientHello may span packets and arrive out of order, and only
// the side that owns the ServerNames keeps per-flow state.
struct LearnedName {
  uint64_t flow_id = 0;
  Address address;
  std::string name;
  std::string quic_version;  // "V-1", "Draft-29", "Q050", ...
  QuicHandshake handshake = QuicHandshake::kTls;
  uint32_t crypto_offset = 0;
  std::string crypto;
};

// Names of the servers flows talk to, learned from the traffic itself: the server name of each
// TLS ClientHello (per flow, over TCP or in a QUIC client's Initial packets, see
// quic_initial.h), the Host of each plain HTTP request to port 80 (per flow, http_host.h) and
// the A/AAAA answers of DNS responses (per address). Only the names are
// kept, never payload, and only names that are host names (CanonicalHostName, lower case):
// whoever controls the link chooses these bytes, so anything else is dropped and counted.
// A QUIC flow's handshake stream is put together per flow (CryptoStream) until it names the
// server, for at most kMaxQuicPending flows at once, and the flow's QUIC version is kept
// (QuicVersionOf). The decryption happens in Find() (or Observe()), so a caller that runs Find()
// in other threads keeps that work off the owner's.
// Bounded: at most `max_entries` addresses and as many flows; when full, arbitrary old entries
// make room. Single-threaded.
class ServerNames {
 public:
  explicit ServerNames(size_t max_entries = 65536) : max_(max_entries) {}

  // At most this many QUIC flows whose handshake stream is being put together (each holds up
  // to CryptoStream::kMaxBytes); when full, an arbitrary one is dropped and stays unnamed.
  static constexpr size_t kMaxQuicPending = 1024;

  // Looks at one binned packet's payload (`data`/`caplen`: the captured bytes, borrowed for the
  // call) for a DNS response (UDP from port 53), a ClientHello (TCP payload starting with a
  // TLS handshake record), an HTTP request to port 80 or a QUIC client's Initial (UDP,
  // MayBeQuicInitial). Cheap for every other packet: a few comparisons.
  void Observe(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
               const BinnedPacket& bp);
  // The names Observe() would store, appended to *out instead: for packets seen in another
  // thread than the one that owns the ServerNames. Hand them to Learn() there, in packet
  // order, and the result is that of Observe().
  // Whether Observe() could learn anything from the packet (the cheap test it starts with):
  // a DNS response, a TCP payload starting with a TLS handshake record or (to port 80) an HTTP
  // request method, or a UDP payload that may be a QUIC client's Initial; never a later
  // fragment (its payload is mid-datagram).
  static bool MayName(const uint8_t* data, uint32_t caplen, const DecodedPacket& p) {
    if (p.payload_len == 0 || p.payload_offset >= caplen || p.later_fragment) return false;
    if (p.ip_proto == kIpProtoUdp) {
      return p.src_port == kDnsPort ||
             MayBeQuicInitial(data + p.payload_offset,
                              std::min<size_t>(caplen - p.payload_offset, p.payload_len));
    }
    if (p.ip_proto != kIpProtoTcp) return false;
    return data[p.payload_offset] == kTlsHandshakeRecord ||
           (p.dst_port == kHttpPort &&
            MayBeHttpRequest(data + p.payload_offset,
                             std::min<size_t>(caplen - p.payload_offset, p.payload_len)));
  }
  static void Find(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                   const BinnedPacket& bp, std::vector<LearnedName>* out);
  void Learn(const LearnedName& n);

  // The server name of a flow: its SNI, else the DNS name of `remote`; empty when neither is known.
  std::string_view NameOf(uint64_t flow_id, const Address& remote) const;
  // The QUIC version of the first client Initial read of a flow ("V-1", "Draft-29", "Q050",
  // ...; after a version negotiation, the version the client asked for first); empty for
  // other flows.
  std::string_view QuicVersionOf(uint64_t flow_id) const;
  void ForgetFlow(uint64_t flow_id) {
    by_flow_.erase(flow_id);
    quic_version_.erase(flow_id);
    quic_pending_.erase(flow_id);
  }

  size_t addresses() const { return by_address_.size(); }
  // Names stored so far (SNIs and DNS answers, repeats included): a sign names are seen at all.
  uint64_t learned() const { return learned_; }
  // Names dropped because they were not host names (forged or broken DNS answers and SNIs).
  uint64_t rejected() const { return rejected_; }

 private:
  // Calls on_flow(name) for a ClientHello's server name, on_address(address, name) for each
  // DNS answer, on_quic(const QuicInitial&, chunk index) for each piece of a QUIC Initial's
  // handshake stream (index -1 once when it held none: the version is still learned).
  template <typename OnFlow, typename OnAddress, typename OnQuic>
  static void Parse(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                    const BinnedPacket& bp, OnFlow on_flow, OnAddress on_address, OnQuic on_quic);
  // One piece of flow `flow_id`'s QUIC handshake stream: reassembled, and the name learned
  // once the stream holds it.
  void LearnQuic(uint64_t flow_id, std::string_view version, QuicHandshake handshake,
                 uint32_t offset, const uint8_t* bytes, size_t len);
  template <typename Map, typename Key>
  void Put(Map* m, const Key& k, std::string_view name);

  size_t max_;
  uint64_t learned_ = 0;
  uint64_t rejected_ = 0;
  std::unordered_map<uint64_t, std::string> by_flow_;
  std::unordered_map<Address, std::string, AddressHash> by_address_;
  std::unordered_map<uint64_t, std::string> quic_version_;
  // A flow whose stream named no host (forged, or no SNI at all) keeps an entry with done set,
  // so later pieces are not parsed again.
  struct QuicPending {
    CryptoStream stream;
    bool done = false;
  };
  std::unordered_map<uint64_t, QuicPending> quic_pending_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_SERVER_NAMES_H_
