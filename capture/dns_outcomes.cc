#include "capture/dns_outcomes.h"

#include <algorithm>
#include <iterator>

#include "capture/ip_proto.h"

namespace tw::capture {

namespace {
constexpr uint8_t kNxdomain = 3;
constexpr uint16_t kClassIn = 1;

float Seconds(int64_t ns) { return float(double(std::max<int64_t>(ns, 0)) * 1e-9); }

void Count(uint16_t* n) {
  if (*n < UINT16_MAX) ++*n;
}

bool EndsWithLabels(std::string_view name, std::string_view suffix) {
  return name == suffix || (name.size() > suffix.size() && name.ends_with(suffix) &&
                            name[name.size() - suffix.size() - 1] == '.');
}
}  // namespace

std::string_view DnsOutcomeKindName(DnsOutcomeKind k) {
  switch (k) {
    case DnsOutcomeKind::kAnswered:
      return "answered";
    case DnsOutcomeKind::kNxdomain:
      return "nxdomain";
    case DnsOutcomeKind::kRacing:
      return "racing";
    case DnsOutcomeKind::kBogon:
      return "bogon";
    case DnsOutcomeKind::kUnanswered:
      return "unanswered";
  }
  return "?";
}

bool IsLocalName(std::string_view name) {
  if (name.find('.') == std::string_view::npos) return true;
  static constexpr std::string_view kLocalSuffixes[] = {
      "local", "home.arpa", "localhost", "internal", "lan",
      "home",  "corp",      "intranet",  "private",  "localdomain"};
  return std::any_of(std::begin(kLocalSuffixes), std::end(kLocalSuffixes),
                     [&](std::string_view s) { return EndsWithLabels(name, s); });
}

DnsTracker::DnsTracker(size_t max_pending, int64_t race_window_ns, int64_t max_wait_ns,
                       size_t max_resolved)
    : max_pending_(max_pending),
      race_window_ns_(race_window_ns),
      max_wait_ns_(max_wait_ns),
      max_resolved_(max_resolved) {}

void DnsTracker::OnPacket(int64_t ts_ns, const DecodedPacket& p, const uint8_t* payload,
                          uint32_t payload_caplen, const FlowInfo& info, Direction dir,
                          std::vector<DnsOutcome>* decided) {
  // A later fragment has no UDP header: its bytes are the middle of a datagram.
  if (p.ip_proto != kIpProtoUdp || p.later_fragment) return;
  const bool query = dir == kUp && p.dst_port == kDnsPort;
  if (!query && !(dir == kDown && p.src_port == kDnsPort)) return;
  const size_t n = payload == nullptr ? 0 : std::min<size_t>(payload_caplen, p.payload_len);
  // Cut by the capture (its snaplen, or a first fragment): a message that ends early says
  // nothing about the sender, only about the capture.
  const bool whole = !p.fragment && payload_caplen >= p.payload_len;
  addresses_.clear();
  const bool parsed = ParseDnsMessage(
      payload, n, &header_, [&](const Address& a, std::string_view) { addresses_.push_back(a); },
      query ? 0 : kMaxAnswers);
  if (n < 12 || (!parsed && whole)) {
    if (whole) ++malformed_;
    return;
  }
  if (header_.opcode() != 0) return;  // only QUERY
  if (query) {
    OnQuery(ts_ns, info, decided);
  } else {
    OnAnswer(ts_ns, p, info, whole && parsed, decided);
  }
}

void DnsTracker::OnQuery(int64_t ts_ns, const FlowInfo& info, std::vector<DnsOutcome>* decided) {
  const DnsHeader& h = header_;
  if (h.response() || h.questions == 0 || (h.question_read && h.qclass != kClassIn)) return;
  Key k{info.id, h.id, 0, {}};
  if (h.question_read) {
    k.qtype = h.qtype;
    k.qname = h.qname;
  }
  auto it = pending_.find(k);
  if (it != pending_.end() && Due(it->second, ts_ns)) {
    Decide(it, decided);  // the same id and question again, but past the first one's wait
    it = pending_.end();
  }
  if (it != pending_.end()) {  // the query sent again
    Pending& s = it->second;
    Count(&s.sends);
    Count(&s.o.attempts);
    if (ts_ns - s.o.query_ns >= kMinRetryWaitNs) s.retried = true;
    s.last_send_ns = ts_ns;
    return;
  }
  if (pending_.size() >= max_pending_) {
    ++not_followed_;
    return;
  }
  if (h.question_read) {
    // The question asked before under another id or port (a stub's retry on a new socket, or
    // to its next resolver): this send retries those still waiting for their answer.
    const Waiting from{info.local(), k.qtype, k.qname, 0, 0};
    for (auto w = waiting_.lower_bound(from); w != waiting_.end() && w->local == from.local &&
                                              w->qtype == from.qtype && w->qname == from.qname;
         ++w) {
      auto q = pending_.find(Key{w->flow_id, w->dns_id, w->qtype, w->qname});
      if (q == pending_.end() || Due(q->second, ts_ns)) continue;
      Pending& e = q->second;
      Count(&e.o.attempts);
      if (ts_ns - e.o.query_ns >= kMinRetryWaitNs) e.retried = true;
      e.last_send_ns = ts_ns;
    }
  }
  ++followed_;
  Pending& s = pending_[k];
  s.o.flow_id = info.id;
  s.o.name = k.qname;
  s.o.qtype = k.qtype;
  s.o.dns_id = h.id;
  s.o.resolver = info.remote();
  s.o.query_ns = ts_ns;
  s.o.attempts = 1;
  s.sends = 1;
  s.local = info.local();
  s.question_known = s.name_known = h.question_read;
  s.last_send_ns = ts_ns;
  if (h.question_read) {
    waiting_.insert(Waiting{s.local, k.qtype, k.qname, info.id, h.id});
    s.waiting = true;
  }
}

DnsTracker::Table::iterator DnsTracker::Find(uint64_t flow_id) {
  const DnsHeader& h = header_;
  Table::iterator loose = pending_.end();
  for (auto it = pending_.lower_bound(Key{flow_id, h.id, 0, {}});
       it != pending_.end() && it->first.flow_id == flow_id && it->first.dns_id == h.id; ++it) {
    if (h.question_read && it->second.question_known) {
      if (it->first.qtype == h.qtype && it->first.qname == h.qname) return it;
    } else if (loose == pending_.end()) {
      loose = it;  // one of the two questions is not known: the flow and the id must do
    }
  }
  return loose;
}

void DnsTracker::OnAnswer(int64_t ts_ns, const DecodedPacket& p, const FlowInfo& info, bool whole,
                          std::vector<DnsOutcome>* decided) {
  const DnsHeader& h = header_;
  if (!h.response()) return;
  auto it = Find(info.id);
  if (it != pending_.end() && Due(it->second, ts_ns)) {
    Decide(it, decided);
    it = pending_.end();
  }
  if (it == pending_.end()) {
    ++unmatched_;
    return;
  }
  Pending& s = it->second;
  DnsOutcome& o = s.o;
  if (!s.name_known && h.question_read) {  // the capture cut the query's question
    o.name = h.qname;
    o.qtype = h.qtype;
    s.name_known = true;
  }
  DnsReply r;
  r.delay_s = Seconds(ts_ns - s.last_send_ns);
  r.ip_ttl = p.ip_ttl;
  r.rcode = h.rcode();
  r.whole = whole && addresses_.size() < size_t(kMaxAnswers);
  r.address_count = uint8_t(addresses_.size());
  std::copy_n(addresses_.begin(), std::min(addresses_.size(), DnsReply::kMaxAddresses),
              r.addresses.begin());
  Count(&o.answers);
  const bool public_name = s.name_known && !IsLocalName(o.name);
  const bool has_bogon = std::any_of(addresses_.begin(), addresses_.end(),
                                     [](const Address& a) { return a.IsBogon(); });
  if (public_name && has_bogon && !o.bogon) {
    o.bogon = true;
    o.bogon_address = *std::find_if(addresses_.begin(), addresses_.end(),
                                    [](const Address& a) { return a.IsBogon(); });
  }
  std::sort(addresses_.begin(), addresses_.end());
  addresses_.erase(std::unique(addresses_.begin(), addresses_.end()), addresses_.end());
  bool racing = false;
  if (!s.answered) {
    s.answered = true;
    s.first_answer_ns = ts_ns;
    s.first_set = addresses_;
    o.first = r;
    o.decided_ns = ts_ns;
    o.nxdomain_after_resolution = r.rcode == kNxdomain && public_name && ResolvedBefore(o.name);
    if (s.waiting) {
      // The earlier queries of the question that this one retried: their question got an
      // answer.
      const Waiting from{s.local, it->first.qtype, it->first.qname, 0, 0};
      for (auto w = waiting_.lower_bound(from); w != waiting_.end() && w->local == from.local &&
                                                w->qtype == from.qtype && w->qname == from.qname;
           ++w) {
        if (w->flow_id == info.id && w->dns_id == h.id) continue;  // this query
        auto q = pending_.find(Key{w->flow_id, w->dns_id, w->qtype, w->qname});
        if (q != pending_.end() && q->second.o.query_ns <= o.query_ns && !Due(q->second, ts_ns)) {
          q->second.o.retry_answered = true;
        }
      }
      waiting_.erase(Waiting{s.local, it->first.qtype, it->first.qname, info.id, h.id});
      s.waiting = false;
    }
  } else {
    // More answers than sends: one of them came from someone else than the resolver. Sets are
    // compared only when both answers were read whole.
    const bool differs =
        r.rcode != o.first.rcode || (o.first.whole && r.whole && addresses_ != s.first_set);
    racing = differs && o.answers > s.sends;
  }
  if (public_name && r.rcode == 0 && !addresses_.empty() && !has_bogon) Remember(o.name);
  if (racing) {
    o.kind = DnsOutcomeKind::kRacing;
    o.second = r;
    o.decided_ns = ts_ns;
    Decide(it, decided);
  }
}

bool DnsTracker::Due(const Pending& s, int64_t now_ns) const {
  return s.answered ? now_ns - s.first_answer_ns > race_window_ns_
                    : now_ns - s.o.query_ns > max_wait_ns_;
}

DnsTracker::Table::iterator DnsTracker::Decide(Table::iterator it,
                                               std::vector<DnsOutcome>* decided) {
  Pending& s = it->second;
  DnsOutcome& o = s.o;
  if (s.answered) {
    if (o.kind != DnsOutcomeKind::kRacing) {
      o.kind = o.bogon                      ? DnsOutcomeKind::kBogon
               : o.first.rcode == kNxdomain ? DnsOutcomeKind::kNxdomain
                                            : DnsOutcomeKind::kAnswered;
    }
    decided->push_back(std::move(o));
  } else if (s.retried) {
    o.kind = DnsOutcomeKind::kUnanswered;
    o.decided_ns = s.last_send_ns;
    decided->push_back(std::move(o));
  }
  if (s.waiting) {
    waiting_.erase(
        Waiting{s.local, it->first.qtype, it->first.qname, it->first.flow_id, it->first.dns_id});
  }
  return pending_.erase(it);
}

void DnsTracker::Remember(const std::string& name) {
  if (max_resolved_ == 0) return;
  if (auto it = resolved_.find(name); it != resolved_.end()) {
    resolved_order_.splice(resolved_order_.begin(), resolved_order_, it->second);
    return;
  }
  if (resolved_.size() >= max_resolved_) {
    resolved_.erase(resolved_order_.back());
    resolved_order_.pop_back();
  }
  resolved_order_.push_front(name);
  resolved_.emplace(name, resolved_order_.begin());
}

void DnsTracker::OnFlowEnd(uint64_t flow_id, std::vector<DnsOutcome>* decided) {
  for (auto it = pending_.lower_bound(Key{flow_id, 0, 0, {}});
       it != pending_.end() && it->first.flow_id == flow_id;) {
    it = Decide(it, decided);
  }
}

void DnsTracker::Expire(int64_t now_ns, std::vector<DnsOutcome>* decided) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = Due(it->second, now_ns) ? Decide(it, decided) : std::next(it);
  }
}

}  // namespace tw::capture
