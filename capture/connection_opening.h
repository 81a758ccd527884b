#ifndef THROTTLEWATCH_CAPTURE_CONNECTION_OPENING_H_
#define THROTTLEWATCH_CAPTURE_CONNECTION_OPENING_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/bins.h"
#include "capture/decode.h"

namespace tw::capture {

// How the opening of a connection the local side started went, as the capture point saw it:
// whether the server answered, or what stopped the exchange and where. Each outcome is the
// footprint of one way to block a connection (an address black-holed, a reset injected on the
// ClientHello's server name, the ClientHello dropped, the QUIC Initial dropped), and also of a
// server that is down or refuses: telling the two apart takes the fingerprints of Opening and
// the other connections to the same service, which is the block detector's job.
enum class OpeningOutcome : uint8_t {
  kCompleted,      // the server sent data: TCP payload after the handshake, any QUIC datagram
  kRefused,        // a RST from the server's side answered the SYN
  kSynUnanswered,  // the SYN was sent again and nothing came back
  // The client's request: the ClientHello on TLS (Opening::hello), else its first data (an HTTP
  // request on port 80...).
  kResetAfterRequest,  // a RST from the server's side after the request, before server data
  kRequestUnanswered,  // handshake done, the request sent again, no server data
  kQuicUnanswered,     // the client's Initial was sent again and no datagram came back
};
inline constexpr size_t kOpeningOutcomes = 6;
std::string_view OpeningOutcomeName(OpeningOutcome o);  // "completed", "refused", ...

// The opening of one connection, once its outcome is known.
struct Opening {
  FlowInfo flow;  // the connection (flow.id: its flow's id)
  OpeningOutcome outcome = OpeningOutcome::kCompleted;
  int64_t start_ns = 0;    // the client's first SYN or Initial
  int64_t decided_ns = 0;  // the packet that decided it, or the client's last attempt
  // Client packets that tried: SYNs until the handshake completed, then sends of the request
  // (1 = sent once); Initials for QUIC.
  uint16_t attempts = 0;
  bool hello = false;  // a TLS ClientHello opened the client's data
  // The SYN to SYN-ACK time at the capture point: the round trip from here to the server and
  // back. -1 when no SYN-ACK was seen.
  float handshake_rtt_s = -1;
  // A RST from the server's side (kRefused, kResetAfterRequest):
  float reset_after_s = -1;  // from the client's packet it answered (the SYN, the request) to it
  // Its IP TTL (hop limit) minus that of the server's SYN-ACK: an injector's RST comes from
  // another hop count or another stack's initial TTL. kNoTtl when either is unknown.
  static constexpr int16_t kNoTtl = INT16_MIN;
  int16_t reset_ttl_delta = kNoTtl;
  uint8_t reset_ttl = 0;   // the RST's own TTL (0: no RST)
  uint8_t server_ttl = 0;  // the server's SYN-ACK's TTL (0: no SYN-ACK seen)
  // The server's first data (kCompleted over TCP): its IP TTL minus that of the server's
  // SYN-ACK (kNoTtl when either is unknown; not 0: another sender's, such as a censor's block
  // page), and its HTTP status code when it starts with an HTTP/1.x status line (0: none).
  int16_t data_ttl_delta = kNoTtl;
  uint16_t http_status = 0;
};

// Receives openings as they are decided.
class OpeningSink {
 public:
  virtual ~OpeningSink() = default;
  virtual void OnOpening(const Opening& o) = 0;
};

// Follows the openings of the connections the local side starts: TCP from the client's SYN,
// QUIC (UDP) from the client's first Initial. A connection seen without its start is not
// followed. An opening is decided at the packet that shows its outcome (server data, a RST),
// or when its flow ends, or by Expire() once `max_wait_ns` has passed since its start: then,
// unanswered when the client had tried again (a retransmitted SYN, request or Initial: its own
// timer said the answer was overdue), else left undecided and dropped (a client that gave up at
// once, or a server merely slow to answer: no evidence either way). A server that acknowledges
// the request but says nothing is slow, not blocked: the request is then never sent again.
// Memory: one entry (~64 bytes) per opening not yet decided, at most `max_pending`; openings
// beyond it are not followed (counted). Single-threaded.
class OpeningTracker {
 public:
  static constexpr int64_t kDefaultMaxWaitNs = 10'000'000'000;  // SYN retries at 1, 3, 7 s
  explicit OpeningTracker(size_t max_pending = 4096, int64_t max_wait_ns = kDefaultMaxWaitNs);

  // One packet of flow `info` in direction `dir` (kUp: from the local side), decoded as `p`
  // (a later IP fragment of the client's is no attempt; of the server's, it is its data);
  // `payload` holds the first `payload_caplen` captured bytes of its layer-4 payload (borrowed
  // for the call). Openings it decides are appended to *decided.
  void OnPacket(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                uint32_t payload_caplen, const FlowInfo& info, Direction dir,
                std::vector<Opening>* decided);
  // Flow `flow_id` ended: its opening, if pending, is decided now (see above).
  void OnFlowEnd(uint64_t flow_id, std::vector<Opening>* decided);
  // Decides every pending opening started more than max_wait before `now_ns`; those it decides
  // are appended in flow order.
  void Expire(int64_t now_ns, std::vector<Opening>* decided);

  size_t pending() const { return pending_.size(); }
  uint64_t not_followed() const { return not_followed_; }  // dropped: the table was full

 private:
  struct Pending {
    Opening o;
    bool quic = false;
    bool synack = false;
    int64_t last_attempt_ns = 0;  // the client's last SYN, request send or Initial
    int64_t request_ns = 0;       // the request's first send; 0: none yet
    uint32_t request_seq = 0;
  };
  void Start(int64_t ts_ns, const FlowInfo& info, bool quic);
  // The client's packet: another SYN, the request or its retransmission, another Initial.
  static void OnClient(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                       uint32_t payload_caplen, Pending* s);
  // The server's packet (`payload`: its captured payload bytes); true when it decided the
  // opening.
  static bool OnServer(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                       uint32_t payload_caplen, Pending* s);
  // The outcome of an opening that got no answer, or false when undecided.
  static bool Unanswered(Pending* s);

  std::unordered_map<uint64_t, Pending> pending_;  // by flow id
  size_t max_pending_;
  int64_t max_wait_ns_;
  uint64_t not_followed_ = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_CONNECTION_OPENING_H_
