#include "detector/daemon/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "detector/daemon/metrics_server.h"
#include "detector/daemon/process_stats.h"
#include "util/secret_file.h"
#include "util/utc_time.h"

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

namespace tw::detector {

void RttHistogram::Observe(double seconds) {
  if (!(seconds >= 0)) return;
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  ++counts[i];
  sum += seconds;
  ++count;
}

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric Sample(double v, MetricType type, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  return m;
}

void Add(std::vector<MetricFamily>* out, const char* name, const char* help, MetricType type,
         double v) {
  MetricFamily f = Family(name, help, type);
  f.metric.push_back(Sample(v, type));
  out->push_back(std::move(f));
}

ClientMetric HistogramSample(const RttHistogram& h, std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum;
  uint64_t cum = 0;
  for (size_t i = 0; i < RttHistogram::kBounds.size(); ++i) {
    cum += h.counts[i];
    m.histogram.bucket.push_back({cum, RttHistogram::kBounds[i]});
  }
  m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
  return m;
}

// Each Add* below appends its metric families to *out, in the order a scrape lists them.

// Traffic and capture health from the capture thread's snapshot: bytes and packets each way, the
// capture buffer's counters (when the capture has them), packets not analysed, server names,
// flows and the last closed bin.
void AddTraffic(const CaptureSnapshot& s, std::vector<MetricFamily>* out) {
  const auto G = MetricType::Gauge;
  const auto C = MetricType::Counter;
  Add(out, "throttlewatch_receive_bytes_total",
      "Bytes on the wire arriving to the local networks (link header included).", C,
      double(s.bytes[capture::kDown]));
  Add(out, "throttlewatch_transmit_bytes_total",
      "Bytes on the wire leaving the local networks (link header included).", C,
      double(s.bytes[capture::kUp]));
  Add(out, "throttlewatch_receive_packets_total", "Packets arriving to the local networks.", C,
      double(s.packets[capture::kDown]));
  Add(out, "throttlewatch_transmit_packets_total", "Packets leaving the local networks.", C,
      double(s.packets[capture::kUp]));
  if (s.have_capture_counters) {
    Add(out, "throttlewatch_capture_packets_total",
        "Packets that reached the capture buffer (pcap_stats).", C, double(s.capture_received));
    Add(out, "throttlewatch_capture_drops_total",
        "Packets dropped because the capture buffer was full (pcap_stats).", C,
        double(s.capture_dropped));
    Add(out, "throttlewatch_capture_interface_drops_total",
        "Packets dropped by the interface or its driver (pcap_stats).", C,
        double(s.capture_if_dropped));
  }
  Add(out, "throttlewatch_undecoded_packets_total",
      "Captured packets that could not be decoded (truncated, unknown link type, ...).", C,
      double(s.undecoded));
  Add(out, "throttlewatch_service_names_learned_total",
      "Service names learned from TLS ClientHellos (SNI) and DNS answers.", C,
      double(s.server_names_learned));
  Add(out, "throttlewatch_service_names_rejected_total",
      "Names in DNS answers and ClientHellos dropped because they are not host names "
      "(forged or broken: quotes, control bytes, address literals, over-long labels).",
      C, double(s.server_names_rejected));
  Add(out, "throttlewatch_nonlocal_packets_total",
      "Captured packets with no endpoint in the local networks (ignored).", C, double(s.not_local));
  Add(out, "throttlewatch_active_flows", "Flows in the flow table.", G, double(s.active_flows));
  Add(out, "throttlewatch_last_bin_timestamp_seconds",
      "End of the last closed bin, epoch seconds (stalls when detection stalls).", G,
      s.last_bin_end_s);
}

// Bytes each way per service label of the snapshot; a single "other" at 0 before there is any,
// so the series exist from the start.
void AddServiceBytes(const CaptureSnapshot& s, std::vector<MetricFamily>* out) {
  const auto C = MetricType::Counter;
  MetricFamily rx =
      Family("throttlewatch_service_receive_bytes_total",
             "Bytes arriving per service (top services by first use, then other).", C);
  MetricFamily tx = Family("throttlewatch_service_transmit_bytes_total",
                           "Bytes leaving per service (top services by first use, then other).", C);
  if (s.port_labels.empty()) {
    rx.metric.push_back(Sample(0, C, {{"service", "other"}}));
    tx.metric.push_back(Sample(0, C, {{"service", "other"}}));
  }
  for (const auto& l : s.port_labels) {
    rx.metric.push_back(Sample(double(l.bytes[capture::kDown]), C, {{"service", l.label}}));
    tx.metric.push_back(Sample(double(l.bytes[capture::kUp]), C, {{"service", l.label}}));
  }
  out->push_back(std::move(rx));
  out->push_back(std::move(tx));
}

// The histogram of TCP handshake RTTs of the snapshot.
void AddHandshakeRtt(const CaptureSnapshot& s, std::vector<MetricFamily>* out) {
  MetricFamily f = Family("throttlewatch_handshake_rtt_seconds",
                          "TCP handshake round-trip time at the capture point, of ended flows.",
                          MetricType::Histogram);
  f.metric.push_back(HistogramSample(s.handshake_rtt, {}));
  out->push_back(std::move(f));
}

// The process_* metrics of every exporter: CPU, memory, file descriptors, start time.
void AddProcess(const ProcessStats& p, std::vector<MetricFamily>* out) {
  const auto G = MetricType::Gauge;
  Add(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      MetricType::Counter, p.cpu_seconds);
  Add(out, "process_open_fds", "Number of open file descriptors.", G, p.open_fds);
  Add(out, "process_max_fds", "Maximum number of open file descriptors.", G, p.max_fds);
  Add(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", G, p.virtual_bytes);
  Add(out, "process_resident_memory_bytes", "Resident memory size in bytes.", G, p.resident_bytes);
  Add(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      G, p.start_time_seconds);
}

}  // namespace

class Metrics::Impl final {
 public:
  Impl(std::vector<std::string> targets, std::string interface)
      : targets_(std::move(targets)),
        interface_(std::move(interface)),
        probes_(targets_.size()),
        start_s_(double(util::WallClockNs()) * 1e-9) {}

  std::vector<MetricFamily> Collect() const;
  // The parts of Collect() that read more than the snapshot; each appends its metric families
  // to *out. Called with mu_ held.
  void AddBuildInfo(std::vector<MetricFamily>* out) const;      // version, interface, start
  void AddThrottleState(std::vector<MetricFamily>* out) const;  // open throttles, outages
  void AddBlockState(std::vector<MetricFamily>* out) const;     // services blocked, by method
  void AddEventCounters(std::vector<MetricFamily>* out) const;  // events written or not
  void AddProbes(std::vector<MetricFamily>* out) const;         // per target, when any
  // The state an event written changes, by its kind. Called with mu_ held.
  void OnThrottle(const Event& e, const std::string& service);
  void OnOutage(const Event& e);
  void OnBlock(const Event& e);

  mutable std::mutex mu_;
  std::vector<std::string> targets_;
  std::string interface_;
  CaptureSnapshot snap_;
  // Events, counted after they are on disk.
  std::map<std::pair<std::string, std::string>, uint64_t> events_;  // (kind, state) -> n
  uint64_t event_write_errors_ = 0;
  using ThrottleKey = std::tuple<std::string, std::string, std::string>;  // scope, dir, service
  std::map<ThrottleKey, int> throttled_;           // open throttles per label set
  std::map<uint64_t, ThrottleKey> open_throttle_;  // event id -> its labels
  bool outage_ = false;
  uint64_t outages_ = 0;
  // Blocks on now: how many per method, and each open one's method.
  std::map<BlockMethod, int> blocked_;
  std::map<uint64_t, BlockMethod> open_block_;  // event id -> its method
  struct Probe {
    uint64_t attempts = 0, failures = 0;
    bool last_ok = false;
    RttHistogram rtt;
  };
  std::vector<Probe> probes_;
  double start_s_;
  std::unique_ptr<MetricsServer> server_;
};

std::vector<MetricFamily> Metrics::Impl::Collect() const {
  const ProcessStats process = ReadProcessStats();  // /proc, outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<MetricFamily> out;
  AddProcess(process, &out);
  AddBuildInfo(&out);
  AddTraffic(snap_, &out);
  AddServiceBytes(snap_, &out);
  AddHandshakeRtt(snap_, &out);
  AddThrottleState(&out);
  AddBlockState(&out);
  AddEventCounters(&out);
  AddProbes(&out);
  return out;
}

// The version and the interface watched (as labels of a constant 1), and the start time.
void Metrics::Impl::AddBuildInfo(std::vector<MetricFamily>* out) const {
  const auto G = MetricType::Gauge;
  MetricFamily f = Family("throttlewatch_build_info",
                          "Version of throttlewatch and the interface it watches (always 1).", G);
  f.metric.push_back(Sample(1, G, {{"interface", interface_}, {"version", TW_VERSION}}));
  out->push_back(std::move(f));
  Add(out, "throttlewatch_start_time_seconds", "Start time of the daemon, epoch seconds.", G,
      start_s_);
}

// 1 or 0 per (scope, direction, service) that ever had a throttle, and always the link each
// way; then the outage state and count.
void Metrics::Impl::AddThrottleState(std::vector<MetricFamily>* out) const {
  const auto G = MetricType::Gauge;
  const auto C = MetricType::Counter;
  MetricFamily f =
      Family("throttlewatch_throttled",
             "1 while a throttle is open for this scope, direction and service, else 0.", G);
  // Always present for the whole link, so dashboards and absent() rules see the series.
  bool have_link[2] = {false, false};
  for (const auto& [key, n] : throttled_) {
    const auto& [scope, dir, service] = key;
    if (scope == "link") have_link[dir == "up" ? 0 : 1] = true;
    f.metric.push_back(
        Sample(n > 0 ? 1 : 0, G, {{"direction", dir}, {"scope", scope}, {"service", service}}));
  }
  for (int d = 0; d < 2; ++d) {
    if (!have_link[d]) {
      f.metric.push_back(Sample(
          0, G, {{"direction", d == 0 ? "up" : "down"}, {"scope", "link"}, {"service", "all"}}));
    }
  }
  out->push_back(std::move(f));
  Add(out, "throttlewatch_outage", "1 while the link is in an outage, else 0.", G, outage_ ? 1 : 0);
  Add(out, "throttlewatch_outages_total", "Outages detected (start events written).", C,
      double(outages_));
}

// Services blocked now, one series per method, each there (0) from the first scrape. The method
// is the only label: a blocked service's name or address would make a series per site.
void Metrics::Impl::AddBlockState(std::vector<MetricFamily>* out) const {
  const auto G = MetricType::Gauge;
  MetricFamily f = Family("throttlewatch_blocked",
                          "Services blocked now (connections to them fail while other services "
                          "work), by how they are blocked.",
                          G);
  for (size_t k = 1; k < kBlockMethods; ++k) {
    const BlockMethod m = BlockMethod(k);
    const auto it = blocked_.find(m);
    f.metric.push_back(
        Sample(it == blocked_.end() ? 0 : it->second, G, {{"method", BlockMethodName(m)}}));
  }
  out->push_back(std::move(f));
}

// Events written, by kind and state (every combination, 0 included), and write failures.
void Metrics::Impl::AddEventCounters(std::vector<MetricFamily>* out) const {
  const auto C = MetricType::Counter;
  MetricFamily f = Family("throttlewatch_events_total",
                          "Events written to the event file (and synced), by kind and state.", C);
  for (const char* kind : {"throttle", "outage", "block"}) {
    for (const char* state : {"start", "end"}) {
      auto it = events_.find({kind, state});
      f.metric.push_back(Sample(it == events_.end() ? 0 : double(it->second), C,
                                {{"kind", kind}, {"state", state}}));
    }
  }
  out->push_back(std::move(f));
  Add(out, "throttlewatch_event_write_errors_total",
      "Events that could not be written to the event file.", C, double(event_write_errors_));
}

// Per probe target: last success, attempts, failures and the RTT histogram. Nothing without
// targets.
void Metrics::Impl::AddProbes(std::vector<MetricFamily>* out) const {
  if (targets_.empty()) return;
  const auto G = MetricType::Gauge;
  const auto C = MetricType::Counter;
  MetricFamily ok = Family("throttlewatch_probe_success",
                           "1 if the last active probe of the target succeeded, else 0.", G);
  MetricFamily att = Family("throttlewatch_probe_attempts_total", "Active probes sent.", C);
  MetricFamily fail = Family("throttlewatch_probe_failures_total",
                             "Active probes that failed (refused, unreachable or timed out).", C);
  MetricFamily rtt = Family("throttlewatch_probe_rtt_seconds",
                            "Connect time (TCP) or answer time (DNS) of successful active probes.",
                            MetricType::Histogram);
  for (size_t i = 0; i < targets_.size(); ++i) {
    const std::vector<ClientMetric::Label> l = {{"target", targets_[i]}};
    ok.metric.push_back(Sample(probes_[i].last_ok ? 1 : 0, G, l));
    att.metric.push_back(Sample(double(probes_[i].attempts), C, l));
    fail.metric.push_back(Sample(double(probes_[i].failures), C, l));
    rtt.metric.push_back(HistogramSample(probes_[i].rtt, l));
  }
  out->push_back(std::move(ok));
  out->push_back(std::move(att));
  out->push_back(std::move(fail));
  out->push_back(std::move(rtt));
}

void Metrics::Impl::OnThrottle(const Event& e, const std::string& service) {
  if (e.state == EventState::kStart) {
    ThrottleKey key{ScopeName(e.scope), DirectionName(e.direction),
                    e.scope == EventScope::kLink ? "all" : service};
    ++throttled_[key];
    open_throttle_[e.id] = key;
  } else if (auto it = open_throttle_.find(e.id); it != open_throttle_.end()) {
    --throttled_[it->second];
    open_throttle_.erase(it);
  }
}

void Metrics::Impl::OnOutage(const Event& e) {
  outage_ = e.state == EventState::kStart;
  if (e.state == EventState::kStart) ++outages_;
}

// A start counts its method's service; its end (by id: an end's counts may differ) takes it
// back. The end of a block this run did not start (a restart's end) changes nothing.
void Metrics::Impl::OnBlock(const Event& e) {
  if (e.state == EventState::kStart) {
    if (e.block.method == BlockMethod::kNone || open_block_.contains(e.id)) return;
    ++blocked_[e.block.method];
    open_block_[e.id] = e.block.method;
  } else if (auto it = open_block_.find(e.id); it != open_block_.end()) {
    --blocked_[it->second];
    open_block_.erase(it);
  }
}

Metrics::Metrics(std::vector<std::string> probe_targets, std::string interface)
    : impl_(std::make_unique<Impl>(std::move(probe_targets), std::move(interface))) {}

Metrics::~Metrics() {
  impl_->server_.reset();  // stop serving before the data goes
}

bool ReadMetricsAuthFile(const std::string& path, std::string* user, std::string* password,
                         std::string* error) {
  std::string text;
  if (!util::ReadSecretFile(path, "metrics auth file", 4096, &text, error)) return false;
  const size_t end = std::min(text.find('\n'), text.size());
  const size_t colon = text.find(':');
  const bool ok = colon != std::string::npos && colon != 0 && colon < end;
  if (ok) {
    *user = text.substr(0, colon);
    *password = text.substr(colon + 1, end - colon - 1);
  } else {
    *error = "metrics auth file " + path + ": must hold one line USER:PASSWORD";
  }
  explicit_bzero(text.data(), text.size());
  return ok;
}

bool Metrics::Serve(const std::string& bind, const std::string& user, const std::string& password,
                    std::string* error) {
  // One HTTP thread is plenty for a few scrapers.
  impl_->server_ = MetricsServer::Start(
      bind, user, password, [this] { return Render(); }, error);
  return impl_->server_ != nullptr;
}

int Metrics::port() const { return impl_->server_ ? impl_->server_->port() : 0; }

void Metrics::Publish(const CaptureSnapshot& s) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->snap_ = s;
}

void Metrics::OnEventWritten(const Event& e, const std::string& service) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  ++impl_->events_[{KindName(e.kind), StateName(e.state)}];
  switch (e.kind) {
    case EventKind::kOutage:
      impl_->OnOutage(e);
      return;
    case EventKind::kBlock:
      impl_->OnBlock(e);
      return;
    case EventKind::kThrottle:
      impl_->OnThrottle(e, service);
      return;
  }
}

void Metrics::OnEventWriteFailed() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  ++impl_->event_write_errors_;
}

void Metrics::OnProbe(size_t target, bool ok, double rtt_s) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  if (target >= impl_->probes_.size()) return;
  Impl::Probe& p = impl_->probes_[target];
  ++p.attempts;
  p.last_ok = ok;
  if (ok) {
    p.rtt.Observe(rtt_s);
  } else {
    ++p.failures;
  }
}

std::string Metrics::Render() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->Collect());
  return out.str();
}

}  // namespace tw::detector
