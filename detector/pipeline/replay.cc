#include "detector/pipeline/replay.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/fragment_table.h"
#include "capture/ip_proto.h"
#include "capture/local_networks.h"
#include "capture/pcap_file_source.h"
#include "capture/server_names.h"
#include "detector/core/verdict_events.h"
#include "detector/pipeline/flow_work.h"
#include "detector/pipeline/sharded_analysis.h"

namespace tw::detector {

namespace {

using capture::DecodeStatus;

constexpr uint64_t kGuessPackets = 50'000;
// The packets read for the guess are held (32 bytes each; their bytes stay in the source) and
// analysed after it: the input is read once, so standard input works. Reading stops here even
// if fewer than kGuessPackets of them could be observed (a capture of mostly non-IP traffic).
constexpr size_t kMaxHeldPackets = 1 << 20;
constexpr uint64_t kProgressMinBytes = 4 << 20;

// Infers the local networks from the first packets of `src`, which are appended to *held.
capture::LocalNetworks InferLocal(capture::PcapFileSource* src,
                                  std::vector<capture::Packet>* held) {
  capture::LocalNetworkGuesser guesser;
  capture::Packet pkt;
  capture::DecodedPacket d;
  while (guesser.observed() < kGuessPackets && held->size() < kMaxHeldPackets &&
         src->Next(&pkt) == capture::SourceStatus::kPacket) {
    held->push_back(pkt);
    if (capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &d) == DecodeStatus::kOk) {
      guesser.Observe(d);
    }
  }
  return guesser.Guess();
}

ReplayStatus OpenFailureStatus(capture::OpenFailure why) {
  switch (why) {
    case capture::OpenFailure::kMalformed:
      return ReplayStatus::kBrokenInput;
    case capture::OpenFailure::kBadFilter:
      return ReplayStatus::kBadOptions;
    default:
      return ReplayStatus::kFailed;
  }
}

// Sends every bin to two sinks, in order (the recorder first, so that events emitted for a
// bin find it recorded).
class BinTee final : public capture::BinSink {
 public:
  BinTee(capture::BinSink* first, capture::BinSink* second) : first_(first), second_(second) {}
  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override {
    first_->OnBin(start_ns, width_ns, flows, link);
    second_->OnBin(start_ns, width_ns, flows, link);
  }
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override {
    first_->OnFlowEnd(info, totals);
    second_->OnFlowEnd(info, totals);
  }

 private:
  capture::BinSink* first_;
  capture::BinSink* second_;
};

// Notes, as each flow ends, what its flow line needs beyond its verdict: the server's name and
// QUIC version (the engine forgets them soon after), and, for a UDP flow that carried payload,
// its volume: UDP flows get a line but no verdict. At most kMaxNotes of each (a UDP note is
// ~170 bytes with its strings, a name ~60: under 60 MB in all); flows beyond get no note.
class FlowLineNotes final : public capture::BinSink {
 public:
  static constexpr size_t kMaxNotes = size_t(1) << 18;
  FlowLineNotes(capture::BinSink* next, const capture::ServerNames* names)
      : next_(next), names_(names) {}
  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override {
    next_->OnBin(start_ns, width_ns, flows, link);
  }
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override {
    const std::string_view name = names_->NameOf(info.id, info.remote());
    if (info.proto() == capture::kIpProtoUdp) {
      if (udp_.size() < kMaxNotes) AddUdp(info, totals, name, names_->QuicVersionOf(info.id));
    } else if (!name.empty() && named_.size() < kMaxNotes) {
      named_.emplace(info.id, name);
    }
    next_->OnFlowEnd(info, totals);
  }
  // Names the verdicts; returns the lines of every flow (the verdicts and the UDP flows), in
  // flow order.
  std::vector<FlowVerdict> Lines(std::vector<FlowVerdict>* verdicts) {
    for (FlowVerdict& v : *verdicts) {
      if (auto it = named_.find(v.info.id); it != named_.end()) v.server_name = it->second;
    }
    std::sort(udp_.begin(), udp_.end(),
              [](const UdpNote& a, const UdpNote& b) { return a.info.id < b.info.id; });
    std::vector<FlowVerdict> all;
    all.reserve(verdicts->size() + udp_.size());
    size_t k = 0;
    for (UdpNote& u : udp_) {
      while (k < verdicts->size() && (*verdicts)[k].info.id < u.info.id) {
        all.push_back((*verdicts)[k++]);
      }
      all.push_back(UdpLine(std::move(u)));
    }
    all.insert(all.end(), verdicts->begin() + std::ptrdiff_t(k), verdicts->end());
    udp_.clear();
    return all;
  }

 private:
  // A UDP flow that carried payload: its direction of most payload and what that carried.
  struct UdpNote {
    capture::FlowInfo info;
    capture::Direction dir = capture::kDown;
    int64_t last_ns = 0;
    uint64_t payload_bytes = 0, wire_bytes = 0;
    std::string server_name, quic_version;
  };
  void AddUdp(const capture::FlowInfo& info, const capture::FlowTotals& totals,
              std::string_view name, std::string_view version) {
    if (totals.dir[0].payload_bytes + totals.dir[1].payload_bytes == 0) return;
    const capture::Direction dir =
        totals.dir[capture::kUp].payload_bytes > totals.dir[capture::kDown].payload_bytes
            ? capture::kUp
            : capture::kDown;
    udp_.push_back({info, dir, std::max(info.first_ns, totals.last_ns),
                    totals.dir[dir].payload_bytes, totals.dir[dir].wire_bytes, std::string(name),
                    std::string(version)});
  }
  static FlowVerdict UdpLine(UdpNote&& u) {
    FlowVerdict v;
    v.info = u.info;
    v.dir = u.dir;
    v.kind = VerdictKind::kNotJudged;
    v.first_ns = u.info.first_ns;
    v.last_ns = u.last_ns;
    v.payload_bytes = u.payload_bytes;
    v.wire_bytes = u.wire_bytes;
    const double secs = double(v.last_ns - v.first_ns) * 1e-9;
    v.goodput_bps = secs > 0 ? double(v.payload_bytes) * 8 / secs : 0;
    v.server_name = std::move(u.server_name);
    v.quic_version = std::move(u.quic_version);
    return v;
  }

  capture::BinSink* next_;
  const capture::ServerNames* names_;
  std::unordered_map<uint64_t, std::string> named_;  // TCP flows' names, by flow id
  std::vector<UdpNote> udp_;                         // in order of their end
};

std::string Eta(double s) {
  char buf[32];
  const long t = std::lround(std::max(0.0, s));
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

// Progress on stderr: a bar redrawn in place on a terminal, a plain line otherwise.
class Progress {
 public:
  Progress(std::FILE* out, bool enabled)
      : out_(out),
        enabled_(enabled),
        tty_(enabled && isatty(fileno(out)) != 0),
        t0_(std::chrono::steady_clock::now()),
        last_(t0_) {}

  void Update(uint64_t packets, uint64_t bytes_read, uint64_t bytes_total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000))) {
      return;
    }
    last_ = now;
    const double secs = std::chrono::duration<double>(now - t0_).count();
    const double done =
        bytes_total > 0 ? std::min(1.0, double(bytes_read) / double(bytes_total)) : 0;
    const double pps = double(packets) / std::max(secs, 1e-9);
    const std::string eta = done > 0 ? Eta(secs * (1 - done) / done) : "?";
    if (tty_) {
      constexpr int kWidth = 28;
      const int fill = int(done * kWidth);
      std::string bar(size_t(fill), '#');
      bar.append(size_t(kWidth - fill), '.');
      std::fprintf(out_, "\r\033[Kreplay [%s] %3.0f%%  %.1f M packets  %.0f k packets/s  ETA %s",
                   bar.c_str(), 100 * done, double(packets) / 1e6, pps / 1e3, eta.c_str());
      drawn_ = true;
    } else {
      std::fprintf(out_, "replay: %.0f%%, %.1f M packets, %.0f k packets/s, ETA %s\n", 100 * done,
                   double(packets) / 1e6, pps / 1e3, eta.c_str());
    }
    std::fflush(out_);
  }
  // Clears the bar so that the summary starts on a clean line.
  void Done() {
    if (drawn_) std::fprintf(out_, "\r\033[K");
    drawn_ = false;
  }

 private:
  std::FILE* out_;
  bool enabled_, tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point t0_, last_;
};

// The opened input: its source, its local side, and the packets read to infer that side
// (analysed first).
struct Input {
  std::unique_ptr<capture::PcapFileSource> src;
  capture::LocalNetworks local;
  std::vector<capture::Packet> held;
};

// Checks the options, opens the files and settles the local side (given, or inferred from the
// first packets, which are held). Writes the local side to r and the log. Nothing on success.
std::optional<ReplayStatus> OpenInput(const ReplayOptions& o, ReplayResult* r, Input* in) {
  if (o.files.empty()) {
    r->error = "no capture file given";
    return ReplayStatus::kBadOptions;
  }
  if (!o.local.empty() && !capture::LocalNetworks::Parse(o.local, &in->local, &r->error)) {
    return ReplayStatus::kBadOptions;
  }
  capture::OpenFailure why = capture::OpenFailure::kNone;
  in->src = capture::PcapFileSource::Open(o.files, o.bpf_filter, &r->error, &why);
  if (!in->src) return OpenFailureStatus(why);
  r->started = true;
  if (o.local.empty()) {
    in->local = InferLocal(in->src.get(), &in->held);
    r->local_inferred = true;
  }
  r->local_cidrs = in->local.cidrs();
  // As written in the log (anonymized with --anonymize: the office's prefix is sensitive).
  for (const capture::Cidr& c : in->local.cidrs()) {
    if (!r->local.empty()) r->local += ',';
    r->local += o.addresses.Format(c);
  }
  if (o.log != nullptr) {
    std::fprintf(o.log, "throttlewatch: local networks %s%s\n",
                 in->local.empty() ? "(none found)" : r->local.c_str(),
                 r->local_inferred ? " (inferred; set with --local)" : "");
  }
  return std::nullopt;
}

// Keeps every decided opening and counts the DNS outcomes (for the summary), and hands them on
// to the engine.
class OutcomeTee final : public capture::OpeningSink, public capture::DnsOutcomeSink {
 public:
  explicit OutcomeTee(Engine* next) : next_(next) {}
  void OnOpening(const capture::Opening& o) override {
    all_.push_back(o);
    next_->OnOpening(o);
  }
  void OnDnsOutcome(const capture::DnsOutcome& o) override {
    ++dns_[size_t(o.kind)];
    next_->OnDnsOutcome(o);
  }
  const std::array<uint64_t, capture::kDnsOutcomeKinds>& dns() const { return dns_; }
  // Everything kept, in flow order (the same for any number of threads).
  std::vector<capture::Opening> Take() {
    std::sort(all_.begin(), all_.end(), [](const capture::Opening& a, const capture::Opening& b) {
      return a.flow.id < b.flow.id;
    });
    return std::move(all_);
  }

 private:
  Engine* next_;
  std::vector<capture::Opening> all_;
  std::array<uint64_t, capture::kDnsOutcomeKinds> dns_{};
};

// The analysis of one input: the per-packet work (on this thread, or sharded over threads and
// merged for the detectors on another), the detectors, and the observers fed beside them.
class Analysis {
 public:
  Analysis(const ReplayOptions& o, const capture::LocalNetworks& local)
      : engine_(o.engine, &fanout_, &names_),
        tee_(o.observers.bins, &engine_),
        notes_(o.observers.bins != nullptr ? static_cast<capture::BinSink*>(&tee_) : &engine_,
               &names_) {
    fanout_.Add(&collector_);
    if (o.observers.events != nullptr) fanout_.Add(o.observers.events);
    capture::BinSink* const detectors = &notes_;
    if (o.threads > 1) {
      shards_.emplace(ShardedAnalysisParams{o.threads, o.binner, o.verdict}, local, detectors,
                      &names_, OutcomeSinks{&outcomes_, &outcomes_});
    } else {
      work_.emplace(o.binner, local, detectors, NameTarget{&names_, nullptr}, &o.verdict,
                    OutcomeSinks{&outcomes_, &outcomes_});
    }
  }

  // A decoded packet; `index` its position in the input (a flow's id is the position of its
  // first packet, however the input is split).
  void OnPacket(const capture::Packet& pkt, const capture::DecodedPacket& d, uint64_t index) {
    if (shards_) {
      shards_->OnPacket(pkt.ts_ns, pkt.wire_len, d, pkt.data, pkt.caplen, index);
    } else {
      work_->OnPacket(pkt.ts_ns, pkt.wire_len, d, pkt.data, pkt.caplen, index);
    }
  }

  // End of the input: the last bins, the verdicts and the events they make, the counters.
  void Finish(ReplayResult* r) {
    if (shards_) {
      shards_->Finish();
      r->verdicts = shards_->TakeVerdicts();
      r->binner = shards_->stats();
    } else {
      work_->Finish();
      r->verdicts = work_->TakeVerdicts();
      r->binner = work_->binner().stats();
    }
    engine_.Finish();
    r->openings = outcomes_.Take();
    r->dns_outcomes = outcomes_.dns();
    EmitVerdictEvents(collector_.events(), &r->verdicts, &fanout_);
    r->flow_lines = notes_.Lines(&r->verdicts);
    r->engine = engine_.stats();
    r->dismissed = engine_.throttle().dismissed();
    r->names_learned = names_.learned();
    r->names_rejected = names_.rejected();
    r->engine.events = collector_.events().size();
    r->events = collector_.events();
  }

 private:
  EventCollector collector_;
  EventFanout fanout_;
  capture::ServerNames names_;
  Engine engine_;
  OutcomeTee outcomes_{&engine_};
  BinTee tee_;
  FlowLineNotes notes_;
  std::optional<FlowWork> work_;
  std::optional<ShardedAnalysis> shards_;
};

// Reads every packet (the held ones first), decodes it and hands it to the analysis, counting
// as it goes. Returns how reading ended (kEnd, or the error that stopped it).
capture::SourceStatus ReadAll(const ReplayOptions& o, Input* in, Analysis* analysis,
                              ReplayResult* r) {
  Progress progress(o.log,
                    o.progress && o.log != nullptr && in->src->bytes_total() >= kProgressMinBytes);
  capture::Packet pkt;
  capture::DecodedPacket d;
  capture::FragmentTable fragments;
  capture::SourceStatus st;
  size_t next_held = 0;
  const auto next = [&] {
    if (next_held < in->held.size()) {
      pkt = in->held[next_held++];
      return capture::SourceStatus::kPacket;
    }
    if (next_held > 0) {  // all analysed: the memory goes back
      in->held = {};
      next_held = 0;
    }
    return in->src->Next(&pkt);
  };
  while ((st = next()) == capture::SourceStatus::kPacket) {
    if (r->packets == 0) {
      r->first_ns = pkt.ts_ns;
    } else if (const int64_t gap = pkt.ts_ns - r->last_ns; gap >= kNotedSilenceNs) {
      ++r->silences;
      if (gap > r->longest_silence_ns) {
        r->longest_silence_ns = gap;
        r->longest_silence_from_ns = r->last_ns;
      }
    }
    r->last_ns = std::max(r->last_ns, pkt.ts_ns);
    ++r->packets;
    r->bytes += pkt.wire_len;
    const DecodeStatus ds =
        fragments.Resolve(pkt.ts_ns, capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &d), &d);
    ++r->decode[size_t(ds)];
    if (ds == DecodeStatus::kOk) analysis->OnPacket(pkt, d, r->packets);
    if ((r->packets & 0x3fff) == 0) {
      progress.Update(r->packets, in->src->bytes_read(), in->src->bytes_total());
    }
  }
  progress.Done();
  return st;
}

}  // namespace

ReplayStatus RunReplay(const ReplayOptions& o, ReplayResult* r) {
  *r = ReplayResult{};
  Input in;
  if (auto status = OpenInput(o, r, &in)) return *status;
  Analysis analysis(o, in.local);
  const capture::SourceStatus st = ReadAll(o, &in, &analysis, r);
  // On a read error everything up to the bad spot is still analysed and reported.
  analysis.Finish(r);
  r->file = in.src->stats();
  r->notes = in.src->notes();
  if (o.observers.verdicts && !o.observers.verdicts(r->flow_lines)) {
    r->error = "cannot write flow verdicts (disk full?)";
    return ReplayStatus::kFailed;
  }
  if (st == capture::SourceStatus::kError || st == capture::SourceStatus::kMalformed) {
    r->error = in.src->error();
    return st == capture::SourceStatus::kMalformed ? ReplayStatus::kBrokenInput
                                                   : ReplayStatus::kFailed;
  }
  return ReplayStatus::kOk;
}

}  // namespace tw::detector
