#include "detector/pipeline/sharded_analysis.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include "capture/ip_proto.h"
#include "util/channel.h"
#include "util/floor_div.h"
#include "util/hash.h"

namespace tw::detector {

namespace {

using capture::DecodedPacket;
using capture::FlowBin;
using capture::FlowInfo;
using capture::FlowTotals;
using capture::LinkBin;

// Packets per batch from the reader to a shard, and batches in circulation per shard (the
// reader waits when a shard has them all): ~450 KB each. Fewer, larger batches mean fewer
// thread wake-ups, which cost much on a virtual machine (1024 per batch was 20 % slower).
constexpr size_t kBatchItems = 4096;
constexpr size_t kBatchesPerShard = 8;
// Messages in circulation per shard between it and the merger. A message carries the bins a
// shard closed while it worked through a batch, up to kBinsPerMessage and, beyond its first
// bin, no more flow bins than it has room for: a tick across a quiet stretch of a sparse
// capture closes thousands of bins, and handing them over one by one (two thread wake-ups per
// bin and shard) cost 30 times the whole analysis (2.4 s for 629 packets over 15 days).
constexpr size_t kMessagesPerShard = 4;
constexpr size_t kBinsPerMessage = 256;
constexpr size_t kFlowBinsPerMessage = 256;  // reserved; grows for a bin of more flows

uint64_t EndpointHash(const capture::Address& a, uint16_t port) {
  uint64_t w[3] = {0, 0, port};
  std::memcpy(w, a.bytes.data(), 16);
  return util::HashWords(w);
}

// The shard of a packet's flow: the same for both directions (a symmetric hash of the
// endpoints, with ports where MakeFlowKey uses them).
size_t ShardOf(const DecodedPacket& d, size_t shards) {
  const bool has_ports = capture::HasPorts(d.ip_proto);
  const uint64_t h = EndpointHash(d.src, has_ports ? d.src_port : 0) ^
                     EndpointHash(d.dst, has_ports ? d.dst_port : 0);
  return size_t(util::Mix64(h) >> 32) % shards;
}

// One link bin from the shards' shares of it.
void AddLink(LinkBin* to, const LinkBin& from) {
  for (int d = 0; d < 2; ++d) {
    capture::Accumulate(&to->dir[d], from.dir[d]);
    to->icmp_errors[d] += from.icmp_errors[d];
    if (from.first_ns[d] != 0 && (to->first_ns[d] == 0 || from.first_ns[d] < to->first_ns[d])) {
      to->first_ns[d] = from.first_ns[d];
    }
    to->last_ns[d] = std::max(to->last_ns[d], from.last_ns[d]);
  }
  to->active_flows += from.active_flows;
}

}  // namespace

struct ShardedAnalysis::Batch {
  struct Item {  // the 8-byte fields first: 112 bytes, not 120 with the packet first
    int64_t ts_ns = 0;
    uint64_t index = 0;  // 0: a clock tick at ts_ns, no packet
    DecodedPacket d;
    uint32_t wire_len = 0;
    uint32_t name_at = 0,
             name_len = 0;  // the payload, copied into `bytes`, for ServerNames and the DNS tracker
  };
  static_assert(sizeof(Item) == 112);
  static_assert(std::is_aggregate_v<Item> && std::is_trivially_destructible_v<Item>);
  struct Free {
    void operator()(Item* p) const { std::free(p); }
  };
  // kBatchItems slots, allocated once and never initialised: an item is written field by field
  // when it is appended (zeroing 112 bytes per packet was a third of the reader's cost of
  // handing it over), and the memory is touched only as slots are first used (value-
  // initialising every batch at start-up was half of a replay's fixed cost). Item is an
  // aggregate, an implicit-lifetime type: malloc's storage holds Items without a constructor.
  std::unique_ptr<Item[], Free> items{Allocate()};
  size_t size = 0;  // items in use
  std::vector<uint8_t> bytes;
  bool last = false;  // the input ended

  Item& Append() { return items[size++]; }
  bool full() const { return size == kBatchItems; }

 private:
  static Item* Allocate() {
    void* p = std::malloc(kBatchItems * sizeof(Item));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<Item*>(p);
  }
};

// From a shard to the merger: closed bins, in order, each with the flows that ended since the
// shard's previous bin, the names its packets taught (with the packet's index) and the
// openings and DNS outcomes it decided. The bins' flows, ends, names, openings and DNS outcomes
// lie in five vectors, each bin's
// after the previous one's, so that a message's memory is reserved once and stays what one bin
// needs at most.
struct ShardedAnalysis::Message {
  struct Bin {
    // One past its items in the vectors.
    size_t ends_end = 0, names_end = 0, openings_end = 0, dns_end = 0, flows_end = 0;
    bool has_bin = false;  // false: the shard's last word (its final flow ends)
    bool last = false;     // the shard is done: nothing follows
    int64_t start_ns = 0, width_ns = 0;
    LinkBin link;
  };
  std::vector<Bin> bins;
  std::vector<std::pair<FlowInfo, FlowTotals>> ends;
  std::vector<std::pair<uint64_t, capture::LearnedName>> names;
  std::vector<capture::Opening> openings;
  std::vector<capture::DnsOutcome> dns;
  std::vector<FlowBin> flows;

  Message() {
    bins.reserve(kBinsPerMessage);
    flows.reserve(kFlowBinsPerMessage);
  }
  void Clear() {
    bins.clear();
    ends.clear();
    names.clear();
    openings.clear();
    dns.clear();
    flows.clear();
  }
};

struct ShardedAnalysis::Shard final : public capture::BinSink,
                                      public capture::OpeningSink,
                                      public capture::DnsOutcomeSink {
  // `follow`: which outcomes the merger wants (the shard's own sinks stand in for them).
  Shard(const capture::BinnerParams& bp, const capture::LocalNetworks& local,
        const VerdictParams& vp, OutcomeSinks follow)
      : work(bp, local, this, NameTarget{nullptr, &names}, &vp,
             OutcomeSinks{follow.openings != nullptr ? this : nullptr,
                          follow.dns != nullptr ? this : nullptr}),
        full(kBatchesPerShard),
        free(kBatchesPerShard),
        out(kMessagesPerShard),
        out_free(kMessagesPerShard) {
    for (size_t i = 0; i < kBatchesPerShard; ++i) {
      batches.push_back(std::make_unique<Batch>());
      free.Push(batches.back().get());
    }
    for (size_t i = 0; i < kMessagesPerShard; ++i) {
      messages.push_back(std::make_unique<Message>());
      out_free.Push(messages.back().get());
    }
  }

  // The shard's thread: packets in, bins out, until the last batch.
  void Run() {
    for (bool last = false; !last;) {
      Batch* b = full.Pop();
      for (size_t i = 0; i < b->size; ++i) {
        const Batch::Item& it = b->items[i];
        if (it.index == 0) {
          work.AdvanceClock(it.ts_ns);
          continue;
        }
        // Only the payload of a packet that may name its server travels with it (name_len
        // bytes at name_at); the decoded offsets are made relative to that copy.
        DecodedPacket d = it.d;
        d.payload_offset = 0;
        work.OnPacket(it.ts_ns, it.wire_len, d, b->bytes.data() + it.name_at, it.name_len,
                      it.index);
      }
      last = b->last;
      b->size = 0;
      b->bytes.clear();
      b->last = false;
      free.Push(b);
      // Before waiting for more packets: the merger may be waiting for these bins.
      if (current != nullptr) Flush();
    }
    work.Finish();
    Message::Bin& end = Append({});
    end.last = true;
    Flush();
  }

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const FlowBin> flows,
             const LinkBin& link) override {
    // Into the message being filled if it has room without growing, else into a new one.
    if (current != nullptr && current->flows.size() + flows.size() > current->flows.capacity()) {
      Flush();
    }
    Message::Bin& bin = Append(flows);
    bin.has_bin = true;
    bin.start_ns = start_ns;
    bin.width_ns = width_ns;
    bin.link = link;
    if (current->bins.size() == kBinsPerMessage) Flush();
  }
  void OnFlowEnd(const FlowInfo& info, const FlowTotals& totals) override {
    ends.emplace_back(info, totals);
  }
  void OnOpening(const capture::Opening& o) override { openings.push_back(o); }
  void OnDnsOutcome(const capture::DnsOutcome& o) override { dns.push_back(o); }

  // A bin (or the last word) into the current message, with the ends, names and outcomes since
  // the previous one.
  Message::Bin& Append(std::span<const FlowBin> flows) {
    if (current == nullptr) current = out_free.Pop();
    Message& m = *current;
    m.ends.insert(m.ends.end(), ends.begin(), ends.end());
    for (auto& n : names) m.names.push_back(std::move(n));
    m.openings.insert(m.openings.end(), openings.begin(), openings.end());
    for (auto& o : dns) m.dns.push_back(std::move(o));
    m.flows.insert(m.flows.end(), flows.begin(), flows.end());
    ends.clear();
    names.clear();
    openings.clear();
    dns.clear();
    Message::Bin& bin = m.bins.emplace_back();
    bin.ends_end = m.ends.size();
    bin.names_end = m.names.size();
    bin.openings_end = m.openings.size();
    bin.dns_end = m.dns.size();
    bin.flows_end = m.flows.size();
    return bin;
  }
  void Flush() {
    out.Push(current);
    current = nullptr;
  }

  FlowWork work;                          // the shard's flows: its Binner and verdict tracker
  util::Channel<Batch*> full, free;       // reader -> shard, and back
  util::Channel<Message*> out, out_free;  // shard -> merger, and back
  std::vector<std::unique_ptr<Batch>> batches;
  std::vector<std::unique_ptr<Message>> messages;
  Batch* filling = nullptr;    // the reader's batch being filled
  Message* current = nullptr;  // the shard's message being filled; null: none taken
  // Since the shard's last bin: the flows that ended, the names its packets taught, the
  // openings and DNS outcomes it decided.
  std::vector<std::pair<FlowInfo, FlowTotals>> ends;
  std::vector<std::pair<uint64_t, capture::LearnedName>> names;
  std::vector<capture::Opening> openings;
  std::vector<capture::DnsOutcome> dns;
  std::thread thread;
};

// Takes the next bin of every shard per round (the shards close the same bins, so the n-th
// bins belong together) and hands the union to the sink; a shard's message goes back when its
// last bin is taken.
class ShardedAnalysis::Merger {
 public:
  Merger(std::vector<std::unique_ptr<Shard>>* shards, capture::BinSink* sink,
         capture::ServerNames* names, OutcomeSinks outcomes)
      : shards_(shards), sink_(sink), names_(names), outcomes_(outcomes) {}

  void Run() {
    struct Cursor {
      Message* m = nullptr;
      size_t next = 0;  // its next bin
    };
    std::vector<Cursor> c(shards_->size());
    for (bool last = false; !last;) {
      ends_.clear();
      names_found_.clear();
      decided_.clear();
      answered_.clear();
      for (size_t i = 0; i < c.size(); ++i) {
        if (c[i].m == nullptr) {
          c[i] = {(*shards_)[i]->out.Pop(), 0};
          ++handovers_;
        }
        const Message& m = *c[i].m;
        const size_t k = c[i].next;
        const size_t ends_from = k > 0 ? m.bins[k - 1].ends_end : 0;
        const size_t names_from = k > 0 ? m.bins[k - 1].names_end : 0;
        ends_.insert(ends_.end(), m.ends.begin() + ptrdiff_t(ends_from),
                     m.ends.begin() + ptrdiff_t(m.bins[k].ends_end));
        for (size_t j = names_from; j < m.bins[k].names_end; ++j) {
          names_found_.push_back(std::move(c[i].m->names[j]));
        }
        const size_t openings_from = k > 0 ? m.bins[k - 1].openings_end : 0;
        decided_.insert(decided_.end(), m.openings.begin() + ptrdiff_t(openings_from),
                        m.openings.begin() + ptrdiff_t(m.bins[k].openings_end));
        for (size_t j = k > 0 ? m.bins[k - 1].dns_end : 0; j < m.bins[k].dns_end; ++j) {
          answered_.push_back(std::move(c[i].m->dns[j]));
        }
      }
      std::sort(ends_.begin(), ends_.end(),
                [](const auto& a, const auto& b) { return a.first.id < b.first.id; });
      std::stable_sort(names_found_.begin(), names_found_.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      if (names_ != nullptr) {
        for (const auto& [index, n] : names_found_) names_->Learn(n);
      }
      if (outcomes_.openings != nullptr) {
        std::sort(decided_.begin(), decided_.end(),
                  [](const capture::Opening& a, const capture::Opening& b) {
                    return a.decided_ns != b.decided_ns ? a.decided_ns < b.decided_ns
                                                        : a.flow.id < b.flow.id;
                  });
        for (const capture::Opening& o : decided_) outcomes_.openings->OnOpening(o);
      }
      if (outcomes_.dns != nullptr) {
        std::sort(answered_.begin(), answered_.end(),
                  [](const capture::DnsOutcome& a, const capture::DnsOutcome& b) {
                    return a.decided_ns != b.decided_ns ? a.decided_ns < b.decided_ns
                                                        : a.flow_id < b.flow_id;
                  });
        for (const capture::DnsOutcome& o : answered_) outcomes_.dns->OnDnsOutcome(o);
      }
      for (const auto& [info, totals] : ends_) sink_->OnFlowEnd(info, totals);
      const Message::Bin& first = c[0].m->bins[c[0].next];
      if (first.has_bin) {
        flows_.clear();
        LinkBin link;
        for (const Cursor& x : c) {
          const Message::Bin& b = x.m->bins[x.next];
          assert(b.has_bin && b.start_ns == first.start_ns);
          const size_t from = x.next > 0 ? x.m->bins[x.next - 1].flows_end : 0;
          flows_.insert(flows_.end(), x.m->flows.begin() + ptrdiff_t(from),
                        x.m->flows.begin() + ptrdiff_t(b.flows_end));
          AddLink(&link, b.link);
        }
        sink_->OnBin(first.start_ns, first.width_ns, flows_, link);
      }
      last = first.last;
      for (size_t i = 0; i < c.size(); ++i) {
        assert(c[i].m->bins[c[i].next].last == last);
        if (++c[i].next < c[i].m->bins.size()) continue;
        c[i].m->Clear();
        (*shards_)[i]->out_free.Push(c[i].m);
        c[i] = {};
      }
    }
  }

  std::thread thread;
  uint64_t handovers_ = 0;  // messages taken from the shards

 private:
  std::vector<std::unique_ptr<Shard>>* shards_;
  capture::BinSink* sink_;
  capture::ServerNames* names_;
  OutcomeSinks outcomes_;
  std::vector<std::pair<FlowInfo, FlowTotals>> ends_;
  std::vector<std::pair<uint64_t, capture::LearnedName>> names_found_;
  std::vector<capture::Opening> decided_;
  std::vector<capture::DnsOutcome> answered_;
  std::vector<FlowBin> flows_;
};

ShardedAnalysis::ShardedAnalysis(const ShardedAnalysisParams& params, capture::LocalNetworks local,
                                 capture::BinSink* sink, capture::ServerNames* names,
                                 OutcomeSinks outcomes)
    : local_(std::move(local)),
      bin_ns_(params.binner.bin_ns > 0 ? params.binner.bin_ns : 1'000'000'000) {
  const size_t n = size_t(std::max(1, params.shards));
  capture::BinnerParams bp = params.binner;
  bp.max_flows = std::max<size_t>(1, (bp.max_flows + n - 1) / n);
  VerdictParams vp = params.verdict;
  vp.max_records_total = std::max<size_t>(1, (vp.max_records_total + n - 1) / n);
  for (size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(bp, local_, vp, outcomes));
  }
  merger_ = std::make_unique<Merger>(&shards_, sink, names, outcomes);
  for (auto& s : shards_) s->thread = std::thread([p = s.get()] { p->Run(); });
  merger_->thread = std::thread([m = merger_.get()] { m->Run(); });
}

ShardedAnalysis::~ShardedAnalysis() { Stop(); }

void ShardedAnalysis::Send(Shard* s) {
  s->full.Push(s->filling);
  s->filling = nullptr;
}

void ShardedAnalysis::OnPacket(int64_t ts_ns, uint32_t wire_len, const DecodedPacket& d,
                               const uint8_t* data, uint32_t caplen, uint64_t index) {
  const bool src_local = local_.Contains(d.src);
  const bool binned = src_local != local_.Contains(d.dst);
  // DNS between two local hosts (a resolver on the local side): no flow of the Binner's, but
  // the DNS tracker follows it (FlowWork), so it goes to a shard, whose Binner counts it.
  const bool local_dns = src_local && !binned && d.ip_proto == capture::kIpProtoUdp &&
                         (d.src_port == capture::kDnsPort || d.dst_port == capture::kDnsPort);
  if (!binned && !local_dns) {  // what the Binner would count and drop
    ++stats_.packets;
    ++(src_local ? stats_.local_to_local : stats_.not_local);
    return;
  }
  const auto append = [](Shard* s) -> Batch::Item& {
    if (s->filling == nullptr) s->filling = s->free.Pop();
    return s->filling->Append();
  };
  // The first packet of a later bin: every shard closes the bins before it now, as one Binner
  // would at this packet (each shard's own packets then stay within the open bin or before).
  // The tick goes out at once: the merger waits for every shard's bin, and a shard that gets
  // few packets would otherwise hold it (and, through the merger, the busy shards and this
  // reader) back.
  // (A packet the Binner drops does not move its clock.)
  const int64_t bin = util::FloorDiv(ts_ns, bin_ns_);
  if (binned && (!clock_started_ || bin > last_bin_)) {
    clock_started_ = true;
    last_bin_ = bin;
    for (auto& s : shards_) {
      Batch::Item& tick = append(s.get());
      tick.ts_ns = ts_ns;
      tick.index = 0;
      Send(s.get());
    }
  }
  Shard* s = shards_[ShardOf(d, shards_.size())].get();
  Batch::Item& it = append(s);
  it.d = d;
  it.ts_ns = ts_ns;
  it.index = index;
  it.wire_len = wire_len;
  it.name_at = it.name_len = 0;
  // The payload that names a server, a DNS query's (for the DNS tracker), or a port-80
  // response's status line (for the opening tracker's block pages).
  const bool has_payload = d.payload_len > 0 && d.payload_offset < caplen && !d.later_fragment;
  const bool dns_query =
      has_payload && d.ip_proto == capture::kIpProtoUdp && d.dst_port == capture::kDnsPort;
  const bool http_response = has_payload && d.ip_proto == capture::kIpProtoTcp &&
                             d.src_port == capture::kHttpPort && data[d.payload_offset] == 'H';
  if (dns_query || http_response || capture::ServerNames::MayName(data, caplen, d)) {
    const uint32_t n = std::min(caplen - d.payload_offset, d.payload_len);
    std::vector<uint8_t>& bytes = s->filling->bytes;
    it.name_at = uint32_t(bytes.size());
    it.name_len = n;
    bytes.insert(bytes.end(), data + d.payload_offset, data + d.payload_offset + n);
  }
  if (s->filling->full()) Send(s);
}

void ShardedAnalysis::Stop() {
  if (finished_) return;
  finished_ = true;
  for (auto& s : shards_) {
    if (s->filling == nullptr) s->filling = s->free.Pop();
    s->filling->last = true;
    Send(s.get());
  }
  for (auto& s : shards_) s->thread.join();
  merger_->thread.join();
}

void ShardedAnalysis::Finish() {
  if (finished_) return;
  Stop();
  capture::BinnerStats sum = stats_;
  for (const auto& s : shards_) {
    const capture::BinnerStats& x = s->work.binner().stats();
    sum.packets += x.packets;
    sum.not_local += x.not_local;
    sum.local_to_local += x.local_to_local;
    sum.flows_created += x.flows_created;
    sum.flows_evicted += x.flows_evicted;
    sum.time_backwards += x.time_backwards;
    sum.gaps_skipped = std::max(sum.gaps_skipped, x.gaps_skipped);  // every shard skips each
  }
  stats_ = sum;
}

uint64_t ShardedAnalysis::handovers() const { return finished_ ? merger_->handovers_ : 0; }

std::vector<FlowVerdict> ShardedAnalysis::TakeVerdicts() {
  std::vector<FlowVerdictTracker*> trackers;
  for (auto& s : shards_) trackers.push_back(s->work.verdicts());
  return FlowVerdictTracker::Finish(trackers);
}

}  // namespace tw::detector
