#include "detector/daemon/capture_thread.h"

#include <boost/asio/post.hpp>
#include <cstdio>

#include "detector/outputs/event_json.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace asio = boost::asio;

void PostingSink::OnEvent(const Event& e) {
  if (report_ != nullptr) report_->OnEvent(e);
  std::string service = e.has_flow ? port_labels_->LabelOf(e.flow) : "all";
  asio::post(*io_, [c = control_, m = MapAddresses(e, *addresses_), s = std::move(service)] {
    c->WriteEvent(m, s);
  });
}

void CaptureTap::OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
                       const capture::LinkBin& link) {
  for (int d = 0; d < 2; ++d) {
    snap_.bytes[d] += link.dir[d].wire_bytes;
    snap_.packets[d] += link.dir[d].packets;
  }
  for (const capture::FlowBin& f : flows) {
    port_labels_->Add(f.info, f.dir[capture::kUp].wire_bytes, f.dir[capture::kDown].wire_bytes);
  }
  if (report_ != nullptr) report_->OnBin(start_ns, width_ns, flows, link);
  engine_->OnBin(start_ns, width_ns, flows, link);
  snap_.last_bin_end_s = double(start_ns + width_ns) * 1e-9;
  dirty_ = true;
}

void CaptureTap::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  if (totals.handshake_rtt_s >= 0) snap_.handshake_rtt.Observe(totals.handshake_rtt_s);
  if (report_ != nullptr) report_->OnFlowEnd(info, totals);
  engine_->OnFlowEnd(info, totals);
}

CaptureSnapshot& CaptureTap::TakeSnapshot() {
  dirty_ = false;
  snap_.port_labels = port_labels_->entries();
  return snap_;
}

namespace {

// The rolling report of --report, or nullptr without it.
std::unique_ptr<RollingReport> MakeRollingReport(const LiveDaemonOptions& o,
                                                 const std::string& interface,
                                                 const capture::LocalNetworks& local) {
  if (o.report_path.empty()) return nullptr;
  ReportData page;
  page.title = "throttlewatch report: " + interface + ", live";
  page.version = TW_VERSION;
  page.overview.sources.push_back("live capture on " + interface);
  page.overview.local = local.cidrs();
  page.format_address = [a = o.addresses](const capture::Address& x) { return a.Format(x); };
  page.anonymized = o.addresses.anonymized();
  SeriesRecorderParams rp;
  rp.max_server_ends = 20'000;  // months of distinct servers must not grow the map for ever
  return std::make_unique<RollingReport>(o.report_window_s, std::move(page), rp);
}

}  // namespace

CaptureThread::CaptureThread(const LiveDaemonOptions& o, const EngineParams& engine_params,
                             capture::PcapLiveSource* src, capture::PcapLiveSource* names_src,
                             const capture::LocalNetworks& local, asio::io_context* io,
                             Control* control, Metrics* metrics, const std::atomic<bool>* stop)
    : o_(o),
      src_(src),
      names_src_(names_src),
      io_(io),
      control_(control),
      metrics_(metrics),
      stop_(stop),
      report_(MakeRollingReport(o, src->interface(), local)),
      port_labels_(o.max_port_labels),
      sink_(io, control, &port_labels_, &o.addresses, report_.get()),
      engine_(engine_params, &sink_, &names_),
      tap_(&engine_, &port_labels_, report_.get()),
      work_(o.binner, local, &tap_, NameTarget{&names_, nullptr}, /*verdicts=*/nullptr,
            OutcomeSinks{&engine_, &engine_}),
      lateness_ns_(int64_t(o.lateness_s * 1e9)),
      report_every_ns_(int64_t(o.report_every_s * 1e9)),
      next_report_ns_(util::WallClockNs() + report_every_ns_) {
  // The second handle keeps DNS datagrams whole; the main one, their headers only.
  if (names_src_ != nullptr) work_.FollowDnsFromSecondCapture();
}

std::string CaptureThread::Run() {
  std::string error;
  capture::Packet pkt;
  uint32_t since_clock = 0;
  while (!stop_->load(std::memory_order_relaxed)) {
    const capture::SourceStatus st = src_->Next(&pkt);
    if (st == capture::SourceStatus::kPacket) {
      OnPacket(pkt);
      if (++since_clock < 256) {
        if (tap_.dirty()) Publish();
        continue;
      }
    } else if (st == capture::SourceStatus::kError || st == capture::SourceStatus::kMalformed) {
      error = src_->error();
      break;
    }
    since_clock = 0;
    OnTick();
  }
  work_.Finish();
  engine_.Finish();
  Publish();
  if (report_) PostReport(util::WallClockNs());
  return error;
}

// The per-packet work: all that a packet of the main handle goes through.
void CaptureThread::OnPacket(const capture::Packet& pkt) {
  const capture::DecodeStatus ds = fragments_.Resolve(
      pkt.ts_ns, capture::Decode(pkt.link_type, pkt.data, pkt.caplen, &decoded_), &decoded_);
  ++counters_.decode[size_t(ds)];
  if (ds == capture::DecodeStatus::kOk) {
    work_.OnPacket(pkt.ts_ns, pkt.wire_len, decoded_, pkt.data, pkt.caplen, /*index=*/0);
  }
}

void CaptureThread::OnTick() {
  // Learn server names from the second handle (their flows were created by the main one: the
  // SYN comes first) and let the wall clock close bins on a silent link.
  if (names_src_ != nullptr) DrainNames();
  const int64_t now = util::WallClockNs();
  work_.AdvanceClock(now - lateness_ns_);
  if (tap_.dirty()) Publish();
  if (report_ && now >= next_report_ns_) {
    PostReport(now);
    next_report_ns_ = now + report_every_ns_;
  }
}

void CaptureThread::DrainNames() {
  capture::Packet np;
  capture::DecodedPacket d;
  for (int n = 0; n < 1024 && names_src_->Next(&np) == capture::SourceStatus::kPacket; ++n) {
    if (capture::Decode(np.link_type, np.data, np.caplen, &d) == capture::DecodeStatus::kOk) {
      names_.Observe(np.data, np.caplen, d, work_.binner().Lookup(d));
      work_.OnDnsPacket(np.ts_ns, d, np.data, np.caplen);
    }
  }
}

void CaptureThread::Publish() {
  CaptureSnapshot& s = tap_.TakeSnapshot();
  ReadCaptureCounters(&s);
  counters_.capture_dropped = s.have_capture_counters ? s.capture_dropped : 0;
  counters_.not_local = work_.binner().stats().not_local;
  s.undecoded = 0;
  for (size_t i = 1; i < counters_.decode.size(); ++i) s.undecoded += counters_.decode[i];
  s.not_local = counters_.not_local;
  s.server_names_learned = names_.learned();
  s.server_names_rejected = names_.rejected();
  if (report_) report_->SetCounters(counters_);
  s.active_flows = work_.binner().active_flows();
  if (metrics_ != nullptr) metrics_->Publish(s);
}

void CaptureThread::ReadCaptureCounters(CaptureSnapshot* s) {
  capture::CaptureCounters c;
  s->have_capture_counters = src_->Counters(&c);
  if (!s->have_capture_counters) return;
  s->capture_received = c.received;
  s->capture_dropped = c.dropped;
  s->capture_if_dropped = c.if_dropped;
  const int64_t now = util::WallClockNs();
  if (c.dropped > logged_drops_ && now - last_drop_log_ns_ > 60'000'000'000 && o_.log) {
    std::fprintf(o_.log,
                 "throttlewatch: capture dropped %llu packets so far (buffer full;"
                 " raise --buffer-size)\n",
                 static_cast<unsigned long long>(c.dropped));
    logged_drops_ = c.dropped;
    last_drop_log_ns_ = now;
  }
}

void CaptureThread::PostReport(int64_t now_ns) {
  report_->SetChainHead(control_->chain_head());
  const std::string html = report_->Render(now_ns, work_.binner().active_flows());
  if (html.empty()) return;
  asio::post(*io_, [c = control_, path = o_.report_path, h = std::move(html)] {
    c->WriteReport(path, h);
  });
}

}  // namespace tw::detector
