#include "capture/binner.h"

#include <algorithm>

namespace tw::capture {

namespace {
void Add(DirectionBin* to, const DirectionBin& from) {
  to->wire_bytes += from.wire_bytes;
  to->payload_bytes += from.payload_bytes;
  to->retrans_bytes += from.retrans_bytes;
  to->packets += from.packets;
  to->data_packets += from.data_packets;
  to->zero_window = to->zero_window || from.zero_window;
}

int64_t FloorTo(int64_t t, int64_t width) {
  const int64_t q = t / width;
  return (q * width > t ? q - 1 : q) * width;
}
}  // namespace

Binner::Binner(const BinnerParams& params, LocalNetworks local, BinSink* sink)
    : p_(params), local_(std::move(local)), sink_(sink), table_(params.max_flows) {
  if (p_.bin_ns <= 0) p_.bin_ns = 1'000'000'000;
  scratch_.reserve(table_.capacity());
}

BinnedPacket Binner::OnPacket(int64_t ts_ns, uint32_t wire_len, const DecodedPacket& p) {
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
  if (e == nullptr) e = FindOrCreate(key, src_is_a, src_local, ts_ns, p);
  FlowState& f = e->value;
  f.bin.last_ns = std::max(f.bin.last_ns, ts_ns);
  f.seen_in_bin = true;
  ++f.packets_total;

  DirectionBin& b = f.bin.dir[d];
  b.wire_bytes += wire_len;
  b.payload_bytes += p.payload_len;
  ++b.packets;
  if (p.payload_len > 0) ++b.data_packets;

  uint32_t retrans = 0;
  if (p.ip_proto == 6) {
    const uint8_t fl = p.tcp_flags;
    if (fl & kTcpSyn) {
      f.seq[d].OnSyn(p.tcp_seq);
      if (!(fl & kTcpAck)) {
        if (f.syn_ns == 0) f.syn_ns = ts_ns;
      } else if (f.synack_ns == 0) {
        f.synack_ns = ts_ns;
      }
    } else {
      retrans = f.seq[d].OnSegment(p.tcp_seq, p.payload_len);
      b.retrans_bytes += retrans;
      if ((fl & kTcpAck) && f.syn_ns != 0 && f.synack_ns != 0 && f.bin.handshake_rtt_s < 0) {
        f.bin.handshake_rtt_s = double(ts_ns - f.syn_ns) * 1e-9;
      }
      // The sender of this packet advertises its receive window: a zero window stalls the
      // data flowing towards it, i.e. the opposite direction.
      if (p.tcp_window == 0 && !(fl & kTcpRst)) f.bin.dir[1 - d].zero_window = true;
    }
    if (fl & (kTcpFin | kTcpRst)) f.bin.closed = true;
  }

  DirectionBin& lb = link_.dir[d];
  lb.wire_bytes += wire_len;
  lb.payload_bytes += p.payload_len;
  ++lb.packets;
  if (p.payload_len > 0) ++lb.data_packets;
  const bool icmp_error = (p.ip_proto == 1 && (p.src_port == 3 || p.src_port == 11)) ||
                          (p.ip_proto == 58 && (p.src_port == 1 || p.src_port == 3));
  if (icmp_error) {
    ++link_.icmp_errors[d];
  } else {
    if (link_.first_ns[d] == 0) link_.first_ns[d] = ts_ns;
    link_.last_ns[d] = std::max(link_.last_ns[d], ts_ns);
  }
  return {&f.bin.info, d, retrans};
}

Binner::Table::Entry* Binner::FindOrCreate(const FlowKey& key, bool src_is_a, bool src_local,
                                           int64_t ts_ns, const DecodedPacket& p) {
  if (table_.full()) Evict();
  Table::Entry* e = table_.Insert(key);
  FlowInfo& info = e->value.bin.info;
  info.id = next_id_++;
  info.key = key;
  info.local_is_a = src_is_a == src_local;
  info.first_ns = ts_ns;
  // A SYN-ACK first means we missed the SYN: the other side initiated.
  const bool synack = p.ip_proto == 6 && (p.tcp_flags & kTcpSyn) && (p.tcp_flags & kTcpAck);
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

void Binner::AdvanceTo(int64_t ts_ns) {
  if (!open_) {
    bin_start_ = FloorTo(ts_ns, p_.bin_ns);
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
      bin_start_ = FloorTo(ts_ns, p_.bin_ns);
      break;
    }
  }
}

void Binner::CloseBin() {
  scratch_.clear();
  for (size_t i = 0; i < table_.size(); ++i) {
    FlowState& f = table_.at(i).value;
    scratch_.push_back(f.bin);
    if (f.seen_in_bin) ++link_.active_flows;
    link_.dir[kUp].retrans_bytes += f.bin.dir[kUp].retrans_bytes;
    link_.dir[kDown].retrans_bytes += f.bin.dir[kDown].retrans_bytes;
  }
  sink_->OnBin(bin_start_, p_.bin_ns, scratch_, link_);
  link_ = LinkBin{};
  const int64_t end = bin_start_ + p_.bin_ns;
  for (size_t i = table_.size(); i-- > 0;) {
    FlowState& f = table_.at(i).value;
    Add(&f.totals.dir[kUp], f.bin.dir[kUp]);
    Add(&f.totals.dir[kDown], f.bin.dir[kDown]);
    f.bin.dir[kUp] = DirectionBin{};
    f.bin.dir[kDown] = DirectionBin{};
    f.seen_in_bin = false;
    const int64_t idle = end - f.bin.last_ns;
    if (f.bin.closed && idle > p_.closed_linger_ns) {
      EndFlow(i, FlowEnd::kClosed);
    } else if (idle > p_.idle_timeout_ns) {
      EndFlow(i, FlowEnd::kIdle);
    }
  }
}

void Binner::EndFlow(size_t pos, FlowEnd why) {
  FlowState& f = table_.at(pos).value;
  Add(&f.totals.dir[kUp], f.bin.dir[kUp]);
  Add(&f.totals.dir[kDown], f.bin.dir[kDown]);
  f.bin.dir[kUp] = DirectionBin{};
  f.bin.dir[kDown] = DirectionBin{};
  f.totals.last_ns = f.bin.last_ns;
  f.totals.handshake_rtt_s = f.bin.handshake_rtt_s;
  f.totals.closed = f.bin.closed;
  f.totals.end = why;
  sink_->OnFlowEnd(f.bin.info, f.totals);
  table_.EraseAt(pos);
}

void Binner::Finish() {
  if (!open_) return;
  CloseBin();
  while (table_.size() > 0) EndFlow(table_.size() - 1, FlowEnd::kEndOfInput);
  open_ = false;
}

}  // namespace tw::capture
