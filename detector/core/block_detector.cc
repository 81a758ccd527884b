#include "detector/core/block_detector.h"

#include <algorithm>
#include <array>
#include <set>

#include "capture/host_name.h"
#include "capture/ip_proto.h"

namespace tw::detector {

namespace {

using capture::Opening;
using capture::OpeningOutcome;

// A reset sooner than this share of the handshake's round trip cannot have come from the
// server: the request had to reach it and the reset come back. Half, for the jitter of one
// round trip against another; not judged below a few milliseconds of round trip, where a
// scheduler's hiccup is as long.
constexpr double kTooFastShare = 0.5;
constexpr double kMinRttForTiming = 0.005;
// Failures that started closer together than this are one attempt: a client opens parallel
// connections within milliseconds; a user's or an application's retries come seconds apart.
constexpr int64_t kSameAttemptNs = 500'000'000;

double Seconds(int64_t ns) { return double(ns) * 1e-9; }

// A DNS query type as a bit: 1 A, 2 AAAA, 4 any other; and its index in last_ok_by_type.
uint8_t QtypeBit(uint16_t qtype) { return qtype == 1 ? 1 : qtype == 28 ? 2 : 4; }
int QtypeIndex(uint8_t bit) { return bit == 1 ? 0 : bit == 2 ? 1 : 2; }

// An HTTP response to a plain request (no ClientHello) whose IP TTL is not that of the
// server's SYN-ACK: another sender answered in the server's name.
bool IsBlockPage(const Opening& o) {
  return !o.hello && o.http_status != 0 && o.data_ttl_delta != Opening::kNoTtl &&
         o.data_ttl_delta != 0;
}

// A resolver's answers for a name kept per service: a few (an office asks one or two).
constexpr size_t kMaxResolvers = 4;

std::string KeyOf(BlockTransport t, std::string_view name, const capture::Address& remote) {
  std::string k(t == BlockTransport::kQuic ? "q" : t == BlockTransport::kDns ? "d" : "t");
  if (!name.empty()) {
    k += ':';
    k += name;
  } else {
    k += '@';
    k.append(reinterpret_cast<const char*>(remote.bytes.data()), remote.bytes.size());
  }
  return k;
}

BlockMethod MostCommon(const std::array<int, kBlockMethods>& counts) {
  size_t best = 1;
  for (size_t m = 2; m < counts.size(); ++m) {
    if (counts[m] > counts[best]) best = m;
  }
  return BlockMethod(best);
}

// How sure the evidence makes a block (see the class comment).
double Confidence(const BlockEvidence& b) {
  double c = 0.5;
  switch (b.method) {
    case BlockMethod::kTcpRst:  // a reset the server did not send
      c = 0.9;
      break;
    case BlockMethod::kSniBlackhole:  // the SYN passed, the name did not
      c = b.same_address_ok ? 0.8 : 0.6;
      break;
    case BlockMethod::kQuicBlackhole:
      c = b.same_address_ok ? 0.7 : 0.5;
      break;
    case BlockMethod::kIpBlackhole:  // a server down for everyone looks the same
    case BlockMethod::kNone:
      c = 0.5;
      break;
    case BlockMethod::kDnsInjection:  // two senders raced; told apart by their TTLs
      c = b.answers_ttl_mismatch > 0 ? 0.9 : 0.6;
      break;
    case BlockMethod::kHttpBlockpage:  // another hop count; a route change mid-connection too
      c = 0.8;
      break;
    case BlockMethod::kDnsBogon:     // the resolver's own filter, a censor's or an ad blocker's
    case BlockMethod::kDnsNxdomain:  // the same, or a name withdrawn
      c = 0.6;
      break;
  }
  if (b.worked_before) c += 0.05;
  return std::min(c, 0.95);
}

}  // namespace

BlockDetector::BlockDetector(const BlockParams& params, EventSink* sink, uint64_t* next_id)
    : params_(params), sink_(sink), next_id_(next_id) {
  params_.min_failures = std::max(1, params_.min_failures);
  params_.max_services = std::max<size_t>(2, params_.max_services);
}

size_t BlockDetector::blocked() const {
  size_t n = 0;
  for (const auto& [key, s] : services_) n += s.id != 0 ? 1 : 0;
  return n;
}

BlockDetector::Reading BlockDetector::Read(const Opening& o, Failure* f) const {
  f->start_ns = o.start_ns;
  f->reset = o.reset_ttl != 0;
  f->reset_ttl_delta = o.reset_ttl_delta;
  f->reset_after_s = o.reset_after_s;
  f->handshake_rtt_s = o.handshake_rtt_s;
  switch (o.outcome) {
    case OpeningOutcome::kCompleted:
      if (!IsBlockPage(o)) return Reading::kNothing;
      f->method = BlockMethod::kHttpBlockpage;
      f->http_status = o.http_status;
      f->page_ttl_delta = o.data_ttl_delta;
      return Reading::kBlockish;
    case OpeningOutcome::kRefused: {
      const auto it = server_ttl_.find(o.flow.remote());
      if (it == server_ttl_.end()) return Reading::kNothing;
      if (o.reset_ttl == it->second) return Reading::kServerSaidNo;
      f->method = BlockMethod::kTcpRst;
      f->ttl_mismatch = true;
      return Reading::kBlockish;
    }
    case OpeningOutcome::kResetAfterRequest:
      f->ttl_mismatch = o.reset_ttl_delta != Opening::kNoTtl && o.reset_ttl_delta != 0;
      f->too_fast = o.handshake_rtt_s >= kMinRttForTiming && o.reset_after_s >= 0 &&
                    o.reset_after_s < kTooFastShare * o.handshake_rtt_s;
      if (!f->ttl_mismatch && !f->too_fast) return Reading::kServerSaidNo;
      f->method = BlockMethod::kTcpRst;
      return Reading::kBlockish;
    case OpeningOutcome::kRequestUnanswered:
      if (!o.hello) return Reading::kNothing;
      f->method = BlockMethod::kSniBlackhole;
      return Reading::kBlockish;
    case OpeningOutcome::kSynUnanswered:
      f->method = BlockMethod::kIpBlackhole;
      return Reading::kBlockish;
    case OpeningOutcome::kQuicUnanswered:
      f->method = BlockMethod::kQuicBlackhole;
      return Reading::kBlockish;
  }
  return Reading::kNothing;
}

void BlockDetector::OnOpening(const Opening& o, std::string_view remote_name, int64_t now_ns) {
  const BlockTransport t =
      o.flow.proto() == capture::kIpProtoUdp ? BlockTransport::kQuic : BlockTransport::kTcp;
  const capture::Address& remote = o.flow.remote();
  // A private address is not reached through the ISP (a device on another LAN, a VPN's far
  // side): neither its failures nor its connections say anything of the ISP's path.
  if (remote.IsPrivate() || !remote.IsRoutableUnicast()) return;
  if (o.server_ttl != 0) {
    if (server_ttl_.size() >= params_.max_services && !server_ttl_.contains(remote)) {
      server_ttl_.erase(server_ttl_.begin());
    }
    server_ttl_[remote] = o.server_ttl;
  }
  if (o.outcome == OpeningOutcome::kCompleted && !IsBlockPage(o)) {
    // The name's service and the address's: a block of either ends.
    // The path answered at decided_ns (the server's first data or datagram). Not at its
    // start: a connection begun inside a block may get through on a retry after the lift.
    if (!remote_name.empty()) {
      OnAnswered(Find(KeyOf(t, remote_name, remote), t, remote_name, remote, o.flow.remote_port(),
                      o.decided_ns),
                 o.decided_ns, now_ns);
    }
    Service* by_address =
        Find(KeyOf(t, {}, remote), t, {}, remote, o.flow.remote_port(), o.decided_ns);
    by_address->named_ok |= !remote_name.empty();
    OnAnswered(by_address, o.decided_ns, now_ns);
    return;
  }
  Failure f;
  const Reading r = Read(o, &f);
  if (r == Reading::kNothing) return;
  const std::string key = KeyOf(t, remote_name, remote);
  Service* s = Find(key, t, remote_name, remote, o.flow.remote_port(), o.decided_ns);
  if (r == Reading::kServerSaidNo) {
    // The server answered: whatever failed before was not the path's doing.
    std::erase_if(s->chain, [&](const Failure& x) { return x.start_ns <= o.start_ns; });
    return;
  }
  OnFailed(key, s, f, now_ns);
}

void BlockDetector::OnDnsOutcome(const capture::DnsOutcome& d, int64_t now_ns) {
  // The question's name is the sender's bytes: only a host name (as ServerNames keeps) becomes
  // a service, so an event never carries anything else in `service`.
  const std::string name = capture::CanonicalHostName(d.name);
  if (name.empty() || capture::IsLocalName(name)) return;
  // A lost query says nothing (a name blocked by dropping its queries is not told apart), nor
  // a bogon or NXDOMAIN for a name never followed (never resolved): no service is made for
  // them, so names that never resolve (a browser's random probes) take no room.
  if (d.kind == capture::DnsOutcomeKind::kUnanswered) return;
  const std::string key = KeyOf(BlockTransport::kDns, name, d.resolver);
  const bool judged_if_known =
      d.kind == capture::DnsOutcomeKind::kBogon || d.kind == capture::DnsOutcomeKind::kNxdomain;
  if (judged_if_known && !services_.contains(key)) return;
  Service* s = Find(key, BlockTransport::kDns, name, d.resolver, capture::kDnsPort, d.decided_ns);
  const bool resolved_here =
      std::find(s->resolvers.begin(), s->resolvers.end(), d.resolver) != s->resolvers.end();
  Failure f;
  f.start_ns = d.query_ns;
  f.answer_after_s = d.first.delay_s;
  f.qtype_bit = QtypeBit(d.qtype);
  switch (d.kind) {
    case capture::DnsOutcomeKind::kAnswered:
      if (d.first.rcode != 0 || d.first.address_count == 0 || d.bogon) return;  // no address
      if (!resolved_here) {
        if (s->resolvers.size() >= kMaxResolvers) s->resolvers.erase(s->resolvers.begin());
        s->resolvers.push_back(d.resolver);
      }
      OnAnswered(s, d.decided_ns, now_ns, f.qtype_bit);
      return;
    case capture::DnsOutcomeKind::kRacing:
      f.method = BlockMethod::kDnsInjection;
      f.racing = true;
      if (d.first.ip_ttl != 0 && d.second.ip_ttl != 0) {
        f.answer_ttl_delta = int16_t(int(d.first.ip_ttl) - int(d.second.ip_ttl));
      }
      f.resolver_after_s = d.second.delay_s;
      f.has_address = d.first.address_count > 0;
      f.address = d.first.addresses[0];
      break;
    case capture::DnsOutcomeKind::kBogon:
      if (!resolved_here) return;  // never answered publicly here: a split horizon, a filter
      f.method = BlockMethod::kDnsBogon;
      f.has_address = true;
      f.address = d.bogon_address;
      break;
    case capture::DnsOutcomeKind::kNxdomain:
      if (!resolved_here) return;  // a name that does not exist, or never did here
      f.method = BlockMethod::kDnsNxdomain;
      break;
    case capture::DnsOutcomeKind::kUnanswered:
      return;  // (returned above)
  }
  OnFailed(key, s, f, now_ns);
}

BlockDetector::Service* BlockDetector::Find(const std::string& key, BlockTransport t,
                                            std::string_view name, const capture::Address& remote,
                                            uint16_t port, int64_t seen_ns) {
  auto it = services_.find(key);
  if (it == services_.end()) {
    if (services_.size() >= params_.max_services) EvictOne();
    it = services_.emplace(key, Service{}).first;
    Service& s = it->second;
    s.name = std::string(name);
    s.transport = t;
  }
  Service& s = it->second;
  s.remote = remote;
  s.remote_port = port;
  s.last_seen_ns = std::max(s.last_seen_ns, seen_ns);
  return &s;
}

void BlockDetector::EvictOne() {
  auto victim = services_.end();
  for (auto it = services_.begin(); it != services_.end(); ++it) {
    if (it->second.id == 0 &&
        (victim == services_.end() || it->second.last_seen_ns < victim->second.last_seen_ns)) {
      victim = it;
    }
  }
  if (victim == services_.end()) victim = services_.begin();  // every one blocked
  services_.erase(victim);
}

void BlockDetector::OnAnswered(Service* s, int64_t ok_ns, int64_t now_ns, uint8_t qtype_bit) {
  // The block was lifted by then, and whatever failed from before then is stale.
  s->worked = true;
  s->last_ok_ns = std::max(s->last_ok_ns, ok_ns);
  if (qtype_bit != 0) {
    int64_t& t = s->last_ok_by_type[QtypeIndex(qtype_bit)];
    t = std::max(t, ok_ns);
  }
  std::erase_if(s->chain, [&](const Failure& x) {
    return x.start_ns < ok_ns && (qtype_bit == 0 || x.qtype_bit == qtype_bit);
  });
  if (!waiting_.empty()) RetryWaiting(*s, ok_ns, now_ns);
  if (s->id == 0 || ok_ns <= s->block_start_ns) return;
  if (qtype_bit != 0 && (s->block_types & qtype_bit) == 0) return;  // another type's answer
  Event e = s->start;
  e.state = EventState::kEnd;
  e.ts = Seconds(ok_ns);
  e.detected_at = Seconds(std::max(now_ns, ok_ns));
  e.duration_s = Seconds(ok_ns - s->block_start_ns);
  e.reason = "lifted";
  e.block.attempts += 1;  // this one, which worked
  sink_->OnEvent(e);
  s->id = 0;
  s->chain.clear();
}

void BlockDetector::AddFailure(const Failure& f, BlockEvidence* b) {
  ++b->attempts;
  ++b->failures;
  b->resets_ttl_mismatch += f.ttl_mismatch ? 1 : 0;
  b->resets_too_fast += f.too_fast ? 1 : 0;
  if (f.reset) {
    b->reset_after_s = f.reset_after_s;
    if (f.reset_ttl_delta != Opening::kNoTtl) b->reset_ttl_delta = f.reset_ttl_delta;
  }
  if (f.handshake_rtt_s >= 0) b->handshake_rtt_s = f.handshake_rtt_s;
  if (f.racing) {
    ++b->answers_racing;
    b->resolver_after_s = f.resolver_after_s;
    if (f.answer_ttl_delta != Opening::kNoTtl && f.answer_ttl_delta != 0) {
      ++b->answers_ttl_mismatch;
      b->answer_ttl_delta = f.answer_ttl_delta;
    }
  }
  if (f.answer_after_s >= 0) b->answer_after_s = f.answer_after_s;
  if (f.http_status != 0) {
    b->http_status = f.http_status;
    b->page_ttl_delta = f.page_ttl_delta;
  }
  if (f.has_address) {
    b->has_forged_address = true;
    b->forged_address = f.address;
  }
}

void BlockDetector::OnFailed(const std::string& key, Service* s, const Failure& f, int64_t now_ns) {
  // Started before the service (for DNS: the name, that query type) last answered: stale.
  if (f.start_ns <
      (f.qtype_bit != 0 ? s->last_ok_by_type[QtypeIndex(f.qtype_bit)] : s->last_ok_ns)) {
    return;
  }
  s->last_failed_ns = std::max(s->last_failed_ns, now_ns);
  if (s->id != 0) {
    s->block_types |= f.qtype_bit;
    AddFailure(f, &s->start.block);
    return;
  }
  auto at = std::upper_bound(s->chain.begin(), s->chain.end(), f.start_ns,
                             [](int64_t t, const Failure& x) { return t < x.start_ns; });
  s->chain.insert(at, f);
  const int64_t oldest = s->chain.back().start_ns - int64_t(params_.window_s * 1e9);
  std::erase_if(s->chain, [&](const Failure& x) { return x.start_ns < oldest; });
  TryStart(key, s, now_ns);
}

void BlockDetector::RetryWaiting(const Service& w, int64_t ok_ns, int64_t now_ns) {
  const std::vector<std::string> keys = std::move(waiting_);
  waiting_.clear();
  for (const std::string& key : keys) {
    const auto it = services_.find(key);
    if (it == services_.end() || it->second.id != 0) continue;  // evicted, or started
    Service& s = it->second;
    if (&s == &w || s.transport != w.transport) {
      waiting_.push_back(key);
    } else if (ok_ns <= s.last_failed_ns) {
      TryStart(key, &s, now_ns);  // waits again if still without a witness
    }
    // else: an answer after its last failure: later ones will be too. A new failure makes it
    // wait again.
  }
}

int BlockDetector::Witnesses(const Service& s, int64_t since_ns, bool* same_address) const {
  std::set<std::string> seen;  // a name's and its address's service are one witness
  *same_address = false;
  for (const auto& [key, w] : services_) {
    if (&w == &s || w.transport != s.transport || !w.worked || w.last_ok_ns < since_ns) continue;
    if (w.name.empty() && w.named_ok) continue;  // counted by its names
    seen.insert(key);
    if (w.remote == s.remote) *same_address = true;
  }
  return int(seen.size());
}

void BlockDetector::TryStart(const std::string& key, Service* s, int64_t now_ns) {
  // Attempts: failures started apart (a client's parallel connections, opened together, are
  // one attempt of its user).
  std::vector<int64_t> attempts;
  for (const Failure& f : s->chain) {
    if (attempts.empty() || f.start_ns - attempts.back() >= kSameAttemptNs) {
      attempts.push_back(f.start_ns);
    }
  }
  if (int(attempts.size()) < params_.min_failures) return;
  // Other services answered after the last attempt but one began: the link worked between the
  // service's failing attempts, not only around the first of them (a path that stalls for
  // everything but a connection that slipped through as it began is no block).
  bool same_address = false;
  const int witnesses = Witnesses(*s, attempts[attempts.size() - 2], &same_address);
  if (witnesses == 0) {  // nothing else worked meanwhile (yet): the link, not this service
    if (std::find(waiting_.begin(), waiting_.end(), key) == waiting_.end()) {
      waiting_.push_back(key);
    }
    return;
  }
  std::erase(waiting_, key);
  Start(s, witnesses, same_address, now_ns);
}

void BlockDetector::Start(Service* s, int witnesses, bool same_address, int64_t now_ns) {
  std::array<int, kBlockMethods> counts{};
  Event e;
  e.kind = EventKind::kBlock;
  e.state = EventState::kStart;
  e.id = (*next_id_)++;
  e.ts = Seconds(s->chain.front().start_ns);
  e.detected_at = Seconds(now_ns);
  e.scope = EventScope::kRemoteHost;
  e.direction = capture::kUp;
  e.server_name = s->name;
  e.has_remote = true;
  e.remote = s->remote;
  e.targeted = true;
  BlockEvidence& b = e.block;
  s->block_types = 0;
  for (const Failure& f : s->chain) {
    ++counts[size_t(f.method)];
    s->block_types |= f.qtype_bit;
    AddFailure(f, &b);
  }
  b.method = MostCommon(counts);
  b.remote_port = s->remote_port;
  b.transport = s->transport;
  b.witnesses = witnesses;
  b.same_address_ok = same_address;
  b.worked_before = s->worked;
  e.flows = b.failures;
  e.confidence = Confidence(b);
  s->id = e.id;
  s->block_start_ns = s->chain.front().start_ns;
  s->start = e;
  s->chain.clear();
  sink_->OnEvent(e);
}

}  // namespace tw::detector
