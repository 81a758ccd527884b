#ifndef THROTTLEWATCH_DETECTOR_CORE_EVENT_H_
#define THROTTLEWATCH_DETECTOR_CORE_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "capture/address_formatter.h"
#include "capture/bins.h"

namespace tw::detector {

// The version of the line formats: event streams (header and event records) and flow lines,
// the "schema" field of every line. schema/event.v<N>.schema.json and flow.v<N>.schema.json
// (installed to share/throttlewatch/schema) define them. 2: every line names its "record".
inline constexpr int kEventSchemaVersion = 2;

enum class EventKind : uint8_t { kThrottle, kOutage, kBlock };
enum class EventState : uint8_t { kStart, kEnd };
// What a throttle hit: one flow, every flow of one remote host (written "service" in events), or
// the whole link.
enum class EventScope : uint8_t { kFlow, kRemoteHost, kLink };
// How a throttle limits traffic: a shaper queues (RTT inflates), a policer drops (loss without
// RTT inflation). kNone: not a throttle, or not judged.
enum class Mechanism : uint8_t { kNone, kShaping, kPolicing, kUnknown };

// What the detector judged a throttle's mechanism on, as it judged it. Throttle starts made by
// the detectors carry it (and their ends a copy); events read back from a file do not (it is not
// part of the event JSON). -1 / 0: not measured.
struct MechanismEvidence {
  // Median RTT (seconds) before the change and since it; a verdict event (no before): the flow's
  // RTT floor and its median, their difference the queue delay the verdict judged.
  double rtt_before_s = -1, rtt_after_s = -1;
  double loss_share = -1;  // share of the payload retransmitted since the change (or lost)
  // Link events: the flows limited by the network at the change, and how many of them queued.
  int flows_limited = 0, flows_shaping = 0;
};

// What proved an outage (see OutageDetector), at its start; its end carries the most seen
// during the whole silence. Written to the event JSON for outages.
struct OutageEvidence {
  int unanswered_remotes = 0;  // distinct remote hosts whose asks went unanswered past their RTO
  // Of these, the witnesses: remotes that had answered before and were asked again after a
  // wait during the silence (DemandSummary::witnesses).
  int witnesses = 0;
  uint64_t asks = 0;           // packets that asked, unanswered
  uint64_t router_errors = 0;  // ICMP unreachable / time exceeded received during the silence
};

// How a service was blocked (BlockDetector), each the footprint of one way of blocking; the
// OONI category it falls in is BlockOoniCategory().
enum class BlockMethod : uint8_t {
  kNone,
  kTcpRst,         // a RST the server did not send (its TTL, or sooner than a round trip)
  kSniBlackhole,   // TCP handshake done, the ClientHello sent again, no answer
  kIpBlackhole,    // SYNs sent again, no answer
  kQuicBlackhole,  // QUIC Initials sent again, no datagram back
  kDnsInjection,   // two answers raced for one query: a forged one first, the resolver's after
  kDnsBogon,       // an address no host has, for a name the resolver had answered publicly
  kDnsNxdomain,    // "no such name", for a name the resolver had answered publicly
  kHttpBlockpage,  // a plain request answered by another sender than the server (its IP TTL)
};
inline constexpr size_t kBlockMethods = 9;  // kNone included

// What the blocked service was reached over: its TCP connections, its QUIC ones, or the DNS
// lookups of its name.
enum class BlockTransport : uint8_t { kTcp, kQuic, kDns };

// What proved a block (blocks only). A start counts what led to it; its end, the whole block.
struct BlockEvidence {
  BlockMethod method = BlockMethod::kNone;
  uint16_t remote_port = 0;
  BlockTransport transport = BlockTransport::kTcp;
  int attempts = 0;  // connections the local side opened to the service (DNS: queries of its name)
  int failures = 0;  // of them, failed the method's way
  // Other services (same transport) whose connections completed while this one's failed: the
  // link worked, the failures were this service's.
  int witnesses = 0;
  bool same_address_ok = false;  // one of them is on the blocked connections' address
  bool worked_before = false;    // the service's connections completed earlier in the capture
  // Fingerprints of injection, over the failures: resets whose IP TTL is not the server's
  // (its SYN-ACK's), resets sooner than the handshake's round trip allowed.
  int resets_ttl_mismatch = 0;
  int resets_too_fast = 0;
  int reset_ttl_delta = 0;      // of the last such reset (RST TTL minus the server's)
  double reset_after_s = -1;    // of the last reset: from the request it answered
  double handshake_rtt_s = -1;  // of the last failure that completed a TCP handshake
  // DNS: queries answered twice, differently (the first answer forged); of them, those whose
  // two answers came with different IP TTLs (two senders at different distances).
  int answers_racing = 0;
  int answers_ttl_mismatch = 0;
  int answer_ttl_delta = 0;      // of the last: the first answer's IP TTL minus the second's
  double answer_after_s = -1;    // of the last failed query: its (first) answer's delay
  double resolver_after_s = -1;  // of the last race: the second (the resolver's) answer's delay
  // Block pages: the last one's HTTP status code and its IP TTL minus the server's SYN-ACK's.
  int http_status = 0;
  int page_ttl_delta = 0;
  // The address the last failed lookup was answered with (the forged or bogon one), if any.
  bool has_forged_address = false;
  capture::Address forged_address;
};

// One line of the event stream (schema v1, documented in docs/event-schema.md). A start and its end
// share `id`. Rates are bits per second on the wire (link-layer header included).
struct Event {
  uint64_t id = 0;
  EventKind kind = EventKind::kThrottle;
  EventState state = EventState::kStart;
  double ts = 0;           // epoch seconds: when the change happened
  double detected_at = 0;  // epoch seconds (packet time) at which the online path emitted it
  EventScope scope = EventScope::kLink;
  capture::Direction direction = capture::kDown;
  bool has_flow = false;  // scope flow: the flow below is set
  capture::FlowInfo flow;
  double rate_before_bps = 0;  // start: rate before the change; end: rate during the throttle
  double rate_after_bps = 0;   // start: rate it was squeezed to; end: rate after recovery
  bool targeted = false;
  // False when there was no concurrent traffic in the same direction to compare with: whether
  // the throttle was aimed is then unknown (written "targeted": null), not "no".
  bool targeted_known = true;
  double confidence = 0;                   // 0..1
  Mechanism mechanism = Mechanism::kNone;  // throttles only
  MechanismEvidence evidence;              // why `mechanism`; not in the event JSON
  OutageEvidence outage;                   // outages only: the unanswered demand
  BlockEvidence block;                     // blocks only
  double burst_bytes = -1;  // token bucket depth: bytes that passed at the old rate (-1 = unknown)
  // scope service: the remote host all squeezed flows share, and how many flows it had.
  std::string server_name;  // the server name of the flow or host (TLS SNI or DNS), when known
  bool has_remote = false;
  capture::Address remote;
  int flows = 0;
  double duration_s = -1;  // end events: seconds since the matching start (-1 = not set)
  std::string reason;      // short machine word for why (e.g. "recovered", "flow_end")
};

const char* KindName(EventKind k);
const char* StateName(EventState s);
const char* ScopeName(EventScope s);
const char* DirectionName(capture::Direction d);
const char* MechanismName(Mechanism m);
const char* BlockMethodName(BlockMethod m);                 // "tcp_rst", ...; "none"
const char* BlockTransportName(BlockTransport t);           // "tcp", "quic", "dns"
BlockTransport ParseBlockTransport(std::string_view name);  // kTcp when not a transport's name
BlockMethod ParseBlockMethod(std::string_view name);        // kNone when not a method's name
// OONI's Web Connectivity "blocking" value for a block: "dns" (the lookup was tampered with),
// "tcp_ip" (the TCP connection failed), "http-failure" (the connection opened, the TLS or HTTP
// exchange failed), "http-diff" (a page came, not the site's: a block page).
const char* BlockOoniCategory(const BlockEvidence& b);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_EVENT_H_
