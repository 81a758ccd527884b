#include "detector/outputs/report_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "detector/outputs/text_units.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

using capture::Direction;

// ---------------------------------------------------------------------------------------------
// Series access

struct View {
  const SeriesRecorder& rec;
  double width_s() const { return double(rec.width_ns()) * 1e-9; }
  double BinStart(int64_t i) const { return double(rec.origin_ns() + i * rec.width_ns()) * 1e-9; }
  double Start(const RecordedSeries& s) const { return BinStart(s.first_bin()); }
  double End(const RecordedSeries& s) const { return BinStart(s.end_bin()); }
};

std::vector<Gap> CaptureGaps(const View& v, const RecordedSeries& s) {
  std::vector<Gap> out;
  for (size_t r = 0; r + 1 < s.runs.size(); ++r) {
    if (s.runs[r].covered_end < s.runs[r + 1].first_bin) {
      out.push_back({v.BinStart(s.runs[r].covered_end), v.BinStart(s.runs[r + 1].first_bin)});
    }
  }
  return out;
}

constexpr int kMaxChartPoints = 480;

// Averages `value(point)` over at most kMaxChartPoints buckets of [t0, t1). value() < 0 means
// "no sample" (skipped). A silent bin counts as a zero point; a bucket without samples, and a
// capture gap between two buckets, break the line (a NaN value).
template <typename F>
std::vector<std::pair<double, double>> Sample(const View& v, const RecordedSeries& s, double t0,
                                              double t1, bool min_not_mean, F value) {
  std::vector<std::pair<double, double>> out;
  if (s.points.empty() || t1 <= t0) return out;
  const double w = v.width_s();
  const int64_t first = s.first_bin();
  const int64_t i0 = std::max<int64_t>(0, int64_t(std::floor((t0 - v.Start(s)) / w)));
  const int64_t i1 =
      std::min<int64_t>(s.end_bin() - first, int64_t(std::ceil((t1 - v.Start(s)) / w)));
  if (i1 <= i0) return out;
  const int64_t n = i1 - i0;
  const int64_t per = std::max<int64_t>(1, (n + kMaxChartPoints - 1) / kMaxChartPoints);
  const double zero = value(SeriesPoint{});  // a silent bin's value
  auto brk = [&out] {
    if (!out.empty() && !std::isnan(out.back().second)) out.emplace_back(0, NAN);
  };
  size_t r = 0;                    // the first run that may reach into the bucket
  int64_t covered_to = INT64_MIN;  // one past the last bin covered before the bucket
  for (int64_t lo = first + i0, b1 = first + i1; lo < b1; lo += per) {
    const int64_t hi = std::min(b1, lo + per);
    double sum = 0, tsum = 0, best = -1;
    int64_t cnt = 0, cov_first = -1, cov_end = -1;
    auto take = [&](double x, double t) {
      if (x < 0) return;
      sum += x;
      tsum += t;
      best = best < 0 ? x : std::min(best, x);
      ++cnt;
    };
    while (r < s.runs.size() && s.runs[r].covered_end <= lo) ++r;
    for (size_t k = r; k < s.runs.size() && s.runs[k].first_bin < hi; ++k) {
      const RecordedSeries::Run& run = s.runs[k];
      const int64_t pend = run.first_bin + int64_t(s.RunEnd(k) - run.first_point);
      const int64_t from = std::max(lo, run.first_bin), to = std::min(hi, run.covered_end);
      if (from >= to) continue;
      if (cov_first < 0) cov_first = from;
      cov_end = to;
      for (int64_t b = from; b < std::min(to, pend); ++b) {
        take(value(s.points[run.first_point + size_t(b - run.first_bin)]), v.BinStart(b) + w / 2);
      }
      // The silent bins after the run's points, all at once.
      const int64_t sl = std::max(from, pend);
      if (sl < to && zero >= 0) {
        const double k_bins = double(to - sl);
        sum += zero * k_bins;
        tsum += k_bins * ((v.BinStart(sl) + v.BinStart(to - 1)) / 2 + w / 2);
        best = best < 0 ? zero : std::min(best, zero);
        cnt += to - sl;
      }
    }
    if (cov_first > covered_to && covered_to != INT64_MIN) brk();  // a gap before the bucket
    if (cov_end >= 0) covered_to = cov_end;
    if (cnt == 0) {
      brk();
      continue;
    }
    out.emplace_back(tsum / double(cnt), min_not_mean ? best : sum / double(cnt));
  }
  return out;
}

// A series' rate in direction d (wire bits per second), sampled over [t0, t1).
std::vector<std::pair<double, double>> SampleRate(const View& v, const RecordedSeries& s,
                                                  Direction d, double t0, double t1) {
  const double w = v.width_s();
  return Sample(v, s, t0, t1, false,
                [d, w](const SeriesPoint& p) { return double(p.wire[d]) * 8 / w; });
}

// The capture gaps within a chart's span as bands; gaps less than a pixel apart are one band,
// so a capture of any length draws at most a few hundred.
void AddGapBands(const std::vector<Gap>& gaps, Chart* c) {
  const double px = (c->t1 - c->t0) / 900;
  std::vector<Gap> merged;
  for (const Gap& g : gaps) {
    if (g.t1 <= c->t0 || g.t0 >= c->t1) continue;
    if (!merged.empty() && g.t0 - merged.back().t1 < px) {
      merged.back().t1 = g.t1;
    } else {
      merged.push_back(g);
    }
  }
  for (const Gap& g : merged) {
    c->bands.push_back({g.t0, g.t1, "gap",
                        "capture gap: nothing recorded from " +
                            util::UtcText(g.t0, util::UtcStyle::kSeconds) + " to " +
                            util::UtcText(g.t1, util::UtcStyle::kSeconds) + " (" +
                            Duration(g.t1 - g.t0) + ")"});
  }
}

// The overview's words for the capture's gaps.
std::string GapSummary(const std::vector<Gap>& gaps) {
  constexpr size_t kListed = 3;
  std::string s = std::to_string(gaps.size());
  s += " (the capture skips ahead: its clock jumped or it was stopped; the charts leave these "
       "spans blank): ";
  for (size_t i = 0; i < gaps.size() && i < kListed; ++i) {
    s += (i ? "; " : "") + util::UtcText(gaps[i].t0, util::UtcStyle::kSeconds) + " to " +
         util::UtcText(gaps[i].t1, util::UtcStyle::kSeconds) + " (" +
         Duration(gaps[i].t1 - gaps[i].t0) + ")";
  }
  if (gaps.size() > kListed) s += "; and " + std::to_string(gaps.size() - kListed) + " more";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Overview

// Where the events come from: the sources, their hashes, the chain's head, the time span.
void AddSourceItems(const CaptureOverview& ov, const ReportModel& m,
                    std::vector<OverviewItem>* items) {
  auto item = [items](std::string k, std::string val) {
    items->push_back({std::move(k), std::move(val)});
  };
  std::string src;
  for (size_t i = 0; i < ov.sources.size(); ++i) src += (i ? ", " : "") + Esc(ov.sources[i]);
  item(ov.sources.size() == 1 ? "Source" : "Sources", src.empty() ? "—" : src);
  std::string sha;  // evidence: what the events were computed from, and the chain's head
  for (size_t i = 0; i < ov.source_sha256.size() && i < ov.sources.size(); ++i) {
    sha += (i ? "<br>" : "") + (ov.sources.size() > 1 ? Esc(ov.sources[i]) + ": " : "") +
           (ov.source_sha256[i].empty() ? "not hashed"
                                        : "<code>" + Esc(ov.source_sha256[i]) + "</code>");
  }
  if (!sha.empty()) item("SHA-256", sha);
  if (!ov.chain_head.empty()) {
    item("Event chain head", "<code>" + Esc(ov.chain_head) +
                                 "</code> <small>(<code>throttlewatch verify</code> checks the "
                                 "event file against it)</small>");
  }
  item("Time span", Esc(util::UtcText(m.cap_t0)) + " to " + Esc(util::UtcText(m.cap_t1)) + " (" +
                        Duration(std::max(0.0, m.cap_t1 - m.cap_t0)) + ")");
  if (!m.gaps.empty()) item("Capture gaps", Esc(GapSummary(m.gaps)));
}

// What the capture held, and what of it was analysed.
void AddTrafficItems(const ReportData& data, std::vector<OverviewItem>* items) {
  const CaptureOverview& ov = data.overview;
  const SeriesRecorder& rec = *data.series;
  auto item = [items](std::string k, std::string val) {
    items->push_back({std::move(k), std::move(val)});
  };
  item("Packets", std::to_string(ov.packets));
  item("Bytes", Esc(HumanBytes(double(ov.bytes))) + " (" + std::to_string(ov.bytes) + ")");
  item("Flows", std::to_string(ov.flows));
  std::string local;
  for (size_t i = 0; i < ov.local.size(); ++i) {
    local += (i ? ", " : "") + Esc(FormatCidr(ov.local[i], data.format_address));
  }
  if (local.empty()) local = "none found";
  if (ov.local_inferred) local += " (inferred from the traffic)";
  item("Local networks", local);
  item("Capture drops", ov.capture_drops ? std::to_string(*ov.capture_drops)
                                         : "not recorded by the capture file format");
  std::string nd;
  for (size_t i = 1; i < ov.decode.size(); ++i) {
    if (ov.decode[i] == 0) continue;
    nd += (nd.empty() ? "" : ", ") +
          std::string(capture::DecodeStatusName(capture::DecodeStatus(i))) + " " +
          std::to_string(ov.decode[i]);
  }
  if (ov.not_local > 0) {
    nd +=
        (nd.empty() ? "" : ", ") + std::string("no local endpoint ") + std::to_string(ov.not_local);
  }
  item("Not analysed", nd.empty() ? "none" : Esc(nd));
  item("Bin width",
       Fmt("%g s", double(rec.base_width_ns()) * 1e-9) +
           (rec.width_ns() != rec.base_width_ns()
                ? " (charts and series at " + Fmt("%g s", double(rec.width_ns()) * 1e-9) + ")"
                : ""));
}

// ---------------------------------------------------------------------------------------------
// Episodes

// Each start that `take` accepts with its end (the end with its id), in order of their start.
template <typename T, typename Take>
std::vector<T> Paired(std::span<const Event> events, Take take) {
  std::vector<T> out;
  std::map<uint64_t, size_t> by_id;
  for (const Event& e : events) {
    if (!take(e)) continue;
    if (e.state == EventState::kStart) {
      by_id[e.id] = out.size();
      out.emplace_back().start = &e;
    } else if (auto it = by_id.find(e.id); it != by_id.end()) {
      out[it->second].end = &e;
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const T& a, const T& b) { return a.start->ts < b.start->ts; });
  return out;
}

// The throttles and outages.
std::vector<ReportEpisode> Episodes(std::span<const Event> events, double cap_t1) {
  std::vector<ReportEpisode> out =
      Paired<ReportEpisode>(events, [](const Event& e) { return e.kind != EventKind::kBlock; });
  for (ReportEpisode& ep : out) ep.t1 = ep.end != nullptr ? ep.end->ts : cap_t1;
  return out;
}

// The blocked services: what a block event names, and its evidence in words.
std::vector<ReportBlock> Blocks(std::span<const Event> events, const AddressText& f) {
  std::vector<ReportBlock> out =
      Paired<ReportBlock>(events, [](const Event& e) { return e.kind == EventKind::kBlock; });
  for (ReportBlock& b : out) {
    const Event& s = *b.start;
    b.counts = &(b.end != nullptr ? *b.end : s).block;
    b.endpoint =
        s.has_remote ? EndpointLabel(s.remote, s.block.remote_port, f) : "address not known";
    b.service = s.server_name.empty() ? b.endpoint : s.server_name;
    b.evidence = BlockEvidenceWords(*b.counts, f);
  }
  return out;
}

std::string Who(const Event& e, const AddressText& f) {
  if (e.has_flow) return FlowLabel(e.flow, f);
  if (e.has_remote) return "service " + f(e.remote) + " (" + std::to_string(e.flows) + " flows)";
  return e.scope == EventScope::kLink ? "whole link" : ScopeName(e.scope);
}

// The recorded series an event's chart follows: the flow's own; for a service event the first
// of its host's flows it flagged.
const RecordedSeries* FlaggedSeries(const SeriesRecorder& rec, const Event& s) {
  const RecordedSeries* flagged = nullptr;
  if (!s.has_flow && !s.has_remote) return flagged;
  for (const RecordedSeries& r : rec.series()) {
    if (r.role == RecordedSeries::Role::kServerEnd) continue;
    if (s.has_flow ? r.flow.id == s.flow.id
                   : r.role == RecordedSeries::Role::kFlagged && r.event_id == s.id &&
                         flagged == nullptr) {
      flagged = &r;
    }
  }
  return flagged;
}

// ---------------------------------------------------------------------------------------------
// Charts

Chart LinkChart(const View& v, const ReportModel& m, double link_t0, double link_t1) {
  Chart c;
  c.id = "link-chart";
  c.aria = "Throughput of the whole link, down and up, over the capture";
  c.t0 = link_t0;
  c.t1 = std::max(link_t1, link_t0 + 1);
  for (Direction d : {capture::kDown, capture::kUp}) {
    Line l;
    l.cls = d == capture::kDown ? "down" : "up";
    l.label = d == capture::kDown ? "down (arriving)" : "up (leaving)";
    l.pts = SampleRate(v, v.rec.link(), d, c.t0, c.t1);
    c.lines.push_back(std::move(l));
  }
  for (const ReportEpisode& e : m.episodes) {
    const double t1 = e.end != nullptr ? e.end->ts : link_t1;
    const bool outage = e.start->kind == EventKind::kOutage;
    c.bands.push_back(
        {e.start->ts, t1, outage ? "outage" : "throttle",
         std::string(outage ? "outage" : "throttle") + " #" + std::to_string(e.start->id)});
  }
  AddGapBands(m.gaps, &c);  // over the events' bands: nothing is known there
  return c;
}

// An event chart's frame: its span (the event with margins, within the link's), the event's
// band, the capture gaps and the marks of its start and end.
Chart EventChartFrame(const View& v, const ReportModel& m, const ReportEpisode& ep, double link_t0,
                      double link_t1) {
  const Event& s = *ep.start;
  const bool thr = s.kind == EventKind::kThrottle;
  const double pad = std::max({20 * v.width_s(), 0.5 * (ep.t1 - s.ts), 5.0});
  Chart c;
  c.id = "chart-" + std::to_string(s.id);
  c.t0 = std::max(link_t0, s.ts - pad);
  c.t1 = std::min(link_t1, ep.t1 + pad);
  if (c.t1 <= c.t0) c.t1 = c.t0 + 1;
  c.bands.push_back({s.ts, ep.t1, thr ? "throttle" : "outage", thr ? "throttled" : "outage"});
  AddGapBands(m.gaps, &c);
  c.marks.push_back({s.ts, (thr ? "change " : "start ") + AxisTime(s.ts, 0)});
  if (ep.end != nullptr) c.marks.push_back({ep.t1, "end " + AxisTime(ep.t1, 0)});
  return c;
}

// The recorded concurrent flows that carried the most in the chart's window in the event's
// direction (at most three, most first); flows too slow to tell anything (pings, control
// connections) are none.
std::vector<const RecordedSeries*> References(const View& v, const ReportEpisode& ep,
                                              const Chart& c) {
  const Event& s = *ep.start;
  const Direction d = s.direction;
  const double w = v.width_s();
  std::vector<std::pair<double, const RecordedSeries*>> refs;
  for (const RecordedSeries& r : v.rec.series()) {
    if (r.role == RecordedSeries::Role::kServerEnd || &r == ep.flagged) continue;
    if (v.End(r) <= c.t0 || v.Start(r) >= c.t1) continue;
    double sum = 0;
    // The window's bins (one more each side; the times decide).
    const double origin_s = double(v.rec.origin_ns()) * 1e-9;
    r.ForEachIn(int64_t(std::floor((c.t0 - origin_s) / w)) - 1,
                int64_t(std::ceil((c.t1 - origin_s) / w)) + 1,
                [&](int64_t bin, const SeriesPoint& p) {
                  const double t = v.BinStart(bin);
                  if (t >= c.t0 && t < c.t1) sum += p.wire[d];
                });
    const double mean_bps = sum * 8 / std::max(w, c.t1 - c.t0);
    if (mean_bps >= 0.05 * s.rate_before_bps && mean_bps > 0) refs.emplace_back(sum, &r);
  }
  std::sort(refs.begin(), refs.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  if (refs.size() > 3) refs.resize(3);
  std::vector<const RecordedSeries*> out;
  for (const auto& [sum, r] : refs) out.push_back(r);
  return out;
}

// A throttle's lines: its retransmissions (if any), the references, the flow, its RTT.
void AddThrottleLines(const View& v, const AddressText& fa, ReportEpisode* ep) {
  const Event& s = *ep->start;
  const Direction d = s.direction;
  const double w = v.width_s();
  Chart& c = ep->chart;
  c.aria = "Rate of the throttled flow with concurrent flows, RTT and retransmissions";
  Line fl;
  fl.cls = "flow";
  fl.label = s.has_flow ? "this flow, " + std::string(DirectionName(d))
                        : "a flow of this service: " + FlowLabel(ep->flagged->flow, fa);
  fl.pts = SampleRate(v, *ep->flagged, d, c.t0, c.t1);
  ep->references = References(v, *ep, c);
  Line xr;
  xr.cls = "retrans";
  xr.bars = true;
  xr.label = "retransmitted (this flow)";
  xr.pts = Sample(v, *ep->flagged, c.t0, c.t1, false,
                  [d, w](const SeriesPoint& p) { return double(p.retrans[d]) * 8 / w; });
  bool any_retrans = false;
  for (const auto& pt : xr.pts) any_retrans |= pt.second > 0;
  if (any_retrans) c.lines.push_back(std::move(xr));
  const char* ref_cls[] = {"ref", "ref2", "ref3"};
  for (size_t k = 0; k < ep->references.size(); ++k) {
    const RecordedSeries& r = *ep->references[k];
    Line rl;
    rl.cls = ref_cls[k];
    const bool same_service =
        !s.has_flow && r.event_id == s.id && r.role == RecordedSeries::Role::kFlagged;
    rl.label = (same_service ? "same service: " : "concurrent: ") + FlowLabel(r.flow, fa);
    rl.pts = SampleRate(v, r, d, c.t0, c.t1);
    c.lines.push_back(std::move(rl));
  }
  c.lines.push_back(std::move(fl));
  Line rtt;
  rtt.cls = "rtt";
  rtt.right = true;
  rtt.label = "RTT of this flow (right axis, ms)";
  rtt.pts = Sample(v, *ep->flagged, c.t0, c.t1, true,
                   [](const SeriesPoint& p) { return double(p.rtt_ms); });
  c.lines.push_back(std::move(rtt));
}

// An outage's lines: the whole link, down and up.
void AddOutageLines(const View& v, Chart* c) {
  c->aria = "Throughput of the whole link around the outage";
  for (Direction dd : {capture::kDown, capture::kUp}) {
    Line l;
    l.cls = dd == capture::kDown ? "down" : "up";
    l.label = std::string("link ") + (dd == capture::kDown ? "down" : "up");
    l.pts = SampleRate(v, v.rec.link(), dd, c->t0, c->t1);
    c->lines.push_back(std::move(l));
  }
}

// Each episode's who, mechanism and chart (at most kMaxEventCharts charts).
void AddEpisodeDetails(const View& v, const AddressText& fa, double link_t0, double link_t1,
                       ReportModel* m) {
  size_t charts = 0;
  for (ReportEpisode& ep : m->episodes) {
    const Event& s = *ep.start;
    const bool thr = s.kind == EventKind::kThrottle;
    ep.who = Who(s, fa);
    ep.flagged = FlaggedSeries(v.rec, s);
    ep.mechanism_numbers = MechanismNumbers(s);
    if (charts >= kMaxEventCharts) {
      ep.chart_state = ReportEpisode::ChartState::kOverCap;
      continue;
    }
    if (thr && ep.flagged == nullptr) {
      ep.chart_state = ReportEpisode::ChartState::kNotRecorded;
      continue;
    }
    ++charts;
    ep.chart = EventChartFrame(v, *m, ep, link_t0, link_t1);
    if (thr) {
      AddThrottleLines(v, fa, &ep);
    } else {
      AddOutageLines(v, &ep.chart);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Top tables

void AddTopTables(const SeriesRecorder& rec, const AddressText& fa, ReportModel* m) {
  for (const FlowTotal& t : rec.TopFlows()) {
    m->top_flows.push_back(
        {FlowLabel(t.info, fa), 0, t.wire[capture::kDown], t.wire[capture::kUp], t.total()});
  }
  for (const ServerEndTotal& t : rec.TopServerEnds()) {
    m->top_services.push_back({t.other ? std::string("other") : ServerEndLabel(t.key, fa),
                               uint64_t(t.flows), t.wire[capture::kDown], t.wire[capture::kUp],
                               t.total()});
  }
}

// Milliseconds of `s` seconds: whole above 10 ms, one decimal below.
std::string Ms(double s) { return Fmt(s < 0.01 ? "%.1f" : "%.0f", s * 1000); }

// How a block's connections failed, in a sentence.
std::string BlockMethodWords(const BlockEvidence& b) {
  switch (b.method) {
    case BlockMethod::kTcpRst:
      return "The connections were reset by a packet the server did not send.";
    case BlockMethod::kSniBlackhole:
      return "The TCP handshake completed" +
             (b.handshake_rtt_s >= 0 ? " (round trip " + Ms(b.handshake_rtt_s) + " ms)"
                                     : std::string()) +
             ", then the TLS ClientHello, which names the site, was sent again and never "
             "answered: the path carried the connection but not the name.";
    case BlockMethod::kIpBlackhole:
      return "The SYNs were sent again and never answered: nothing came back from the address.";
    case BlockMethod::kQuicBlackhole:
      return "The QUIC Initial packets were sent again and no datagram came back.";
    case BlockMethod::kDnsInjection:
      return "Each lookup of the name got two different answers to one query: a forged one "
             "first, then the resolver's.";
    case BlockMethod::kDnsBogon:
      return "The resolver, which had answered the name with public addresses, answered it "
             "with an address no server has.";
    case BlockMethod::kDnsNxdomain:
      return "The resolver, which had answered the name with public addresses, said it does "
             "not exist.";
    case BlockMethod::kHttpBlockpage:
      return "The site's address answered each request with an HTTP " +
             std::to_string(b.http_status) +
             " response that came from another sender than the server: its IP TTL was " +
             std::to_string(std::abs(b.page_ttl_delta)) +
             (b.page_ttl_delta > 0 ? " higher" : " lower") +
             " than the server's own in the handshake (a block page, or a redirect to one).";
    case BlockMethod::kNone:
      break;
  }
  return "How the connections failed was not recorded.";
}

}  // namespace

std::string MechanismNumbers(const Event& e) {
  const MechanismEvidence& ev = e.evidence;
  if (ev.flows_limited > 0) {
    return "RTT rose in " + std::to_string(ev.flows_shaping) + " of " +
           std::to_string(ev.flows_limited) + " limited flows";
  }
  const std::string rtt = ev.rtt_before_s >= 0 && ev.rtt_after_s >= 0
                              ? "RTT " + Ms(ev.rtt_before_s) + " → " + Ms(ev.rtt_after_s) + " ms"
                              : "";
  const std::string loss = ev.loss_share >= 0 ? Fmt("%.1f", 100 * ev.loss_share) : "";
  // The number the verdict turned on; both when neither decided it. A shaper's queue may
  // overflow too: its losses, if any show, follow the RTT.
  if (e.mechanism == Mechanism::kShaping && !rtt.empty()) {
    return loss.empty() || loss == "0.0" ? rtt : rtt + ", " + loss + " % retransmitted";
  }
  if (e.mechanism == Mechanism::kPolicing && !loss.empty()) {
    return loss + " % of the payload retransmitted";
  }
  if (loss.empty()) return rtt;
  return (rtt.empty() ? "" : rtt + ", ") + loss + " % retransmitted";
}

std::vector<std::string> BlockEvidenceWords(const BlockEvidence& b, const AddressText& format) {
  std::vector<std::string> out;
  out.push_back(BlockMethodWords(b));
  const std::string of_failures = " of " + std::to_string(b.failures) + " failures were resets ";
  if (b.resets_ttl_mismatch > 0) {
    std::string s = std::to_string(b.resets_ttl_mismatch) + of_failures +
                    "with an IP TTL unlike that of the server's SYN-ACKs";
    if (b.reset_ttl_delta != 0) {
      s += " (the last one's " + std::to_string(std::abs(b.reset_ttl_delta)) +
           (b.reset_ttl_delta > 0 ? " higher)" : " lower)");
    }
    out.push_back(s + ".");
  }
  if (b.resets_too_fast > 0) {
    std::string s = std::to_string(b.resets_too_fast) + of_failures +
                    "sooner than a round trip to the server allows";
    if (b.reset_after_s >= 0 && b.handshake_rtt_s >= 0) {
      s += " (the last one " + Ms(b.reset_after_s) + " ms after the request, the handshake's " +
           "round trip " + Ms(b.handshake_rtt_s) + " ms)";
    }
    out.push_back(s + ".");
  }
  if (b.answers_racing > 0) {
    std::string s = std::to_string(b.answers_racing) + " of " + std::to_string(b.failures) +
                    " lookups got two answers";
    if (b.answers_ttl_mismatch > 0) {
      s += "; in " + std::to_string(b.answers_ttl_mismatch) +
           " the first came with an IP TTL unlike the resolver's answer's (the last one's " +
           std::to_string(std::abs(b.answer_ttl_delta)) +
           (b.answer_ttl_delta > 0 ? " higher)" : " lower)");
    }
    if (b.answer_after_s >= 0 && b.resolver_after_s >= 0) {
      s += "; the first after " + Ms(b.answer_after_s) + " ms, the resolver's after " +
           Ms(b.resolver_after_s) + " ms";
    }
    out.push_back(s + ".");
  }
  if (b.has_forged_address) {
    out.push_back("The last failed lookup was answered with " + format(b.forged_address) +
                  (b.forged_address.IsBogon() ? ", an address no server has." : "."));
  }
  const bool dns = b.transport == BlockTransport::kDns;
  if (b.witnesses > 0) {
    out.push_back(
        std::string(dns ? "Other names resolved meanwhile: "
                        : "Other services kept working meanwhile: ") +
        std::to_string(b.witnesses) +
        (!b.same_address_ok ? ""
         : dns ? (b.witnesses == 1 ? ", from the same resolver" : ", some from the same resolver")
         : b.witnesses == 1 ? ", on the same address"
                            : ", one of them on the same address") +
        ".");
  }
  if (dns) {
    out.push_back(b.worked_before ? "The name had resolved earlier in the capture."
                                  : "The name had not resolved earlier in the capture.");
  } else {
    out.push_back(b.worked_before ? "The service had worked earlier in the capture."
                                  : "No connection to the service had completed earlier in the "
                                    "capture.");
  }
  if (b.method == BlockMethod::kIpBlackhole) {
    out.push_back("From one uplink, a server that is down for everyone looks the same.");
  } else if (b.method == BlockMethod::kQuicBlackhole) {
    out.push_back("From one uplink, a QUIC server that is down looks the same.");
  } else if (b.method == BlockMethod::kDnsBogon || b.method == BlockMethod::kDnsNxdomain) {
    out.push_back(
        "From one uplink, a resolver's own filter (a family filter, an ad blocker) "
        "looks the same: it is the resolver that answered so.");
  }
  return out;
}

ReportModel BuildReportModel(const ReportData& data) {
  const SeriesRecorder& rec = *data.series;
  const View v{rec};
  ReportModel m;
  m.cap_t0 = double(data.overview.first_ns) * 1e-9;
  m.cap_t1 = double(data.overview.last_ns) * 1e-9;
  const RecordedSeries& link = rec.link();
  const double link_t0 = link.points.empty() ? m.cap_t0 : v.Start(link);
  const double link_t1 = link.points.empty() ? m.cap_t1 : v.End(link);
  m.gaps = CaptureGaps(v, link);
  m.episodes = Episodes(data.events, m.cap_t1);
  m.blocks = Blocks(data.events, data.format_address);
  for (const ReportEpisode& e : m.episodes) {
    if (e.start->kind == EventKind::kOutage) {
      ++m.outages;
    } else if (e.start->kind == EventKind::kThrottle) {
      ++m.throttles;
      m.targeted += e.start->targeted_known && e.start->targeted ? 1 : 0;
    }
  }
  AddSourceItems(data.overview, m, &m.overview);
  AddTrafficItems(data, &m.overview);
  m.link_chart = LinkChart(v, m, link_t0, link_t1);
  AddEpisodeDetails(v, data.format_address, link_t0, link_t1, &m);
  AddTopTables(rec, data.format_address, &m);
  return m;
}

}  // namespace tw::detector
