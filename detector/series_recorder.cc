#include "detector/series_recorder.h"

#include <algorithm>
#include <cstring>

namespace tw::detector {

using capture::Direction;
using capture::FlowBin;

ServiceKey ServiceOf(const capture::FlowInfo& info) {
  ServiceKey k;
  k.proto = info.proto();
  // The server end: a well-known port when exactly one side has one (the capture may have
  // missed the handshake), else the side that did not open the flow.
  const bool local_low = info.local_port() < 1024, remote_low = info.remote_port() < 1024;
  const bool remote_serves = local_low != remote_low ? remote_low : info.local_initiated;
  if (remote_serves) {
    k.addr = info.remote();
    k.port = info.remote_port();
  } else {
    k.addr = info.local();
    k.port = info.local_port();
  }
  return k;
}

size_t SeriesRecorder::ServiceHash::operator()(const ServiceKey& k) const {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ULL; };
  for (uint8_t b : k.addr.bytes) mix(b);
  mix(uint8_t(k.port >> 8));
  mix(uint8_t(k.port));
  mix(k.proto);
  return size_t(h);
}

namespace {

void Merge(SeriesPoint* into, const SeriesPoint& p) {
  for (int d = 0; d < 2; ++d) {
    into->wire[d] += p.wire[d];
    into->retrans[d] += p.retrans[d];
  }
  if (p.rtt_ms >= 0 && (into->rtt_ms < 0 || p.rtt_ms < into->rtt_ms)) into->rtt_ms = p.rtt_ms;
}

SeriesPoint PointOf(const capture::DirectionBin (&dir)[2]) {
  SeriesPoint p;
  for (int d = 0; d < 2; ++d) {
    p.wire[d] = float(dir[d].wire_bytes);
    p.retrans[d] = float(dir[d].retrans_bytes);
  }
  return p;
}

}  // namespace

SeriesRecorder::SeriesRecorder(const SeriesRecorderParams& params) : p_(params) {
  link_.role = RecordedSeries::Role::kService;
  other_services_.other = true;
}

void SeriesRecorder::Append(RecordedSeries* s, int64_t base_bin, const SeriesPoint& p) {
  const int64_t idx = base_bin / factor_;
  if (s->points.empty()) {
    s->first_bin = idx;
    s->points.push_back(p);
    ++points_;
    return;
  }
  const int64_t last = s->first_bin + int64_t(s->points.size()) - 1;
  if (idx <= last) {
    // Same (coarsened) bin, or an older one when several flows add into a service series.
    if (idx >= s->first_bin) Merge(&s->points[size_t(idx - s->first_bin)], p);
    return;
  }
  const size_t grow = size_t(idx - last);
  s->points.resize(s->points.size() + grow);  // capture gaps become zero bins
  s->points.back() = p;
  points_ += grow;
}

void SeriesRecorder::CoarsenIfNeeded() {
  if (points_ <= p_.max_points) return;
  auto halve = [](RecordedSeries* s) {
    if (s->points.empty()) return;
    const int64_t first = s->first_bin / 2;
    const int64_t last = (s->first_bin + int64_t(s->points.size()) - 1) / 2;
    std::vector<SeriesPoint> out(size_t(last - first + 1));
    for (size_t i = 0; i < s->points.size(); ++i) {
      Merge(&out[size_t((s->first_bin + int64_t(i)) / 2 - first)], s->points[i]);
    }
    s->first_bin = first;
    s->points.swap(out);
  };
  while (points_ > p_.max_points) {
    factor_ *= 2;
    width_ns_ *= 2;
    halve(&link_);
    points_ = link_.points.size();
    for (RecordedSeries& s : series_) {
      halve(&s);
      points_ += s.points.size();
    }
  }
}

SeriesRecorder::ServiceState* SeriesRecorder::FindService(const ServiceKey& key) {
  auto it = services_.find(key);
  if (it != services_.end()) return &it->second;
  if (services_.size() >= p_.max_services) return nullptr;
  ServiceState& st = services_[key];
  st.total.key = key;
  return &st;
}

void SeriesRecorder::OnBin(int64_t start_ns, int64_t width_ns, std::span<const FlowBin> flows,
                           const capture::LinkBin& link) {
  if (!started_) {
    started_ = true;
    origin_ns_ = start_ns;
    base_width_ns_ = width_ns_ = width_ns;
  }
  const int64_t bin = std::max<int64_t>(0, (start_ns - origin_ns_) / base_width_ns_);
  current_bin_ = bin;
  Append(&link_, bin, PointOf(link.dir));

  for (const FlowBin& fb : flows) {
    auto it = flows_.find(fb.info.id);
    if (it == flows_.end()) {
      if (fb.dir[0].payload_bytes == 0 && fb.dir[1].payload_bytes == 0) continue;
      it = flows_.emplace(fb.info.id, FlowState{}).first;
      FlowState& nf = it->second;
      nf.info = fb.info;
      nf.ring = std::make_unique<std::array<SeriesPoint, kRingBins>>();
      nf.first_bin = nf.last_bin = bin;
      nf.service = FindService(ServiceOf(fb.info));
    }
    FlowState& f = it->second;
    SeriesPoint pt = PointOf(fb.dir);
    pt.rtt_ms = fb.rtt.samples > 0 ? fb.rtt.min_s * 1e3f : -1;  // the Binner's passive RTT
    // Bins the flow was absent from (it was not in the table) are zero.
    for (int64_t b = std::max(f.last_bin + 1, bin - kRingBins + 1); b < bin; ++b) {
      (*f.ring)[size_t(b % kRingBins)] = SeriesPoint{};
    }
    (*f.ring)[size_t(bin % kRingBins)] = pt;
    f.last_bin = bin;
    if (f.series >= 0) Append(&series_[size_t(f.series)], bin, pt);
    if (f.service != nullptr && f.service->series >= 0) {
      Append(&series_[size_t(f.service->series)], bin, pt);
    }
  }
  CoarsenIfNeeded();
}

void SeriesRecorder::Promote(FlowState* f, RecordedSeries::Role role, Direction d,
                             uint64_t event_id) {
  if (f->series >= 0) {
    RecordedSeries& s = series_[size_t(f->series)];
    if (role == RecordedSeries::Role::kFlagged && s.role == RecordedSeries::Role::kReference) {
      s.role = role;
      s.direction = d;
      s.event_id = event_id;
    }
    return;
  }
  RecordedSeries s;
  s.role = role;
  s.flow = f->info;
  s.service = ServiceOf(f->info);
  s.direction = d;
  s.event_id = event_id;
  const int64_t from = std::max(f->first_bin, f->last_bin - kRingBins + 1);
  f->series = int(series_.size());
  series_.push_back(std::move(s));
  for (int64_t b = from; b <= f->last_bin; ++b) {
    Append(&series_.back(), b, (*f->ring)[size_t(b % kRingBins)]);
  }
}

void SeriesRecorder::PromoteService(FlowState* f, Direction d, uint64_t event_id) {
  ServiceState* svc = f->service;
  if (svc == nullptr || svc->series >= 0) return;
  // Backfill from the rings of the service's flows still in the table (flows of the service
  // that ended within the ring's span are missing from the backfill only).
  const int64_t from = std::max<int64_t>(0, current_bin_ - kRingBins + 1);
  std::vector<SeriesPoint> sum(size_t(current_bin_ - from + 1));
  int64_t first = current_bin_ + 1;
  for (auto& [id, other] : flows_) {
    if (other.service != svc) continue;
    const int64_t lo = std::max({from, other.first_bin, other.last_bin - kRingBins + 1});
    for (int64_t b = lo; b <= other.last_bin && b <= current_bin_; ++b) {
      Merge(&sum[size_t(b - from)], (*other.ring)[size_t(b % kRingBins)]);
      first = std::min(first, b);
    }
  }
  RecordedSeries s;
  s.role = RecordedSeries::Role::kService;
  s.service = svc->total.key;
  s.direction = d;
  s.event_id = event_id;
  svc->series = int(series_.size());
  series_.push_back(std::move(s));
  for (int64_t b = first; b <= current_bin_; ++b) {
    Append(&series_.back(), b, sum[size_t(b - from)]);
  }
}

void SeriesRecorder::OnEvent(const Event& e) {
  if (e.state != EventState::kStart || !(e.has_flow || e.has_remote)) return;
  const Direction d = e.direction;
  // The flows the event names: its flow, or a service event's flows of its host that are
  // still open and carried data in its direction lately (one may be starved right now; control
  // connections and pings are too slow to count).
  std::vector<FlowState*> named;
  if (e.has_flow) {
    auto it = flows_.find(e.flow.id);
    if (it != flows_.end()) named.push_back(&it->second);
  } else {
    for (auto& [id, f] : flows_) {
      if (!(f.info.remote() == e.remote) || f.last_bin != current_bin_ || f.ring == nullptr) {
        continue;
      }
      double sum = 0;
      for (int64_t b = std::max(f.first_bin, f.last_bin - kRingBins + 1); b <= f.last_bin; ++b) {
        sum += (*f.ring)[size_t(b % kRingBins)].wire[d];
      }
      const double mean_bps = sum * 8 / (double(kRingBins) * double(base_width_ns_) * 1e-9);
      if (sum > 0 && mean_bps >= 0.05 * e.rate_before_bps / std::max(1, e.flows)) {
        named.push_back(&f);
      }
    }
    std::sort(named.begin(), named.end(),
              [](const FlowState* a, const FlowState* b) { return a->info.id < b->info.id; });
  }
  bool any = false;
  for (FlowState* f : named) {
    if (f->series < 0 || series_[size_t(f->series)].role != RecordedSeries::Role::kFlagged) {
      if (flagged_ >= p_.max_flagged_flows) {
        ++flows_not_charted_;
        continue;
      }
      ++flagged_;
    }
    Promote(f, RecordedSeries::Role::kFlagged, d, e.id);
    PromoteService(f, d, e.id);
    any = true;
  }
  if (!any) return;
  // References: the concurrent flows that carried the most in the same direction lately.
  std::vector<std::pair<double, FlowState*>> cands;
  for (auto& [id, other] : flows_) {
    if (std::find(named.begin(), named.end(), &other) != named.end() ||
        other.last_bin != current_bin_) {
      continue;
    }
    if (e.has_remote && other.info.remote() == e.remote) continue;
    double sum = 0;
    const int64_t lo = std::max(other.first_bin, other.last_bin - kRingBins + 1);
    for (int64_t b = lo; b <= other.last_bin; ++b) sum += (*other.ring)[size_t(b % kRingBins)].wire[d];
    // Flows too slow to compare with (pings, control connections) are no reference.
    const double mean_bps = sum * 8 / (double(kRingBins) * double(base_width_ns_) * 1e-9);
    if (sum > 0 && mean_bps >= 0.05 * e.rate_before_bps) cands.emplace_back(sum, &other);
  }
  const size_t k = std::min(cands.size(), size_t(std::max(0, p_.reference_flows)));
  std::partial_sort(cands.begin(), cands.begin() + long(k), cands.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first
                                                : a.second->info.id < b.second->info.id;
                    });
  for (size_t i = 0; i < k; ++i) Promote(cands[i].second, RecordedSeries::Role::kReference, d, e.id);
  CoarsenIfNeeded();
}

void SeriesRecorder::AddTop(const FlowTotal& t) {
  if (p_.top_n == 0) return;
  if (top_flows_.size() >= p_.top_n && t.total() <= top_flows_.back().total()) return;
  auto pos = std::upper_bound(top_flows_.begin(), top_flows_.end(), t,
                              [](const FlowTotal& a, const FlowTotal& b) {
                                return a.total() > b.total();
                              });
  top_flows_.insert(pos, t);
  if (top_flows_.size() > p_.top_n) top_flows_.pop_back();
}

void SeriesRecorder::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  FlowTotal t;
  t.info = info;
  t.wire[0] = totals.dir[0].wire_bytes;
  t.wire[1] = totals.dir[1].wire_bytes;
  AddTop(t);
  auto it = flows_.find(info.id);
  ServiceState* svc = it != flows_.end() ? it->second.service : FindService(ServiceOf(info));
  ServiceTotal& st = svc != nullptr ? svc->total : other_services_;
  st.wire[0] += t.wire[0];
  st.wire[1] += t.wire[1];
  ++st.flows;
  if (it != flows_.end()) flows_.erase(it);
}

void SeriesRecorder::ForgetBefore(int64_t cutoff_ns) {
  if (!started_ || cutoff_ns <= origin_ns_) return;
  const int64_t cut = (cutoff_ns - origin_ns_) / width_ns_;  // first kept (coarsened) bin
  auto trim = [cut](RecordedSeries* s) {
    const int64_t drop = std::min<int64_t>(cut - s->first_bin, int64_t(s->points.size()));
    if (drop <= 0) return;
    s->points.erase(s->points.begin(), s->points.begin() + drop);
    s->first_bin += drop;
  };
  trim(&link_);
  points_ = link_.points.size();
  std::vector<int> remap(series_.size(), -1);
  std::vector<RecordedSeries> kept;
  flagged_ = 0;
  for (size_t i = 0; i < series_.size(); ++i) {
    trim(&series_[i]);
    if (series_[i].points.empty()) continue;
    remap[i] = int(kept.size());
    points_ += series_[i].points.size();
    if (series_[i].role == RecordedSeries::Role::kFlagged) ++flagged_;
    kept.push_back(std::move(series_[i]));
  }
  series_.swap(kept);
  for (auto& [id, f] : flows_) {
    if (f.series >= 0) f.series = remap[size_t(f.series)];
  }
  for (auto& [key, st] : services_) {
    if (st.series >= 0) st.series = remap[size_t(st.series)];
  }
}

void SeriesRecorder::ResetTotals() {
  top_flows_.clear();
  other_services_ = ServiceTotal{};
  other_services_.other = true;
  // Services still referenced by a flow in the table or by a series stay (pointers into the map
  // must stay valid); the others are forgotten, so the map does not grow for ever.
  std::vector<const ServiceState*> used;
  used.reserve(flows_.size());
  for (const auto& [id, f] : flows_) used.push_back(f.service);
  std::sort(used.begin(), used.end());
  for (auto it = services_.begin(); it != services_.end();) {
    ServiceState& st = it->second;
    st.total.wire[0] = st.total.wire[1] = 0;
    st.total.flows = 0;
    if (st.series < 0 && !std::binary_search(used.begin(), used.end(), &st)) {
      it = services_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<FlowTotal> SeriesRecorder::TopFlows() const { return top_flows_; }

std::vector<ServiceTotal> SeriesRecorder::TopServices() const {
  std::vector<ServiceTotal> all;
  all.reserve(services_.size() + 1);
  for (const auto& [k, st] : services_) {
    if (st.total.flows > 0) all.push_back(st.total);
  }
  const size_t n = std::min(all.size(), p_.top_n);
  std::partial_sort(all.begin(), all.begin() + long(n), all.end(),
                    [](const ServiceTotal& a, const ServiceTotal& b) {
                      return a.total() > b.total();
                    });
  all.resize(n);
  if (other_services_.flows > 0) all.push_back(other_services_);
  return all;
}

}  // namespace tw::detector
