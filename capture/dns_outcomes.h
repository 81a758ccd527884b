#ifndef THROTTLEWATCH_CAPTURE_DNS_OUTCOMES_H_
#define THROTTLEWATCH_CAPTURE_DNS_OUTCOMES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/address.h"
#include "capture/bins.h"
#include "capture/decode.h"
#include "capture/dns.h"

namespace tw::capture {

// How a DNS query the local side sent was answered, as the capture point saw it. Each outcome
// but kAnswered is the footprint of one way to block a name (a forged answer racing the
// resolver's, a sinkhole or null address, a false NXDOMAIN, queries dropped), and also of
// something innocent (a split-horizon name, a name that went away, a lost packet): telling the
// two apart takes the fingerprints of DnsOutcome and the other queries for the name, which is
// the block detector's job.
enum class DnsOutcomeKind : uint8_t {
  kAnswered,  // answered (once, or with the same answer again): NOERROR, or another error
  kNxdomain,  // the answer said the name does not exist (rcode 3)
  // Two answers to the one query (same flow: resolver address and port, local port; same DNS
  // id and question) that differ, in their rcode or their address sets (order aside), while the
  // query had been sent fewer times than it got answers (a resolver answers each send once):
  // an on-path injector's, which arrives first, and the resolver's.
  kRacing,
  kBogon,       // an address answer holding an Address::IsBogon() address, for a public name
  kUnanswered,  // no answer, and the question was asked again (see DnsTracker)
};
inline constexpr size_t kDnsOutcomeKinds = 5;
std::string_view DnsOutcomeKindName(DnsOutcomeKind k);  // "answered", "nxdomain", ...

// One answer to a query, as it arrived.
struct DnsReply {
  static constexpr size_t kMaxAddresses = 4;
  float delay_s = -1;  // after the query's last send before it; -1: no answer
  uint8_t ip_ttl = 0;  // its IP TTL (hop limit): an injector sits fewer hops away
  uint8_t rcode = 0;
  // All of it was read: captured whole (not cut by the snaplen, not IP-fragmented), with fewer
  // than DnsTracker::kMaxAnswers addresses (more are left unread). Only whole answers' address
  // sets are compared.
  bool whole = false;
  uint8_t address_count = 0;                       // A/AAAA records read, at most kMaxAnswers
  std::array<Address, kMaxAddresses> addresses{};  // the first of them, in message order
};

// One query of the local side, once its outcome is known.
struct DnsOutcome {
  uint64_t flow_id = 0;
  DnsOutcomeKind kind = DnsOutcomeKind::kAnswered;
  // The question: its name in lower case and its type (1 A, 28 AAAA, 65 HTTPS, ...). Empty and
  // 0 when the capture cut the query inside it and no answer said it.
  std::string name;
  uint16_t qtype = 0;
  uint16_t dns_id = 0;
  Address resolver;        // where the query went (the flow's remote end, port 53)
  int64_t query_ns = 0;    // the query's first send
  int64_t decided_ns = 0;  // the first answer (kRacing: the one that differed), or, for
                           // kUnanswered, the question's last send
  // Sends of the query (1 = once), plus sends of its question again under another id or port
  // while this one waited (kUnanswered: at least one of either, kMinRetryWaitNs after it).
  uint16_t attempts = 0;
  uint16_t answers = 0;  // answers that arrived (repeats included)
  // kUnanswered: its question, asked again under another id or port, was answered meanwhile:
  // a query or answer lost, where a name blocked by dropping leaves every send unanswered.
  bool retry_answered = false;
  DnsReply first;   // the first answer (none for kUnanswered)
  DnsReply second;  // kRacing: the answer that differed from the first
  // kBogon (and a kRacing whose answers held one): the first such address read.
  bool bogon = false;
  Address bogon_address;
  // The first answer was NXDOMAIN and the name had got a public answer (NOERROR, addresses,
  // none a bogon) before: a name that resolved, then "does not exist".
  bool nxdomain_after_resolution = false;
};

// Receives DNS outcomes as they are decided.
class DnsOutcomeSink {
 public:
  virtual ~DnsOutcomeSink() = default;
  virtual void OnDnsOutcome(const DnsOutcome& o) = 0;
};

// Names that no one answers from the internet, so a private address for them is no bogon: a
// single label ("nas", a search-list name) or under a suffix for local use: .local (RFC 6762),
// .home.arpa (RFC 8375), .localhost (RFC 6761), .internal (ICANN's private-use TLD), and those
// RFC 6762 (appendix G) found in private use: .lan, .home, .corp, .intranet, .private, plus
// .localdomain.
bool IsLocalName(std::string_view name);

// Follows the DNS queries the local side sends over UDP (to port 53, opcode QUERY, class IN)
// and their answers (a UDP datagram back from port 53 of the same flow, with the query's DNS id
// and question), and reports per query its outcome. TCP DNS is not followed. A query whose
// question the capture cut off (a short snaplen) is followed under its flow and id alone, and
// takes its question from its answer.
//
// An answered query is decided `race_window_ns` (default 1 s) after its first answer, so that
// a second, differing answer can still show kRacing. An injector answers the query as it
// passes, and the resolver's answer follows less than the resolver's round trip later for a
// name in its cache: 1 s holds any terrestrial path and a geostationary one. A resolver that
// recurses for longer answers after the window, and that race goes unseen; a longer window
// would hold every decision back. A kRacing query is decided at the answer that differs: with
// several injectors (some send two forgeries) `second` may be another forgery. A forwarder
// that relays the answers of two upstream resolvers to one query looks the same, but both its
// answers then carry its own IP TTL.
//
// A query without answer is decided `max_wait_ns` (default 10 s: a stub's retries, glibc's
// 5 s timeout and one retry, Windows' 1-1-2-4 s) after its first send: kUnanswered when it was
// sent again, or its question (same name and type, from the same local address; when the
// capture kept it) was asked again under another id or port, at least kMinRetryWaitNs after it
// (the client's own timer said the answer was overdue); else left undecided and dropped (a
// client that gave up, a capture that ended: no evidence either way). A query sent again after
// that is followed anew from that send. The flow's end (OnFlowEnd) decides each of its queries
// the same way, answered or not. A packet of a query whose decision was due decides it first,
// so outcomes do not depend on how often Expire() runs.
//
// The tracker remembers up to `max_resolved` names that got a public answer (the least
// recently resolved goes first), for DnsOutcome::nxdomain_after_resolution; names of all the
// local hosts together.
//
// Everything read is attacker-controlled (an injector chooses every byte): messages are parsed
// with ParseDnsMessage's bounds, malformed ones are counted and ignored, and every table is
// bounded. Memory: one entry per query not yet decided (~0.5 KB, up to ~2 KB with long names and
// many addresses), at most `max_pending`; queries beyond it are not followed (counted); ~0.1 KB
// per name remembered. Single-threaded.
class DnsTracker {
 public:
  static constexpr int64_t kDefaultRaceWindowNs = 1'000'000'000;
  static constexpr int64_t kDefaultMaxWaitNs = 10'000'000'000;
  static constexpr int kMaxAnswers = 32;  // addresses read per answer
  explicit DnsTracker(size_t max_pending = 4096, int64_t race_window_ns = kDefaultRaceWindowNs,
                      int64_t max_wait_ns = kDefaultMaxWaitNs, size_t max_resolved = 4096);

  // One packet of flow `info` in direction `dir` (kUp: from the local side), decoded as `p`;
  // `payload` holds the first `payload_caplen` captured bytes of its layer-4 payload (borrowed
  // for the call; fewer than p.payload_len when the capture cut it). Queries it decides are
  // appended to *decided.
  void OnPacket(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                uint32_t payload_caplen, const FlowInfo& info, Direction dir,
                std::vector<DnsOutcome>* decided);
  // Flow `flow_id` ended: its pending queries are decided now (see above), in id order.
  void OnFlowEnd(uint64_t flow_id, std::vector<DnsOutcome>* decided);
  // Decides every pending query whose decision is due at `now_ns`; appended in flow order.
  void Expire(int64_t now_ns, std::vector<DnsOutcome>* decided);

  size_t pending() const { return pending_.size(); }
  uint64_t followed() const { return followed_; }          // queries followed (decided or not)
  uint64_t not_followed() const { return not_followed_; }  // queries dropped: the table was full
  // Port-53 datagrams that were no well-formed DNS message (though captured whole): ignored.
  uint64_t malformed() const { return malformed_; }
  // Answers to no pending query: late (after the query's decision), or to a query not seen.
  uint64_t unmatched() const { return unmatched_; }
  // Whether `name` got a public answer (and is still remembered).
  bool ResolvedBefore(const std::string& name) const { return resolved_.count(name) != 0; }

 private:
  // A query: its flow, DNS id and question (qtype 0 and "" while unknown).
  struct Key {
    uint64_t flow_id = 0;
    uint16_t dns_id = 0;
    uint16_t qtype = 0;
    std::string qname;
    auto operator<=>(const Key&) const = default;
  };
  // A query without answer yet, by its question and the local address that asked it.
  struct Waiting {
    Address local;
    uint16_t qtype = 0;
    std::string qname;
    uint64_t flow_id = 0;
    uint16_t dns_id = 0;
    auto operator<=>(const Waiting&) const = default;
  };
  struct Pending {
    DnsOutcome o;
    Address local;
    bool question_known = false;  // read from the query: its key holds it
    bool name_known = false;      // from the query or an answer: o.name and o.qtype hold it
    bool waiting = false;         // in waiting_
    bool answered = false;        // o.first holds the first answer
    bool retried = false;         // sent again, or its question asked again, kMinRetryWaitNs later
    uint16_t sends = 0;           // of this query (flow, id, question): o.attempts less other ids'
    int64_t last_send_ns = 0;
    int64_t first_answer_ns = 0;
    std::vector<Address> first_set;  // the first answer's addresses, sorted and unique
  };
  using Table = std::map<Key, Pending>;

  // header_ holds the message; addresses_ an answer's addresses, in message order. `whole`:
  // the answer was captured whole and read to its end.
  void OnQuery(int64_t ts_ns, const FlowInfo& info, std::vector<DnsOutcome>* decided);
  void OnAnswer(int64_t ts_ns, const DecodedPacket& p, const FlowInfo& info, bool whole,
                std::vector<DnsOutcome>* decided);
  // The pending query header_ answers in flow `flow_id`, or end().
  Table::iterator Find(uint64_t flow_id);
  // Whether the query's decision is due at now_ns.
  bool Due(const Pending& s, int64_t now_ns) const;
  // Decides the query (appending it to *decided unless undecided) and forgets it.
  Table::iterator Decide(Table::iterator it, std::vector<DnsOutcome>* decided);
  void Remember(const std::string& name);  // a name that got a public answer

  Table pending_;
  std::set<Waiting> waiting_;
  // Names resolved to public addresses, most recent first, and where each is in the list.
  std::list<std::string> resolved_order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> resolved_;
  size_t max_pending_;
  int64_t race_window_ns_;
  int64_t max_wait_ns_;
  size_t max_resolved_;
  uint64_t followed_ = 0;
  uint64_t not_followed_ = 0;
  uint64_t malformed_ = 0;
  uint64_t unmatched_ = 0;
  // Reused per packet: the message read, the answer's addresses.
  DnsHeader header_;
  std::vector<Address> addresses_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_DNS_OUTCOMES_H_
