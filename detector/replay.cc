#include "detector/replay.h"

#include <chrono>
#include <memory>
#include <set>

#include "capture/local_networks.h"
#include "capture/pcap_file_source.h"
#include "capture/service_names.h"

namespace tw::detector {

namespace {

using capture::DecodeStatus;

constexpr uint64_t kGuessPackets = 50'000;
constexpr uint64_t kProgressMinBytes = 4 << 20;

// Infers the local networks from the first packets of the input.
bool InferLocal(const ReplayOptions& o, capture::LocalNetworks* out, std::string* error) {
  auto src = capture::PcapFileSource::Open(o.files, o.bpf_filter, error);
  if (!src) return false;
  capture::LocalNetworkGuesser guesser;
  capture::Packet pkt;
  capture::DecodedPacket d;
  while (guesser.observed() < kGuessPackets && src->Next(&pkt) == capture::SourceStatus::kPacket) {
    if (capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &d) == DecodeStatus::kOk) {
      guesser.Observe(d);
    }
  }
  *out = guesser.Guess();
  return true;
}

std::string HumanRate(double bps) {
  char buf[32];
  if (bps >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f Mbit/s", bps / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f kbit/s", bps / 1e3);
  }
  return buf;
}

}  // namespace

int RunReplay(const ReplayOptions& o, ReplayResult* r) {
  *r = ReplayResult{};
  if (o.files.empty()) {
    r->error = "no capture file given";
    return 2;
  }
  capture::LocalNetworks local;
  if (!o.local.empty()) {
    if (!capture::LocalNetworks::Parse(o.local, &local, &r->error)) return 2;
  } else {
    if (!InferLocal(o, &local, &r->error)) return 1;
    r->local_inferred = true;
  }
  // As written in the log (anonymized with --anonymize: the office's prefix is sensitive).
  for (const capture::Cidr& c : local.cidrs()) {
    if (!r->local.empty()) r->local += ',';
    r->local += o.addresses.Format(c);
  }
  if (o.log != nullptr) {
    std::fprintf(o.log, "throttlewatch: local networks %s%s\n",
                 local.empty() ? "(none found)" : r->local.c_str(),
                 r->local_inferred ? " (inferred; set with --local)" : "");
  }

  auto src = capture::PcapFileSource::Open(o.files, o.bpf_filter, &r->error);
  if (!src) return 1;

  EventCollector collector;
  JsonLinesWriter writer(o.events_out, o.addresses);
  EventFanout fanout;
  fanout.Add(&collector);
  if (o.events_out != nullptr) fanout.Add(&writer);
  capture::ServiceNames names;
  Engine engine(o.engine, &fanout, &names);
  capture::Binner binner(o.binner, local, &engine);

  const bool show_progress =
      o.progress && o.log != nullptr && src->bytes_total() >= kProgressMinBytes;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_report = t0;

  capture::Packet pkt;
  capture::DecodedPacket d;
  capture::SourceStatus st;
  while ((st = src->Next(&pkt)) == capture::SourceStatus::kPacket) {
    if (r->packets == 0) r->first_ns = pkt.ts_ns;
    r->last_ns = std::max(r->last_ns, pkt.ts_ns);
    ++r->packets;
    r->bytes += pkt.wire_len;
    const DecodeStatus ds = capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &d);
    ++r->decode[size_t(ds)];
    if (ds == DecodeStatus::kOk) {
      const capture::BinnedPacket bp = binner.OnPacket(pkt.ts_ns, pkt.wire_len, d);
      names.Observe(pkt.data, pkt.caplen, d, bp);
    }
    if (show_progress && (r->packets & 0xffff) == 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report >= std::chrono::seconds(1)) {
        last_report = now;
        const double secs = std::chrono::duration<double>(now - t0).count();
        const double done = double(src->bytes_read()) / double(src->bytes_total());
        std::fprintf(o.log, "replay: %.1f M packets, %.0f MB/s, %.0f%%\n", double(r->packets) / 1e6,
                     double(src->bytes_read()) / 1e6 / secs, 100 * done);
      }
    }
  }
  // On a read error everything up to the bad spot is still analysed and reported.
  binner.Finish();
  r->binner = binner.stats();
  r->engine = engine.stats();
  r->dismissed = engine.throttle().dismissed();
  r->events = collector.events();
  if (st == capture::SourceStatus::kError) {
    r->error = src->error();
    return 1;
  }
  if (writer.failed()) {
    r->error = "cannot write events (disk full?)";
    return 1;
  }
  return 0;
}

void PrintSummary(const ReplayResult& r, std::FILE* out,
                  const capture::AddressFormatter& addresses) {
  const double span = r.last_ns > r.first_ns ? double(r.last_ns - r.first_ns) * 1e-9 : 0;
  std::set<uint64_t> flows_with_events;
  for (const Event& e : r.events) {
    if (e.has_flow) flows_with_events.insert(e.flow.id);
  }
  std::fprintf(out,
               "throttlewatch: %llu packets over %.1f s; %llu flows seen, %llu carried data, "
               "%zu with events; %zu events\n",
               static_cast<unsigned long long>(r.packets), span,
               static_cast<unsigned long long>(r.binner.flows_created),
               static_cast<unsigned long long>(r.engine.flows_with_data), flows_with_events.size(),
               r.events.size());
  uint64_t undecoded = 0;
  for (size_t i = 1; i < r.decode.size(); ++i) undecoded += r.decode[i];
  if (undecoded > 0) {
    std::fprintf(out, "  not analysed:");
    for (size_t i = 1; i < r.decode.size(); ++i) {
      if (r.decode[i] == 0) continue;
      std::fprintf(out, " %s %llu", capture::DecodeStatusName(DecodeStatus(i)).data(),
                   static_cast<unsigned long long>(r.decode[i]));
    }
    std::fprintf(out, "\n");
  }
  if (!r.dismissed.empty()) {
    std::fprintf(out, "  drops not reported:");
    for (const auto& [cls, n] : r.dismissed) {
      std::fprintf(out, " %s %llu", DropClassName(cls), static_cast<unsigned long long>(n));
    }
    std::fprintf(out, "\n");
  }
  if (r.binner.not_local > 0) {
    std::fprintf(out, "  %llu packets had no local endpoint (check --local)\n",
                 static_cast<unsigned long long>(r.binner.not_local));
  }
  if (r.binner.flows_evicted > 0) {
    std::fprintf(out, "  %llu flows evicted (flow table full; raise --max-flows)\n",
                 static_cast<unsigned long long>(r.binner.flows_evicted));
  }
  std::set<uint64_t> ended;
  for (const Event& e : r.events) {
    if (e.state == EventState::kEnd) ended.insert(e.id);
  }
  for (const Event& e : r.events) {
    std::string who = e.scope == EventScope::kLink ? "whole link" : "";
    if (e.has_flow) {
      const char* proto = e.flow.proto() == 6 ? "tcp" : e.flow.proto() == 17 ? "udp" : "ip";
      who = std::string(proto) + " " + addresses.Format(e.flow.local()) + ":" +
            std::to_string(e.flow.local_port()) + " <-> " + addresses.Format(e.flow.remote()) +
            ":" + std::to_string(e.flow.remote_port());
    }
    std::string detail;
    if (e.kind == EventKind::kThrottle) {
      detail = HumanRate(e.rate_before_bps) + " -> " + HumanRate(e.rate_after_bps);
      if (e.state == EventState::kStart) detail += e.targeted ? ", targeted" : ", not targeted";
    }
    if (e.state == EventState::kStart && ended.count(e.id) == 0) {
      detail += detail.empty() ? "still open at the end of the capture"
                               : ", still open at the end of the capture";
    }
    if (e.duration_s >= 0) {
      char dur[48];
      std::snprintf(dur, sizeof(dur), "%slasted %.1f s", detail.empty() ? "" : ", ", e.duration_s);
      detail += dur;
    }
    std::fprintf(out, "  %s  %-8s %-5s %-4s %s  %s (confidence %.2f)\n", IsoTime(e.ts).c_str(),
                 KindName(e.kind), StateName(e.state), DirectionName(e.direction), who.c_str(),
                 detail.c_str(), e.confidence);
  }
}

}  // namespace tw::detector
