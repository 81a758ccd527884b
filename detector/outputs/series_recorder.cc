#include "detector/outputs/series_recorder.h"

#include <algorithm>
#include <cstring>

#include "util/hash.h"

namespace tw::detector {

using capture::Direction;
using capture::FlowBin;

ServerEnd ServerEndOf(const capture::FlowInfo& info) {
  ServerEnd k;
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

size_t SeriesRecorder::ServerEndHash::operator()(const ServerEnd& k) const {
  uint64_t w[3] = {0, 0, uint64_t(k.port) << 8 | k.proto};
  std::memcpy(w, k.addr.bytes.data(), 16);
  return size_t(util::HashWords(w));
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
  link_.role = RecordedSeries::Role::kServerEnd;
  other_server_ends_.other = true;
}

size_t RecordedSeries::IndexOf(int64_t bin) const {
  auto it = std::upper_bound(runs.begin(), runs.end(), bin,
                             [](int64_t b, const Run& r) { return b < r.first_bin; });
  if (it == runs.begin()) return points.size();
  const size_t r = size_t(it - runs.begin()) - 1;
  const size_t i = runs[r].first_point + size_t(bin - runs[r].first_bin);
  return i < RunEnd(r) ? i : points.size();
}

bool SeriesRecorder::LinkHolds(int64_t bin) const {
  if (bin == link_.last_bin()) return true;  // the bin being recorded: the usual case
  return link_.IndexOf(bin) < link_.points.size();
}

int64_t SeriesRecorder::LinkCoveredEnd(int64_t bin) const {
  auto it =
      std::upper_bound(link_.runs.begin(), link_.runs.end(), bin,
                       [](int64_t b, const RecordedSeries::Run& r) { return b < r.first_bin; });
  return it == link_.runs.begin() ? bin + 1 : std::prev(it)->covered_end;
}

void SeriesRecorder::PushPoint(RecordedSeries* s, int64_t bin, const SeriesPoint& p) {
  if (s->runs.empty() || bin > s->last_bin() + 1) {
    if (!s->runs.empty() && s != &link_) {
      // The link's silence after the series' last bin is the series' too (the link's own runs
      // are extended as its silent bins come).
      RecordedSeries::Run& prev = s->runs.back();
      prev.covered_end = std::min(bin, std::max(prev.covered_end, LinkCoveredEnd(s->last_bin())));
    }
    s->runs.push_back({bin, s->points.size(), bin + 1});
    ++points_;
  } else {
    s->runs.back().covered_end = std::max(s->runs.back().covered_end, bin + 1);
  }
  s->points.push_back(p);
  ++points_;
}

void SeriesRecorder::Append(RecordedSeries* s, int64_t base_bin, const SeriesPoint& p) {
  const int64_t idx = base_bin / factor_;
  if (s != &link_) {
    // Other series hold exactly the link's bins within their span: none where the link was
    // silent (a flow carries nothing then), and a zero at the link's bins the series' flows
    // were absent from. A ring's bins from before the link's first (ForgetBefore dropped
    // those) are kept as they come.
    if (idx >= link_.first_bin() && !LinkHolds(idx)) return;
    const int64_t last = s->last_bin();
    if (!s->points.empty() && idx > last + 1) {
      auto it =
          std::upper_bound(link_.runs.begin(), link_.runs.end(), last,
                           [](int64_t b, const RecordedSeries::Run& r) { return b < r.first_bin; });
      if (it != link_.runs.begin()) --it;
      for (size_t r = size_t(it - link_.runs.begin()); r < link_.runs.size(); ++r) {
        const RecordedSeries::Run& run = link_.runs[r];
        if (run.first_bin >= idx) break;
        const int64_t end =
            std::min(idx, run.first_bin + int64_t(link_.RunEnd(r) - run.first_point));
        for (int64_t b = std::max(run.first_bin, last + 1); b < end; ++b) {
          PushPoint(s, b, SeriesPoint{});
        }
      }
    }
  }
  if (s->points.empty() || idx > s->last_bin()) {
    PushPoint(s, idx, p);
    return;
  }
  // Same (coarsened) bin, or an older one when several flows add into a service series.
  const size_t i = s->IndexOf(idx);
  if (i < s->points.size()) Merge(&s->points[i], p);
}

void SeriesRecorder::CoarsenIfNeeded() {
  if (points_ <= p_.max_points) return;
  auto halve = [](RecordedSeries* s) {
    if (s->points.empty()) return;
    std::vector<SeriesPoint> out;
    std::vector<RecordedSeries::Run> runs;
    out.reserve(s->points.size() / 2 + s->runs.size());
    int64_t last = 0;
    for (size_t r = 0; r < s->runs.size(); ++r) {
      const RecordedSeries::Run& run = s->runs[r];
      for (size_t i = run.first_point; i < s->RunEnd(r); ++i) {
        const int64_t bin = (run.first_bin + int64_t(i - run.first_point)) / 2;
        if (!out.empty() && bin == last) {
          Merge(&out.back(), s->points[i]);
          continue;
        }
        if (out.empty() || bin > last + 1) {
          if (!runs.empty()) runs.back().covered_end = std::min(runs.back().covered_end, bin);
          runs.push_back({bin, out.size(), bin + 1});
        }
        out.push_back(s->points[i]);
        last = bin;
        runs.back().covered_end = std::max(runs.back().covered_end, bin + 1);
      }
      // A coarse bin is covered when any of its two bins was.
      runs.back().covered_end = std::max(runs.back().covered_end, (run.covered_end + 1) / 2);
    }
    s->points.swap(out);
    s->runs.swap(runs);
  };
  // The bin width stops doubling long before it could overflow (a 2^40 s bin holds any capture).
  while (points_ > p_.max_points && width_ns_ < (int64_t(1) << 60)) {
    factor_ *= 2;
    width_ns_ *= 2;
    halve(&link_);
    points_ = link_.points.size() + link_.runs.size();
    for (RecordedSeries& s : series_) {
      halve(&s);
      points_ += s.points.size() + s.runs.size();
    }
  }
}

SeriesRecorder::ServerEndState* SeriesRecorder::FindServerEnd(const ServerEnd& key) {
  auto it = server_ends_.find(key);
  if (it != server_ends_.end()) return &it->second;
  if (server_ends_.size() >= p_.max_server_ends) return nullptr;
  ServerEndState& st = server_ends_[key];
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
  // A bin with packets is recorded, and the silent bin right after one (the drop to zero); the
  // rest of a silence only extends the link's coverage, so its length costs nothing.
  bool any = false;
  for (int d = 0; d < 2; ++d) any |= link.dir[d].packets > 0 || link.dir[d].wire_bytes > 0;
  const bool recorded = any || bin == last_active_bin_ + 1;
  if (any) last_active_bin_ = bin;
  if (recorded) {
    Append(&link_, bin, PointOf(link.dir));
  } else if (!link_.runs.empty()) {
    RecordedSeries::Run& r = link_.runs.back();
    const int64_t idx = bin / factor_;
    if (idx <= r.covered_end) r.covered_end = std::max(r.covered_end, idx + 1);
  }

  for (const FlowBin& fb : flows) {
    auto it = flows_.find(fb.info.id);
    if (it == flows_.end()) {
      if (fb.dir[0].payload_bytes == 0 && fb.dir[1].payload_bytes == 0) continue;
      it = flows_.emplace(fb.info.id, FlowState{}).first;
      FlowState& nf = it->second;
      nf.info = fb.info;
      nf.ring = std::make_unique<std::array<SeriesPoint, kRingBins>>();
      nf.first_bin = nf.last_bin = bin;
      nf.server_end = FindServerEnd(ServerEndOf(fb.info));
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
    if (!recorded) continue;  // a silent bin: every flow carried nothing
    if (f.series >= 0) Append(&series_[size_t(f.series)], bin, pt);
    if (f.server_end != nullptr && f.server_end->series >= 0) {
      Append(&series_[size_t(f.server_end->series)], bin, pt);
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
  s.server_end = ServerEndOf(f->info);
  s.direction = d;
  s.event_id = event_id;
  const int64_t from = std::max(f->first_bin, f->last_bin - kRingBins + 1);
  f->series = int(series_.size());
  series_.push_back(std::move(s));
  for (int64_t b = from; b <= f->last_bin; ++b) {
    Append(&series_.back(), b, (*f->ring)[size_t(b % kRingBins)]);
  }
}

void SeriesRecorder::PromoteServerEnd(FlowState* f, Direction d, uint64_t event_id) {
  ServerEndState* svc = f->server_end;
  if (svc == nullptr || svc->series >= 0) return;
  // Backfill from the rings of the service's flows still in the table (flows of the service
  // that ended within the ring's span are missing from the backfill only).
  const int64_t from = std::max<int64_t>(0, current_bin_ - kRingBins + 1);
  std::vector<SeriesPoint> sum(size_t(current_bin_ - from + 1));
  int64_t first = current_bin_ + 1;
  for (auto& [id, other] : flows_) {
    if (other.server_end != svc) continue;
    const int64_t lo = std::max({from, other.first_bin, other.last_bin - kRingBins + 1});
    for (int64_t b = lo; b <= other.last_bin && b <= current_bin_; ++b) {
      Merge(&sum[size_t(b - from)], (*other.ring)[size_t(b % kRingBins)]);
      first = std::min(first, b);
    }
  }
  RecordedSeries s;
  s.role = RecordedSeries::Role::kServerEnd;
  s.server_end = svc->total.key;
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
  // A block names a service whose connections fail, not flows with a rate to follow: the flows
  // of its address that carry data are other services', which worked.
  if (e.kind == EventKind::kBlock) return;
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
    PromoteServerEnd(f, d, e.id);
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
    for (int64_t b = lo; b <= other.last_bin; ++b)
      sum += (*other.ring)[size_t(b % kRingBins)].wire[d];
    // Flows too slow to compare with (pings, control connections) are no reference.
    const double mean_bps = sum * 8 / (double(kRingBins) * double(base_width_ns_) * 1e-9);
    if (sum > 0 && mean_bps >= 0.05 * e.rate_before_bps) cands.emplace_back(sum, &other);
  }
  const size_t k = std::min(cands.size(), size_t(std::max(0, p_.reference_flows)));
  std::partial_sort(
      cands.begin(), cands.begin() + long(k), cands.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second->info.id < b.second->info.id;
      });
  for (size_t i = 0; i < k; ++i)
    Promote(cands[i].second, RecordedSeries::Role::kReference, d, e.id);
  CoarsenIfNeeded();
}

void SeriesRecorder::AddTop(const FlowTotal& t) {
  if (p_.top_n == 0) return;
  if (top_flows_.size() >= p_.top_n && t.total() <= top_flows_.back().total()) return;
  auto pos = std::upper_bound(
      top_flows_.begin(), top_flows_.end(), t,
      [](const FlowTotal& a, const FlowTotal& b) { return a.total() > b.total(); });
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
  ServerEndState* svc =
      it != flows_.end() ? it->second.server_end : FindServerEnd(ServerEndOf(info));
  ServerEndTotal& st = svc != nullptr ? svc->total : other_server_ends_;
  st.wire[0] += t.wire[0];
  st.wire[1] += t.wire[1];
  ++st.flows;
  if (it != flows_.end()) flows_.erase(it);
}

void SeriesRecorder::ForgetBefore(int64_t cutoff_ns) {
  if (!started_ || cutoff_ns <= origin_ns_) return;
  const int64_t cut = (cutoff_ns - origin_ns_) / width_ns_;  // first kept (coarsened) bin
  auto trim = [cut](RecordedSeries* s) {
    if (s->points.empty() || cut <= s->first_bin()) return;
    std::vector<SeriesPoint> pts;
    std::vector<RecordedSeries::Run> runs;
    for (size_t r = 0; r < s->runs.size(); ++r) {
      const RecordedSeries::Run& run = s->runs[r];
      const size_t end = s->RunEnd(r);
      const int64_t last = run.first_bin + int64_t(end - run.first_point) - 1;
      if (last < cut) {
        // A silence that reaches into the window stays, as a zero from the cutoff on.
        if (run.covered_end > cut) {
          runs.push_back({cut, pts.size(), run.covered_end});
          pts.push_back(SeriesPoint{});
        }
        continue;
      }
      const int64_t from = std::max(run.first_bin, cut);
      runs.push_back({from, pts.size(), run.covered_end});
      pts.insert(pts.end(),
                 s->points.begin() + long(run.first_point + size_t(from - run.first_bin)),
                 s->points.begin() + long(end));
    }
    s->points.swap(pts);
    s->runs.swap(runs);
  };
  trim(&link_);
  points_ = link_.points.size() + link_.runs.size();
  std::vector<int> remap(series_.size(), -1);
  std::vector<RecordedSeries> kept;
  flagged_ = 0;
  for (size_t i = 0; i < series_.size(); ++i) {
    trim(&series_[i]);
    if (series_[i].points.empty()) continue;
    remap[i] = int(kept.size());
    points_ += series_[i].points.size() + series_[i].runs.size();
    if (series_[i].role == RecordedSeries::Role::kFlagged) ++flagged_;
    kept.push_back(std::move(series_[i]));
  }
  series_.swap(kept);
  for (auto& [id, f] : flows_) {
    if (f.series >= 0) f.series = remap[size_t(f.series)];
  }
  for (auto& [key, st] : server_ends_) {
    if (st.series >= 0) st.series = remap[size_t(st.series)];
  }
}

void SeriesRecorder::ResetTotals() {
  top_flows_.clear();
  other_server_ends_ = ServerEndTotal{};
  other_server_ends_.other = true;
  // Services still referenced by a flow in the table or by a series stay (pointers into the map
  // must stay valid); the others are forgotten, so the map does not grow for ever.
  std::vector<const ServerEndState*> used;
  used.reserve(flows_.size());
  for (const auto& [id, f] : flows_) used.push_back(f.server_end);
  std::sort(used.begin(), used.end());
  for (auto it = server_ends_.begin(); it != server_ends_.end();) {
    ServerEndState& st = it->second;
    st.total.wire[0] = st.total.wire[1] = 0;
    st.total.flows = 0;
    if (st.series < 0 && !std::binary_search(used.begin(), used.end(), &st)) {
      it = server_ends_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<FlowTotal> SeriesRecorder::TopFlows() const { return top_flows_; }

std::vector<ServerEndTotal> SeriesRecorder::TopServerEnds() const {
  std::vector<ServerEndTotal> all;
  all.reserve(server_ends_.size() + 1);
  for (const auto& [k, st] : server_ends_) {
    if (st.total.flows > 0) all.push_back(st.total);
  }
  const size_t n = std::min(all.size(), p_.top_n);
  std::partial_sort(
      all.begin(), all.begin() + long(n), all.end(),
      [](const ServerEndTotal& a, const ServerEndTotal& b) { return a.total() > b.total(); });
  all.resize(n);
  if (other_server_ends_.flows > 0) all.push_back(other_server_ends_);
  return all;
}

}  // namespace tw::detector
