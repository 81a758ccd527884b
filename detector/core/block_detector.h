#ifndef THROTTLEWATCH_DETECTOR_CORE_BLOCK_DETECTOR_H_
#define THROTTLEWATCH_DETECTOR_CORE_BLOCK_DETECTOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/address.h"
#include "capture/connection_opening.h"
#include "capture/dns_outcomes.h"
#include "detector/core/event.h"
#include "detector/core/event_sink.h"

namespace tw::detector {

struct BlockParams {
  // Failed attempts to reach one service, one after another with none completed in between,
  // that make a block: one failure is an accident (a lost SYN, a server restarting), a user's
  // retries that all fail are not. Connections opened within half a second are one attempt.
  int min_failures = 3;
  // Failures older than this (by start) than the newest one are forgotten: a service that fails
  // now and then is not blocked.
  double window_s = 60;
  // Services followed at once; when full, the one idle longest (and not blocked) is forgotten.
  size_t max_services = 8192;
};

// Blocking of one service, from the outcomes of the connections the local side opens to it
// (capture::Opening, decided by capture::OpeningTracker), the service being the server name
// (TLS SNI, QUIC's, or a DNS name of the address) or, without one, the address, and the
// transport (TCP or QUIC: a QUIC block beside working TCP is a block of QUIC). Connections to
// private addresses (IsPrivate) are not followed: they do not cross the ISP.
//
// Each failed opening is read for the mechanism behind it:
// - a RST answering the SYN (refused) or the ClientHello: the server's own when its IP TTL is
//   that of the server's SYN-ACKs (the server said no: a server down or refusing, no block),
//   an injector's when it differs or came sooner than the handshake's round trip allows
//   (tcp_rst); a refusal from an address whose TTL is not known yet is no evidence;
// - the ClientHello sent again with no answer after a completed handshake (sni_blackhole): the
//   path carried the SYN but not the name; a request other than a ClientHello, no evidence;
// - a plain request (HTTP on port 80...) answered with an HTTP response whose IP TTL is not the
//   server's SYN-ACK's (http_blockpage): a box on the path answered in the server's name, with
//   its block page or a redirect to one (a response with the server's TTL is the site's own);
// - the SYN sent again with no answer (ip_blackhole); the QUIC Initial (quic_blackhole).
// A block starts when `min_failures` attempts of a service fail so in a row (no completed
// connection to it, every failure started after it last answered; connections opened within
// half a second of each other are one attempt) while connections of other services over the
// same transport completed between its last two attempts: the link worked while the service
// failed, and the failures were this service's (when nothing else worked, it is the link, and the
// outage detector's). Its time is the first failure's start; its method, the failures' most
// common. It ends when the service first answers again: the server's first data (or QUIC
// datagram) of a connection that completes (reason "lifted"; the lift came before, after the
// last unanswered attempt). A block still on when the input ends has no end.
//
// DNS lookups of a name (capture::DnsOutcome, decided by capture::DnsTracker) are its service
// over transport "dns", reached through the resolvers it was asked of; names for local use
// (capture::IsLocalName) are not followed. A lookup fails
// - dns_injection: two answers raced for the one query (the first forged: an on-path injector
//   answers as the query passes, the resolver's answer follows); fingerprinted when the two
//   came with different IP TTLs (two senders at different distances);
// - dns_bogon: an answer holding an address no host has (Address::IsBogon: 10.10.34.34, 0.0.0.0)
//   from a resolver that had answered the name with public addresses before: a resolver that
//   answers so from the start is a split horizon, an ad blocker or a captive portal as often as
//   a censor, and is not judged;
// - dns_nxdomain: "no such name" from a resolver that had answered the name publicly before.
// An answer with public addresses and no race is the name's success (it ends a block); others
// (no address, an error, no answer) say nothing. A DNS block starts and ends by the rules above,
// an attempt being a lookup (queries within half a second are one: A and AAAA together), the
// witnesses other names answered meanwhile.
//
// What one uplink cannot tell: an address black-holed for everyone (a server down) from one
// black-holed for this network, or a QUIC server down from QUIC blocked; `confidence` says so
// (lower without fingerprints of injection or a name on the same address that kept working).
// Single-threaded; `sink` and `next_id` must outlive it.
class BlockDetector {
 public:
  BlockDetector(const BlockParams& params, EventSink* sink, uint64_t* next_id);

  // One decided opening of a connection to `remote_name` (empty when unknown); `now_ns`:
  // packet time at which it is judged (detected_at). Openings come in about the order they
  // were decided.
  void OnOpening(const capture::Opening& o, std::string_view remote_name, int64_t now_ns);
  // One decided DNS query of the local side; `now_ns` as above. Outcomes come in about the
  // order they were decided.
  void OnDnsOutcome(const capture::DnsOutcome& d, int64_t now_ns);

  size_t services() const { return services_.size(); }
  size_t blocked() const;  // services blocked now

 private:
  struct Failure {
    int64_t start_ns = 0;
    BlockMethod method = BlockMethod::kNone;
    bool ttl_mismatch = false, too_fast = false;  // a reset's fingerprints
    bool reset = false;
    int16_t reset_ttl_delta = capture::Opening::kNoTtl;
    float reset_after_s = -1, handshake_rtt_s = -1;
    // A DNS query's: two answers raced (their IP TTLs' difference, kNoTtl when unknown), the
    // delays of its answers, the address it was answered with.
    bool racing = false;
    int16_t answer_ttl_delta = capture::Opening::kNoTtl;
    float answer_after_s = -1, resolver_after_s = -1;
    bool has_address = false;
    capture::Address address;
    uint8_t qtype_bit = 0;     // a DNS query's type: QtypeBit(); 0 for a connection
    uint16_t http_status = 0;  // a block page's
    int16_t page_ttl_delta = capture::Opening::kNoTtl;
  };
  struct Service {
    std::string name;  // empty: the service is its address
    capture::Address remote;
    uint16_t remote_port = 0;
    BlockTransport transport = BlockTransport::kTcp;
    bool worked = false;
    bool named_ok = false;   // an address's service: a completed connection to it had a name
    int64_t last_ok_ns = 0;  // the service's last answer (a completed connection's; 0: none)
    int64_t last_seen_ns = 0;
    int64_t last_failed_ns = 0;  // when its last failure was judged
    // DNS: the last public answer per query type (A, AAAA, other; see QtypeBit): an injector
    // may forge one type only, so another type's answer neither clears nor ends its failures.
    int64_t last_ok_by_type[3] = {0, 0, 0};
    uint8_t block_types = 0;     // the query types (bits) that failed in the block
    std::vector<Failure> chain;  // failures since then, by start
    // DNS: the resolvers that answered the name with public addresses (at most kMaxResolvers).
    std::vector<capture::Address> resolvers;
    // The block, when on.
    uint64_t id = 0;
    int64_t block_start_ns = 0;
    Event start;  // its start event (counts grow until the end)
  };
  // What a failed opening says: a method, the server's own refusal, or nothing.
  enum class Reading : uint8_t { kBlockish, kServerSaidNo, kNothing };
  Reading Read(const capture::Opening& o, Failure* f) const;

  // The service `key` (made if new), reached at remote:port over `t` at seen_ns.
  Service* Find(const std::string& key, BlockTransport t, std::string_view name,
                const capture::Address& remote, uint16_t port, int64_t seen_ns);
  // The service answered at ok_ns (a completed connection's first data, a public DNS answer of
  // the query type `qtype_bit`, QtypeBit(); 0 for a connection).
  void OnAnswered(Service* s, int64_t ok_ns, int64_t now_ns, uint8_t qtype_bit = 0);
  void OnFailed(const std::string& key, Service* s, const Failure& f, int64_t now_ns);
  // Other services of `s`'s transport that last answered (a completed connection) at or after
  // `since_ns`; *same_address: one is on s's address.
  int Witnesses(const Service& s, int64_t since_ns, bool* same_address) const;
  // Starts s's block when its chain holds enough attempts and other services answered
  // between the last two; without such a witness yet, s waits for one (waiting_).
  void TryStart(const std::string& key, Service* s, int64_t now_ns);
  // Service w answered at ok_ns: the waiting services it is a witness for are judged again. An
  // outcome is judged when decided, and a DNS answer is decided a second after it came (the
  // race window) where a race is decided at once, so a witness may come after the failure it
  // vouches for; it counts when it answered before that failure was judged.
  void RetryWaiting(const Service& w, int64_t ok_ns, int64_t now_ns);
  void Start(Service* s, int witnesses, bool same_address, int64_t now_ns);
  static void AddFailure(const Failure& f, BlockEvidence* b);
  void EvictOne();

  BlockParams params_;
  EventSink* sink_;
  uint64_t* next_id_;
  std::unordered_map<std::string, Service> services_;
  std::vector<std::string> waiting_;  // keys of services with enough failures, no witness yet
  // The TTL of each server's SYN-ACKs, to tell its own RST from another's.
  std::unordered_map<capture::Address, uint8_t, capture::AddressHash> server_ttl_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_CORE_BLOCK_DETECTOR_H_
