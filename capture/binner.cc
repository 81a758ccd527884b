#include "capture/binner.h"

#include <algorithm>
#include <cmath>

#include "capture/ip_proto.h"
#include "util/floor_div.h"

namespace tw::capture {
namespace {

// *to += v, held at UINT32_MAX.
void AddSaturating(uint32_t* to, uint64_t v) {
  *to = uint32_t(std::min<uint64_t>(uint64_t(*to) + v, UINT32_MAX));
}

}  // namespace

Binner::Binner(const BinnerParams& params, LocalNetworks local, BinSink* sink)
    : p_(params), local_(std::move(local)), sink_(sink), table_(params.max_flows) {
  if (p_.bin_ns <= 0) p_.bin_ns = 1'000'000'000;
  bins_.reserve(table_.capacity());
}

size_t Binner::EntryBytes() {
  static_assert(sizeof(Table::Entry) <= 256, "a flow's table entry grew past 256 bytes");
  return sizeof(Table::Entry);
}

size_t Binner::BytesPerFlow() {
  return EntryBytes() + Table::kMaxSlotBytesPerEntry + sizeof(FlowBin);
}

BinnedPacket Binner::Lookup(const DecodedPacket& p) {
  const bool src_local = local_.Contains(p.src);
  if (src_local == local_.Contains(p.dst)) return {};
  bool src_is_a = false;
  Table::Entry* e = table_.Find(MakeFlowKey(p, &src_is_a));
  if (e == nullptr) return {};
  return {&bins_[table_.PositionOf(e)].info, src_local ? kUp : kDown, 0, &e->value.user};
}

BinnedPacket Binner::OnPacket(int64_t ts_ns, uint32_t wire_len, const DecodedPacket& p,
                              uint64_t new_flow_id) {
  ++stats_.packets;
  const bool src_local = local_.Contains(p.src);
  const bool dst_local = local_.Contains(p.dst);
  if (src_local == dst_local) {
    ++(src_local ? stats_.local_to_local : stats_.not_local);
    return {};
  }
  AdvanceTo(ts_ns);
  const Direction d = src_local ? kUp : kDown;

  bool src_is_a = false;
  const FlowKey key = MakeFlowKey(p, &src_is_a);
  Table::Entry* e = table_.Find(key);
  if (e == nullptr) {
    e = FindOrCreate(key, src_is_a, src_local, ts_ns, p);
    if (new_flow_id != 0) bins_[table_.PositionOf(e)].info.id = new_flow_id;
  }
  FlowState& f = e->value;
  FlowBin& fb = bins_[table_.PositionOf(e)];
  fb.last_ns = std::max(fb.last_ns, ts_ns);
  f.seen_in_bin = true;
  ++f.packets_total;

  DirectionBin& b = fb.dir[d];
  b.wire_bytes += wire_len;
  b.payload_bytes += p.payload_len;
  ++b.packets;
  if (p.payload_len > 0) ++b.data_packets;

  uint32_t retrans = 0;
  // A later fragment has no TCP header: its bytes count, its (zero) sequence number does not.
  if (p.ip_proto == kIpProtoTcp && !p.later_fragment) TrackTcp(ts_ns, p, d, &f, &fb, &retrans);
  if (p.payload_len > 0 && (p.ip_proto == kIpProtoTcp || p.ip_proto == kIpProtoUdp)) {
    TrackBusy(ts_ns, d, p.payload_len, retrans, &f, &fb);
  }
  const bool icmp_error = (p.ip_proto == kIpProtoIcmp && (p.src_port == 3 || p.src_port == 11)) ||
                          (p.ip_proto == kIpProtoIcmpv6 && (p.src_port == 1 || p.src_port == 3));
  TrackDemand(ts_ns, p, d, icmp_error, retrans, &f, &fb);

  DirectionBin& lb = link_.dir[d];
  lb.wire_bytes += wire_len;
  lb.payload_bytes += p.payload_len;
  ++lb.packets;
  if (p.payload_len > 0) ++lb.data_packets;
  if (icmp_error) {
    ++link_.icmp_errors[d];
  } else {
    // The earliest, not the first to arrive: a late packet may be older.
    if (link_.first_ns[d] == 0 || ts_ns < link_.first_ns[d]) link_.first_ns[d] = ts_ns;
    link_.last_ns[d] = std::max(link_.last_ns[d], ts_ns);
  }
  return {&fb.info, d, retrans, &f.user};
}

void Binner::TrackTcp(int64_t ts_ns, const DecodedPacket& p, Direction d, FlowState* fp,
                      FlowBin* bin, uint32_t* retrans) {
  FlowState& f = *fp;
  FlowBin& fb = *bin;
  const uint8_t fl = p.tcp_flags;
  const Direction other = d == kUp ? kDown : kUp;
  if (fl & kTcpSyn) {
    f.seq[d].OnSyn(p.tcp_seq);
    f.wscale[d] = p.tcp_wscale;
    if (!(fl & kTcpAck)) {
      if (f.syn_ns == 0) f.syn_ns = ts_ns;
    } else if (f.synack_ns == 0) {
      f.synack_ns = ts_ns;
    }
  } else {
    *retrans = f.seq[d].OnSegment(p.tcp_seq, p.payload_len);
    fb.dir[d].retrans_bytes += *retrans;
    if ((fl & kTcpAck) && f.syn_ns != 0 && f.synack_ns != 0 && fb.handshake_rtt_s < 0 &&
        ts_ns >= f.syn_ns) {  // time running backwards gives no (negative) handshake RTT
      fb.handshake_rtt_s = double(ts_ns - f.syn_ns) * 1e-9;
      OnRttSample(fb.handshake_rtt_s, &f, &fb);
    }
    // The sender of this packet advertises its receive window for the data flowing towards
    // it, i.e. the opposite direction. Scaling applies only when both SYNs carried it.
    if (!(fl & kTcpRst)) {
      DirectionBin& rev = fb.dir[other];
      if (p.tcp_window == 0) rev.zero_window = true;
      if (f.wscale[kUp] != 0xff && f.wscale[kDown] != 0xff) {
        const uint32_t rwnd = uint32_t(p.tcp_window) << std::min<uint8_t>(f.wscale[d], 14);
        rev.rwnd_min = std::min(rev.rwnd_min, rwnd);
      }
    }
  }
  if (fl & kTcpAck) {
    // This ACK acknowledges the other direction's data: what is left is in flight.
    f.high_ack[d] = p.tcp_ack;
    f.ack_valid[d] = true;
  }
  for (Direction x : {kUp, kDown}) {
    const Direction acker = x == kUp ? kDown : kUp;
    if (f.seq[x].valid() && f.ack_valid[acker]) {
      const int32_t in_flight = static_cast<int32_t>(f.seq[x].high() - f.high_ack[acker]);
      if (in_flight > 0) {
        fb.dir[x].in_flight_max = std::max(fb.dir[x].in_flight_max, uint32_t(in_flight));
      }
    }
  }
  int64_t rtt_ns = 0;
  if (d == kUp) {
    f.rtt.OnLocal(ts_ns, p.tcp_has_ts, p.tcp_ts_val, p.tcp_seq + p.payload_len, p.payload_len,
                  *retrans > 0);
  } else {
    rtt_ns = f.rtt.OnRemote(ts_ns, p.tcp_has_ts, p.tcp_ts_ecr, p.tcp_ack, fl & kTcpAck);
  }
  if (rtt_ns > 0) {
    RttBin& r = fb.rtt;
    const float s = float(double(rtt_ns) * 1e-9);
    r.min_s = r.samples == 0 ? s : std::min(r.min_s, s);
    r.max_s = std::max(r.max_s, s);
    r.sum_s += s;
    ++r.samples;
    OnRttSample(double(rtt_ns) * 1e-9, &f, &fb);
  }
  if (fl & (kTcpFin | kTcpRst)) fb.closed = true;
}

void Binner::OnRttSample(double rtt_s, FlowState* f, FlowBin* bin) {
  // RFC 6298 section 2: the first sample sets SRTT and RTTVAR = R/2; later ones are smoothed
  // with alpha = 1/8, beta = 1/4; RTO = SRTT + 4 RTTVAR, at least 1 s, at most 60 s.
  if (f->srtt_s == 0) {
    f->srtt_s = float(rtt_s);
    f->rttvar_s = float(rtt_s / 2);
  } else {
    f->rttvar_s = 0.75f * f->rttvar_s + 0.25f * std::abs(f->srtt_s - float(rtt_s));
    f->srtt_s = 0.875f * f->srtt_s + 0.125f * float(rtt_s);
  }
  bin->demand.rto_s = std::clamp(f->srtt_s + 4 * f->rttvar_s, 1.0f, 60.0f);
}

void Binner::TrackBusy(int64_t ts_ns, Direction d, uint32_t payload, uint32_t retrans, FlowState* f,
                       FlowBin* bin) {
  const uint32_t now_us = uint32_t(uint64_t(ts_ns) / 1000);
  const uint32_t gap_us = now_us - f->last_data_us[d];  // modulo 2^32
  const bool first = f->last_data_us[d] == 0 && f->log2_gap[d] == 0;
  // Time running backwards (a gap "longer than half the modulus") leaves the last packet be.
  if (!first && gap_us > UINT32_MAX / 2) return;
  f->last_data_us[d] = now_us;
  if (first) return;
  BusyBin& b = bin->busy[d];
  if (gap_us == 0) {  // the same microsecond: part of the burst under way, no time of its own
    AddSaturating(&b.bytes, payload);
    return;
  }
  const double gap_ns = double(gap_us) * 1e3;
  const double g = std::clamp(std::log2(gap_ns) * 256, 1.0, 65535.0);  // as log2_gap keeps it
  // At most four times the typical gap: two doublings more, 512 in these units.
  const bool typical = f->log2_gap[d] != 0 && g <= f->log2_gap[d] + 512.0;
  if (retrans > 0 || typical || gap_ns <= std::max(double(kMinPauseNs), 2e9 * double(f->srtt_s))) {
    AddSaturating(&b.us, gap_us);
    AddSaturating(&b.bytes, payload);
  }
  // Every gap moves the typical one, pauses too: a flow held to a low rate has long gaps, and
  // after a few of them they are its typical gap, not pauses.
  const double avg = f->log2_gap[d] == 0 ? g : f->log2_gap[d] + 0.25 * (g - f->log2_gap[d]);
  f->log2_gap[d] = uint16_t(std::lround(avg));
}

void Binner::TrackDemand(int64_t ts_ns, const DecodedPacket& p, Direction d, bool icmp_error,
                         uint32_t retrans, FlowState* f, FlowBin* bin) {
  // A reply may lag what it answers by a delayed acknowledgement, at most 0.5 s (RFC 1122
  // 4.2.3.2; QUIC's max_ack_delay is 25 ms by default): a datagram sent sooner after the
  // peer's last one may be such a reply, not a request.
  constexpr int64_t kMaxAckDelayNs = 500'000'000;
  Demand& dm = bin->demand;
  if (d == kDown) {
    if (icmp_error) return;  // a router that cannot deliver is not the remote answering
    dm = Demand{.rto_s = dm.rto_s};
    f->last_down_ns = ts_ns;
    f->answered = true;
    return;
  }
  if (!f->remote_routable) return;
  const bool waited = dm.since_ns != 0 && ts_ns - dm.since_ns >= kMinRetryWaitNs;
  bool ask = false, again = false;
  if (p.ip_proto == kIpProtoTcp) {
    const bool syn = (p.tcp_flags & kTcpSyn) && !(p.tcp_flags & kTcpAck);
    const bool fin = (p.tcp_flags & kTcpFin) != 0;
    ask = syn || fin || p.payload_len > 0;
    // TrackTcp has noted this SYN already: an earlier one makes it a repeat.
    again = retrans > 0 || (syn && f->syn_ns < ts_ns) || (fin && f->fin_sent);
    if (fin) f->fin_sent = true;
  } else if (p.ip_proto == kIpProtoUdp) {
    const bool query = p.dst_port == kDnsPort || p.dst_port == kNtpPort;
    ask = p.payload_len > 0 && (query || (f->answered && ts_ns - f->last_down_ns > kMaxAckDelayNs));
    again = waited;
  } else if (p.ip_proto == kIpProtoIcmp || p.ip_proto == kIpProtoIcmpv6) {
    // The ICMP type is in src_port: echo request 8 (ICMP) or 128 (ICMPv6).
    ask = p.src_port == (p.ip_proto == kIpProtoIcmp ? 8 : 128);
    again = waited;
  }
  if (!ask) return;
  if (dm.since_ns == 0) {
    dm = Demand{.since_ns = ts_ns, .rto_s = dm.rto_s};
  } else if (again) {
    dm.retried = true;
  }
  dm.last_ask_ns = std::max(dm.last_ask_ns, ts_ns);
  if (dm.asks < UINT32_MAX) ++dm.asks;
}

Binner::Table::Entry* Binner::FindOrCreate(const FlowKey& key, bool src_is_a, bool src_local,
                                           int64_t ts_ns, const DecodedPacket& p) {
  if (table_.full()) Evict();
  Table::Entry* e = table_.Insert(key);
  bins_.emplace_back();
  FlowInfo& info = bins_.back().info;
  info.id = next_id_++;
  info.key = key;
  info.local_is_a = src_is_a == src_local;
  info.first_ns = ts_ns;
  info.tunnels = p.tunnels;
  e->value.remote_routable = info.remote().IsRoutableUnicast();
  // A SYN-ACK first means we missed the SYN: the other side initiated.
  const bool synack =
      p.ip_proto == kIpProtoTcp && (p.tcp_flags & kTcpSyn) && (p.tcp_flags & kTcpAck);
  info.local_initiated = synack ? !src_local : src_local;
  ++stats_.flows_created;
  return e;
}

void Binner::Evict() {
  // Sample a few flows and evict the one with the fewest packets: floods of one-packet flows
  // are evicted first and long-lived flows, which carry the evidence, survive.
  constexpr int kSamples = 8;
  size_t victim = 0;
  uint64_t fewest = UINT64_MAX;
  for (int i = 0; i < kSamples; ++i) {
    evict_cursor_ = evict_cursor_ * 6364136223846793005ULL + 1442695040888963407ULL;
    const size_t pos = size_t(evict_cursor_ >> 33) % table_.size();
    const uint64_t n = table_.at(pos).value.packets_total;
    if (n < fewest) fewest = n, victim = pos;
  }
  ++stats_.flows_evicted;
  EndFlow(victim, FlowEnd::kEvicted);
}

void Binner::FlushEnds() {
  std::sort(ended_.begin(), ended_.end(),
            [](const Ended& a, const Ended& b) { return a.info.id < b.info.id; });
  for (const Ended& e : ended_) sink_->OnFlowEnd(e.info, e.totals);
  ended_.clear();
}

void Binner::AdvanceTo(int64_t ts_ns) {
  if (!ended_.empty()) FlushEnds();  // an eviction by the previous packet
  if (!open_) {
    bin_start_ = util::FloorTo(ts_ns, p_.bin_ns);
    open_ = true;
    return;
  }
  if (ts_ns < bin_start_) {
    ++stats_.time_backwards;
    return;
  }
  int64_t empty = 0;
  while (ts_ns >= bin_start_ + p_.bin_ns) {
    CloseBin();
    bin_start_ += p_.bin_ns;
    if (++empty > p_.max_empty_bins && ts_ns >= bin_start_ + p_.bin_ns) {
      // A capture gap (or a timestamp jump): end every flow and restart at the new time.
      ++stats_.gaps_skipped;
      while (table_.size() > 0) EndFlow(table_.size() - 1, FlowEnd::kCaptureGap);
      bin_start_ = util::FloorTo(ts_ns, p_.bin_ns);
      break;
    }
  }
  if (!ended_.empty()) FlushEnds();
}

void Binner::CloseBin() {
  FlushEnds();  // evictions and capture gaps since the last bin come before it
  for (size_t i = 0; i < table_.size(); ++i) {
    if (table_.at(i).value.seen_in_bin) ++link_.active_flows;
    link_.dir[kUp].retrans_bytes += bins_[i].dir[kUp].retrans_bytes;
    link_.dir[kDown].retrans_bytes += bins_[i].dir[kDown].retrans_bytes;
  }
  sink_->OnBin(bin_start_, p_.bin_ns, bins_, link_);
  link_ = LinkBin{};
  const int64_t end = bin_start_ + p_.bin_ns;
  for (size_t i = table_.size(); i-- > 0;) {
    FlowState& f = table_.at(i).value;
    FlowBin& fb = bins_[i];
    Accumulate(&f.totals[kUp], fb.dir[kUp]);
    Accumulate(&f.totals[kDown], fb.dir[kDown]);
    fb.dir[kUp] = DirectionBin{};
    fb.dir[kDown] = DirectionBin{};
    fb.busy[kUp] = BusyBin{};
    fb.busy[kDown] = BusyBin{};
    fb.rtt = RttBin{};
    f.seen_in_bin = false;
    const int64_t idle = end - fb.last_ns;
    if (fb.closed && idle > p_.closed_linger_ns) {
      EndFlow(i, FlowEnd::kClosed);
    } else if (idle > p_.idle_timeout_ns) {
      EndFlow(i, FlowEnd::kIdle);
    }
  }
}

void Binner::EndFlow(size_t pos, FlowEnd why) {
  FlowState& f = table_.at(pos).value;
  const FlowBin& fb = bins_[pos];
  FlowTotals totals;
  for (Direction d : {kUp, kDown}) {
    totals.dir[d] = f.totals[d];
    Accumulate(&totals.dir[d], fb.dir[d]);
  }
  totals.last_ns = fb.last_ns;
  totals.handshake_rtt_s = fb.handshake_rtt_s;
  totals.closed = fb.closed;
  totals.end = why;
  ended_.push_back({fb.info, totals});
  table_.EraseAt(pos);
  // The table moved its last entry into `pos`: the open bins follow.
  if (pos + 1 != bins_.size()) bins_[pos] = bins_.back();
  bins_.pop_back();
}

void Binner::Finish() {
  if (!open_) return;
  CloseBin();
  while (table_.size() > 0) EndFlow(table_.size() - 1, FlowEnd::kEndOfInput);
  FlushEnds();
  open_ = false;
}

}  // namespace tw::capture
