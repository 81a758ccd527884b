#include "detector/outputs/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>

#include "capture/ip_proto.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

using capture::Direction;

// ---------------------------------------------------------------------------------------------
// Text

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, std::isfinite(v) ? v : 0.0);
  return buf;
}

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Duration(double s) {
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%d min %02d s", int(s / 60), int(std::fmod(s, 60)));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%d h %02d min", int(s / 3600), int(std::fmod(s, 3600) / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%d d %02d h", int(s / 86400), int(std::fmod(s, 86400) / 3600));
  }
  return buf;
}

std::string Endpoint(const capture::Address& a, uint16_t port, const AddressText& f) {
  const std::string s = f(a);
  if (port == 0) return s;
  return (a.IsV4() ? s : "[" + s + "]") + ":" + std::to_string(port);
}

std::string FlowLabel(const capture::FlowInfo& info, const AddressText& f) {
  return std::string(capture::ProtoName(info.proto())) + " " +
         Endpoint(info.local(), info.local_port(), f) + " <-> " +
         Endpoint(info.remote(), info.remote_port(), f);
}

std::string ServiceLabel(const ServiceKey& k, const AddressText& f) {
  return std::string(capture::ProtoName(k.proto)) + " " + Endpoint(k.addr, k.port, f);
}

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(m), v.end());
  return v[m];
}

}  // namespace

std::string HumanRate(double bps) {
  if (!std::isfinite(bps) || bps < 0) bps = 0;
  if (bps >= 1e9) return Fmt("%.2f Gbit/s", bps / 1e9);
  if (bps >= 1e7) return Fmt("%.1f Mbit/s", bps / 1e6);
  if (bps >= 1e6) return Fmt("%.2f Mbit/s", bps / 1e6);
  if (bps >= 1e3) return Fmt("%.0f kbit/s", bps / 1e3);
  return Fmt("%.0f bit/s", bps);
}

std::string HumanBytes(double b) {
  if (!std::isfinite(b) || b < 0) b = 0;
  if (b >= 1e9) return Fmt("%.2f GB", b / 1e9);
  if (b >= 1e6) return Fmt("%.1f MB", b / 1e6);
  if (b >= 1e3) return Fmt("%.1f kB", b / 1e3);
  return Fmt("%.0f B", b);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Series access

struct View {
  const SeriesRecorder& rec;
  double width_s() const { return double(rec.width_ns()) * 1e-9; }
  double BinStart(int64_t i) const { return double(rec.origin_ns() + i * rec.width_ns()) * 1e-9; }
  double Start(const RecordedSeries& s) const { return BinStart(s.first_bin()); }
  double End(const RecordedSeries& s) const { return BinStart(s.end_bin()); }
};

// Where a series holds nothing because the capture reported nothing (a gap or a clock jump):
// [t0, t1) between two of its runs.
struct Gap {
  double t0, t1;
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

// One drawn line: (time, value) pairs; NaN breaks the line.
struct Line {
  std::vector<std::pair<double, double>> pts;
  std::string cls;
  std::string label;
  bool right = false;  // RTT axis
  bool bars = false;   // retransmissions: bars from zero
};
struct Band {
  double t0, t1;
  std::string cls;
  std::string label;
};
struct Mark {
  double t;
  std::string label;
};
struct Chart {
  std::string id;
  std::string aria;
  double t0 = 0, t1 = 1;
  std::vector<Line> lines;
  std::vector<Band> bands;
  std::vector<Mark> marks;
};

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

double NiceStep(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

double TimeStep(double span) {
  static const double steps[] = {1,   2,    5,    10,   15,    30,    60,    120,   300,    600,
                                 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800};
  for (double s : steps) {
    if (span / s <= 8) return s;
  }
  return 604800;
}

// Past this span the time axis steps by calendar months or years and its labels carry the year.
constexpr double kCalendarSpan = 60 * 86400.0;

// The step in months of a calendar axis over `span` seconds (at most 8 steps).
int MonthStep(double span) {
  static const int steps[] = {1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200, 6000};
  for (int m : steps) {
    if (span / (m * 30.44 * 86400) <= 8) return m;
  }
  return 6000;
}

// Where the time axis of [t0, t1] is labelled: round steps of seconds up to a week, the first
// of a month or a year for spans past kCalendarSpan.
std::vector<double> TimeTicks(double t0, double t1) {
  std::vector<double> ticks;
  const double span = t1 - t0;
  if (span <= kCalendarSpan) {
    const double tstep = TimeStep(span);
    for (double t = std::ceil(t0 / tstep) * tstep; t <= t1; t += tstep) ticks.push_back(t);
    return ticks;
  }
  const int step = MonthStep(span);
  const util::UtcFields u = util::ToUtc(t0);
  int64_t m = int64_t(u.year) * 12 + (u.month - 1);
  if (util::MonthStartUtc(m) < t0) ++m;
  m = (m + step - 1) / step * step;
  for (double t = util::MonthStartUtc(m); t <= t1; t = util::MonthStartUtc(m += step))
    ticks.push_back(t);
  return ticks;
}

std::string AxisTime(double t, double span) {
  const util::UtcFields u = util::ToUtc(t);
  char buf[32];
  if (span > kCalendarSpan) {
    if (MonthStep(span) >= 12) {
      std::snprintf(buf, sizeof(buf), "%04d", u.year);
    } else {
      std::snprintf(buf, sizeof(buf), "%04d-%02d", u.year, u.month);
    }
  } else if (span > 2 * 86400) {
    std::snprintf(buf, sizeof(buf), "%02d-%02d %02d:%02d", u.month, u.day, u.hour, u.minute);
  } else if (span >= 600) {
    std::snprintf(buf, sizeof(buf), "%02d:%02d", u.hour, u.minute);
  } else {
    std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d", u.hour, u.minute, u.second);
  }
  return buf;
}

void DrawChart(const Chart& c, std::string* o) {
  constexpr double kW = 960, kH = 300, kL = 78, kR = 58, kT = 14, kB = 34;
  const double pw = kW - kL - kR, ph = kH - kT - kB;
  double ymax = 0, rmax = 0;
  for (const Line& l : c.lines) {
    for (const auto& [t, y] : l.pts) {
      if (std::isnan(y)) continue;
      (l.right ? rmax : ymax) = std::max(l.right ? rmax : ymax, y);
    }
  }
  if (ymax <= 0) ymax = 1000;
  const double ystep = NiceStep(ymax * 1.05, 5);
  ymax = std::ceil(ymax * 1.05 / ystep) * ystep;
  bool has_right = false;
  std::vector<double> rv;
  for (const Line& l : c.lines) {
    if (!l.right) continue;
    for (const auto& pt : l.pts) {
      if (!std::isnan(pt.second)) rv.push_back(pt.second);
    }
  }
  has_right = !rv.empty();
  double rstep = 1;
  if (has_right) {
    // A few extreme samples (an echo that waited out an outage) must not flatten the rest:
    // the axis ends near the 95th percentile and larger values are drawn at the top.
    std::sort(rv.begin(), rv.end());
    rmax = std::min(rmax, 1.5 * rv[size_t(double(rv.size() - 1) * 0.95)]);
    if (rmax <= 0) rmax = 1;
    rstep = NiceStep(rmax * 1.1, 5);
    rmax = std::ceil(rmax * 1.1 / rstep) * rstep;
  }
  const double span = std::max(1e-9, c.t1 - c.t0);
  auto X = [&](double t) { return kL + (t - c.t0) / span * pw; };
  auto Y = [&](double y) { return kT + ph - y / ymax * ph; };
  auto YR = [&](double y) { return kT + ph - std::min(y, rmax) / rmax * ph; };

  *o +=
      "<div class=\"cw\"><svg class=\"chart\" viewBox=\"0 0 960 300\" role=\"img\" aria-label=\"" +
      Esc(c.aria) + "\" id=\"" + Esc(c.id) + "\">";
  // Bands under everything.
  for (const Band& b : c.bands) {
    const double x0 = std::clamp(X(b.t0), kL, kL + pw), x1 = std::clamp(X(b.t1), kL, kL + pw);
    if (x1 <= x0) continue;
    *o += "<rect class=\"" + b.cls + "\" x=\"" + Fmt("%.1f", x0) + "\" y=\"" + Fmt("%.0f", kT) +
          "\" width=\"" + Fmt("%.1f", std::max(1.0, x1 - x0)) + "\" height=\"" + Fmt("%.0f", ph) +
          "\"><title>" + Esc(b.label) + "</title></rect>";
  }
  // Grid and axes.
  *o += "<g class=\"grid\">";
  for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
    *o += "<line x1=\"" + Fmt("%.0f", kL) + "\" x2=\"" + Fmt("%.0f", kL + pw) + "\" y1=\"" +
          Fmt("%.1f", Y(y)) + "\" y2=\"" + Fmt("%.1f", Y(y)) + "\"/>";
  }
  *o += "</g><g class=\"ylab\">";
  for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
    *o += "<text x=\"" + Fmt("%.0f", kL - 6) + "\" y=\"" + Fmt("%.1f", Y(y) + 4) + "\">" +
          Esc(HumanRate(y)) + "</text>";
  }
  *o += "</g>";
  if (has_right) {
    *o += "<g class=\"rlab\">";
    for (double y = 0; y <= rmax + rstep / 2; y += rstep) {
      *o += "<text x=\"" + Fmt("%.0f", kL + pw + 6) + "\" y=\"" + Fmt("%.1f", YR(y) + 4) + "\">" +
            Fmt(rstep < 1 ? "%.1f" : "%.0f", y) + " ms</text>";
    }
    *o += "</g>";
  }
  *o += "<g class=\"xlab\">";
  for (double t : TimeTicks(c.t0, c.t1)) {
    *o += "<line x1=\"" + Fmt("%.1f", X(t)) + "\" x2=\"" + Fmt("%.1f", X(t)) + "\" y1=\"" +
          Fmt("%.0f", kT + ph) + "\" y2=\"" + Fmt("%.0f", kT + ph + 5) + "\"/><text x=\"" +
          Fmt("%.1f", X(t)) + "\" y=\"" + Fmt("%.0f", kT + ph + 18) + "\">" + AxisTime(t, span) +
          "</text>";
  }
  *o += "<text class=\"unit\" x=\"" + Fmt("%.0f", kL + pw) + "\" y=\"" + Fmt("%.0f", kH - 2) +
        "\">UTC</text></g>";
  *o += "<rect class=\"frame\" x=\"" + Fmt("%.0f", kL) + "\" y=\"" + Fmt("%.0f", kT) +
        "\" width=\"" + Fmt("%.0f", pw) + "\" height=\"" + Fmt("%.0f", ph) + "\"/>";
  // Data.
  for (const Line& l : c.lines) {
    if (l.pts.empty()) continue;
    std::string d;
    d.reserve(l.pts.size() * 14);
    if (l.bars) {
      const double bw = std::max(1.0, pw / double(std::max<size_t>(l.pts.size(), 1)) * 0.8);
      for (const auto& [t, y] : l.pts) {
        if (std::isnan(y) || y <= 0) continue;
        d += "M" + Fmt("%.1f", X(t) - bw / 2) + " " + Fmt("%.1f", Y(0)) + "V" + Fmt("%.1f", Y(y)) +
             "h" + Fmt("%.1f", bw) + "V" + Fmt("%.1f", Y(0)) + "Z";
      }
    } else {
      // A point with no neighbour (data between two capture gaps) is drawn as a short dash.
      size_t pen = 0;  // points drawn since the pen went down
      for (const auto& [t, y] : l.pts) {
        if (std::isnan(y)) {
          if (pen == 1 && !l.right) d += "m-1.5 0h3";
          pen = 0;
          continue;
        }
        d += pen > 0 ? "L" : "M";
        d += Fmt("%.1f", X(t)) + " " + Fmt("%.1f", l.right ? YR(y) : Y(y));
        ++pen;
      }
      if (pen == 1 && !l.right) d += "m-1.5 0h3";
    }
    if (d.empty()) continue;
    *o +=
        "<path class=\"" + l.cls + "\" d=\"" + d + "\"><title>" + Esc(l.label) + "</title></path>";
  }
  for (const Mark& m : c.marks) {
    if (m.t < c.t0 || m.t > c.t1) continue;
    const double x = X(m.t);
    *o += "<line class=\"mark\" x1=\"" + Fmt("%.1f", x) + "\" x2=\"" + Fmt("%.1f", x) + "\" y1=\"" +
          Fmt("%.0f", kT) + "\" y2=\"" + Fmt("%.0f", kT + ph) + "\"><title>" + Esc(m.label) +
          "</title></line><text class=\"marklab\" x=\"" + Fmt("%.1f", x + 4) + "\" y=\"" +
          Fmt("%.0f", kT + 12) + "\">" + Esc(m.label) + "</text>";
  }
  *o += "</svg></div>";
}

void Legend(const Chart& c, std::string* o) {
  *o += "<ul class=\"legend\">";
  for (const Line& l : c.lines) {
    if (l.pts.empty()) continue;
    *o += "<li><span class=\"sw " + l.cls + "\"></span>" + Esc(l.label) + "</li>";
  }
  std::vector<std::string> seen;
  for (const Band& b : c.bands) {
    if (std::find(seen.begin(), seen.end(), b.cls) != seen.end()) continue;
    seen.push_back(b.cls);
    *o += "<li><span class=\"sw " + b.cls + "\"></span>" +
          (b.cls == "outage" ? "outage"
           : b.cls == "gap"  ? "capture gap (nothing recorded)"
                             : "throttled span") +
          "</li>";
  }
  if (!c.marks.empty()) *o += "<li><span class=\"sw mark\"></span>start and end</li>";
  *o += "</ul>";
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
// Events

struct Episode {
  const Event* start = nullptr;
  const Event* end = nullptr;
  double t0() const { return start->ts; }
};

std::vector<Episode> Episodes(std::span<const Event> events) {
  std::vector<Episode> out;
  std::map<uint64_t, size_t> by_id;
  for (const Event& e : events) {
    if (e.state == EventState::kStart) {
      by_id[e.id] = out.size();
      out.push_back({&e, nullptr});
    } else if (auto it = by_id.find(e.id); it != by_id.end()) {
      out[it->second].end = &e;
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Episode& a, const Episode& b) { return a.t0() < b.t0(); });
  return out;
}

std::string Who(const Event& e, const AddressText& f) {
  if (e.has_flow) return FlowLabel(e.flow, f);
  if (e.has_remote) return "service " + f(e.remote) + " (" + std::to_string(e.flows) + " flows)";
  return e.scope == EventScope::kLink ? "whole link" : ScopeName(e.scope);
}

// The recorded TCP dynamics behind an event's mechanism, in words.
struct MechanismNote {
  std::string text = "undetermined";
  double rtt_before = -1, rtt_during = -1;
  double retrans_before = 0, retrans_during = 0;  // share of wire bytes
};

MechanismNote DescribeMechanism(const View& v, const RecordedSeries* s, Direction d, double t0,
                                double t1) {
  MechanismNote m;
  if (s == nullptr) return m;
  std::vector<double> rb, rd;
  double wb = 0, wd = 0, xb = 0, xd = 0;
  const double w = v.width_s();
  const double pre = std::max(10 * w, std::min(t1 - t0, 60.0));
  s->ForEach([&](int64_t bin, const SeriesPoint& p) {
    const double t = v.BinStart(bin);
    if (t + w <= t0 && t >= t0 - pre) {
      if (p.rtt_ms >= 0) rb.push_back(p.rtt_ms);
      wb += p.wire[d];
      xb += p.retrans[d];
    } else if (t >= t0 + w && t + w <= t1) {
      if (p.rtt_ms >= 0) rd.push_back(p.rtt_ms);
      wd += p.wire[d];
      xd += p.retrans[d];
    }
  });
  m.rtt_before = Median(rb);
  m.rtt_during = Median(rd);
  m.retrans_before = wb > 0 ? xb / wb : 0;
  m.retrans_during = wd > 0 ? xd / wd : 0;
  const bool queue = m.rtt_before >= 0 && m.rtt_during >= 0 &&
                     m.rtt_during - m.rtt_before > std::max(20.0, 0.5 * m.rtt_before);
  const bool drops = m.retrans_during > 0.02 && m.retrans_during > 2 * m.retrans_before;
  if (queue) {
    m.text = "queueing (shaper): RTT " + Fmt("%.0f", m.rtt_before) + " → " +
             Fmt("%.0f", m.rtt_during) + " ms";
    if (drops) m.text += ", " + Fmt("%.1f", 100 * m.retrans_during) + " % retransmitted";
  } else if (drops) {
    m.text = "drops (policer): " + Fmt("%.1f", 100 * m.retrans_during) + " % retransmitted";
    if (m.rtt_during >= 0) m.text += ", RTT " + Fmt("%.0f", m.rtt_during) + " ms";
  } else if (m.rtt_during >= 0) {
    m.text = "undetermined (RTT " + Fmt("%.0f", m.rtt_during) + " ms, " +
             Fmt("%.1f", 100 * m.retrans_during) + " % retransmitted)";
  }
  return m;
}

const char kStyle[] = R"CSS(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--down:#1f6feb;--up:#e8590c;
--flow:#0b4fc4;--ref:#8c959f;--rtt:#8250df;--retrans:#cf222e;--thr:rgba(212,140,0,.18);
--out:rgba(207,34,46,.16)}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1040px;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Noto Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid
var(--line);padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .3em}
.sub{color:var(--muted);margin:0 0 1em}.headline{font-size:1.1em;padding:.6em .8em;
background:#f6f8fa;border-left:4px solid var(--flow);margin:1em 0}
dl.ov{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em;margin:0}
dl.ov dt{color:var(--muted)}dl.ov dd{margin:0;overflow-wrap:anywhere}
.tw{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
td.who{overflow-wrap:anywhere;min-width:10em}td.time{min-width:7em}small{color:var(--muted)}.nw{white-space:nowrap}tr.throttle td:first-child{border-left:3px solid #d48c00}
tr.outage td:first-child{border-left:3px solid var(--retrans)}
a{color:var(--flow)}figure{margin:.5em 0 1.5em;break-inside:avoid}
svg.chart{width:100%;height:auto;display:block;font-size:12px}
svg .grid line{stroke:#eaeef2}svg .frame{fill:none;stroke:var(--line)}
svg .xlab line{stroke:var(--muted)}svg text{fill:var(--muted)}
svg .ylab text{text-anchor:end}svg .xlab text{text-anchor:middle}svg .xlab .unit{text-anchor:end}
path{fill:none;stroke-width:1.6;stroke-linejoin:round}
path.down{stroke:var(--down)}path.up{stroke:var(--up)}
path.flow{stroke:var(--flow);stroke-width:2.4}path.ref{stroke:var(--ref);stroke-width:1.2}
path.ref2{stroke:var(--ref);stroke-width:1.2;stroke-dasharray:5 3}
path.ref3{stroke:var(--ref);stroke-width:1.2;stroke-dasharray:1 3}
path.rtt{stroke:var(--rtt);stroke-width:1.4;stroke-dasharray:4 2}
path.retrans{fill:var(--retrans);stroke:none;opacity:.75}
rect.throttle{fill:var(--thr)}rect.outage{fill:var(--out)}
line.mark{stroke:#1f2328;stroke-width:1.2;stroke-dasharray:3 3}text.marklab{fill:#1f2328}
ul.legend{list-style:none;padding:0;margin:.2em 0 0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;
font-size:.88em;color:var(--muted)}
.sw{display:inline-block;width:22px;height:10px;margin-right:.4em;vertical-align:middle}
.sw.down{border-top:3px solid var(--down)}.sw.up{border-top:3px solid var(--up)}
.sw.flow{border-top:3px solid var(--flow)}.sw.ref{border-top:2px solid var(--ref)}
.sw.ref2{border-top:2px dashed var(--ref)}.sw.ref3{border-top:2px dotted var(--ref)}
.sw.rtt{border-top:2px dashed var(--rtt)}.sw.retrans{background:var(--retrans);opacity:.75}
.sw.throttle{background:var(--thr);border:1px solid #d48c00}
.sw.outage{background:var(--out);border:1px solid var(--retrans)}
.sw.mark{border-left:2px dashed #1f2328;width:2px}
.facts{color:var(--muted);font-size:.92em;margin:.2em 0 .4em}
footer{margin-top:2em;color:var(--muted);font-size:.85em;border-top:1px solid var(--line);
padding-top:.6em}
.cw{overflow-x:auto}
@media (max-width:640px){body{padding:10px;font-size:14px}th,td{padding:.3em}
svg.chart{min-width:620px}}
@media print{body{max-width:none;padding:0;font-size:10pt}a{color:inherit;text-decoration:none}
h2{break-after:avoid}tr{break-inside:avoid}.headline{border:1px solid #999}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}@page{margin:14mm}}
)CSS";

// Only in the reports of captures with gaps (the others carry no unused style).
const char kGapStyle[] =
    "rect.gap{fill:#e3e7eb}.sw.gap{background:#e3e7eb;"
    "border:1px solid var(--ref)}\n";

}  // namespace

bool WriteReport(const ReportData& data, std::ostream& out) {
  const AddressText& fa = data.format_address;
  const SeriesRecorder& rec = *data.series;
  const View v{rec};
  const CaptureOverview& ov = data.overview;
  const std::vector<Episode> eps = Episodes(data.events);
  const double cap_t0 = double(ov.first_ns) * 1e-9, cap_t1 = double(ov.last_ns) * 1e-9;
  const RecordedSeries& link = rec.link();
  const double link_t0 = link.points.empty() ? cap_t0 : v.Start(link);
  const double link_t1 = link.points.empty() ? cap_t1 : v.End(link);
  const std::vector<Gap> gaps = CaptureGaps(v, link);

  std::string o;
  o.reserve(1 << 18);
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'\">"
       "<meta name=\"referrer\" content=\"no-referrer\">"
       "<meta name=\"generator\" content=\"throttlewatch " +
       Esc(data.version) +
       "\">"
       "<title>" +
       Esc(data.title) + "</title><style>";
  o += kStyle;
  if (!gaps.empty()) o += kGapStyle;
  o += "</style></head><body>\n";

  // Header and headline.
  o += "<header><h1>" + Esc(data.title) + "</h1><p class=\"sub\">" +
       Esc(util::UtcText(cap_t0, util::UtcStyle::kSeconds)) + " to " +
       Esc(util::UtcText(cap_t1, util::UtcStyle::kSeconds)) + " (" +
       Duration(std::max(0.0, cap_t1 - cap_t0)) +
       "). All times UTC (offset +00:00); rates in "
       "bits per second on the wire.</p>";
  int throttles = 0, targeted = 0, outages = 0;
  for (const Episode& e : eps) {
    if (e.start->kind == EventKind::kOutage) {
      ++outages;
    } else {
      ++throttles;
      targeted += e.start->targeted ? 1 : 0;
    }
  }
  o += "<p class=\"headline\">";
  if (eps.empty()) {
    o += "No throttling and no outage was found in this capture.";
  } else {
    o += std::to_string(throttles) + (throttles == 1 ? " throttle" : " throttles");
    if (throttles > 0) o += " (" + std::to_string(targeted) + " targeted)";
    o += " and " + std::to_string(outages) + (outages == 1 ? " outage" : " outages") +
         " found. <a href=\"#events\">Event table</a>.";
  }
  o += "</p></header>\n";

  // Overview.
  o += "<section id=\"overview\"><h2>Capture</h2><dl class=\"ov\">";
  auto item = [&o](const std::string& k, const std::string& val) {
    o += "<dt>" + Esc(k) + "</dt><dd>" + val + "</dd>";
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
  item("Time span", Esc(util::UtcText(cap_t0)) + " to " + Esc(util::UtcText(cap_t1)) + " (" +
                        Duration(std::max(0.0, cap_t1 - cap_t0)) + ")");
  if (!gaps.empty()) item("Capture gaps", Esc(GapSummary(gaps)));
  item("Packets", std::to_string(ov.packets));
  item("Bytes", Esc(HumanBytes(double(ov.bytes))) + " (" + std::to_string(ov.bytes) + ")");
  item("Flows", std::to_string(ov.flows));
  std::string local;
  for (size_t i = 0; i < ov.local.size(); ++i) {
    local += (i ? ", " : "") + Esc(FormatCidr(ov.local[i], fa));
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
  o += "</dl></section>\n";

  // Link chart.
  {
    Chart c;
    c.id = "link-chart";
    c.aria = "Throughput of the whole link, down and up, over the capture";
    c.t0 = link_t0;
    c.t1 = std::max(link_t1, link_t0 + 1);
    const double w = v.width_s();
    for (Direction d : {capture::kDown, capture::kUp}) {
      Line l;
      l.cls = d == capture::kDown ? "down" : "up";
      l.label = d == capture::kDown ? "down (arriving)" : "up (leaving)";
      l.pts = Sample(v, link, c.t0, c.t1, false,
                     [d, w](const SeriesPoint& p) { return double(p.wire[d]) * 8 / w; });
      c.lines.push_back(std::move(l));
    }
    for (const Episode& e : eps) {
      const double t1 = e.end != nullptr ? e.end->ts : link_t1;
      const bool outage = e.start->kind == EventKind::kOutage;
      c.bands.push_back(
          {e.start->ts, t1, outage ? "outage" : "throttle",
           std::string(outage ? "outage" : "throttle") + " #" + std::to_string(e.start->id)});
    }
    AddGapBands(gaps, &c);  // over the events' bands: nothing is known there
    o += "<section id=\"link\"><h2>Link throughput</h2><figure>";
    DrawChart(c, &o);
    Legend(c, &o);
    o += "</figure></section>\n";
  }

  // Event table.
  std::vector<MechanismNote> mech(eps.size());
  std::vector<const RecordedSeries*> flagged(eps.size(), nullptr);
  for (size_t i = 0; i < eps.size(); ++i) {
    const Event& s = *eps[i].start;
    if (!s.has_flow && !s.has_remote) continue;
    for (const RecordedSeries& r : rec.series()) {
      if (r.role == RecordedSeries::Role::kService) continue;
      // A service event's chart follows the first of its host's flows it flagged.
      if (s.has_flow ? r.flow.id == s.flow.id
                     : r.role == RecordedSeries::Role::kFlagged && r.event_id == s.id &&
                           flagged[i] == nullptr) {
        flagged[i] = &r;
      }
    }
    const double t1 = eps[i].end != nullptr ? eps[i].end->ts : cap_t1;
    mech[i] = DescribeMechanism(v, flagged[i], s.direction, s.ts, t1);
  }
  o += "<section id=\"events\"><h2>Events</h2>";
  if (eps.empty()) {
    o += "<p>None.</p>";
  } else {
    o += "<div class=\"tw\"><table id=\"event-table\"><thead><tr><th>#</th>"
         "<th>Start (UTC +00:00)</th><th>Duration</th><th>Kind</th><th>Who</th>"
         "<th>Rate before → after</th><th>Targeted</th><th>Mechanism</th>"
         "<th class=\"num\">Conf.</th></tr></thead><tbody>";
    for (size_t i = 0; i < eps.size(); ++i) {
      const Event& s = *eps[i].start;
      const std::string id = std::to_string(s.id);
      const bool thr = s.kind == EventKind::kThrottle;
      std::string dur = eps[i].end != nullptr ? Duration(eps[i].end->ts - s.ts)
                                              : "open at the end of the capture";
      if (eps[i].end != nullptr && !eps[i].end->reason.empty()) {
        dur += " (" + eps[i].end->reason + ")";
      }
      o += std::string("<tr class=\"") + (thr ? "throttle" : "outage") + "\" id=\"row-" + id +
           "\"><td><a href=\"#ev-" + id + "\">" + id + "</a></td><td class=\"time\">" +
           Esc(util::UtcText(s.ts, util::UtcStyle::kMillisNoOffset)) + "</td><td>" + Esc(dur) +
           "</td><td>" + KindName(s.kind) + "<br><small>" + ScopeName(s.scope) + ", " +
           DirectionName(s.direction) + "</small></td><td class=\"who\"><a href=\"#ev-" + id +
           "\">" + Esc(Who(s, fa)) + "</a></td><td>" + "<span class=\"nw\">" +
           Esc(HumanRate(s.rate_before_bps)) + "</span> → <span " + "class=\"nw\">" +
           (thr ? Esc(HumanRate(s.rate_after_bps)) : "0") + "</span>" + "</td><td>" +
           (thr ? (s.targeted ? "yes" : "no") : "—") + "</td><td>" +
           (thr ? std::string(MechanismName(s.mechanism)) + "<br><small>" + Esc(mech[i].text) +
                      "</small>"
                : "—") +
           "</td><td class=\"num\">" + Fmt("%.0f %%", 100 * s.confidence) + "</td></tr>";
    }
    o += "</tbody></table></div>";
  }
  o += "</section>\n";

  // One chart per event.
  if (!eps.empty()) o += "<section id=\"event-charts\"><h2>Event details</h2>";
  size_t charts = 0;
  for (size_t i = 0; i < eps.size(); ++i) {
    const Event& s = *eps[i].start;
    const std::string id = std::to_string(s.id);
    const bool thr = s.kind == EventKind::kThrottle;
    const double e_t1 = eps[i].end != nullptr ? eps[i].end->ts : cap_t1;
    const double w = v.width_s();
    const double pad = std::max({20 * w, 0.5 * (e_t1 - s.ts), 5.0});
    Chart c;
    c.id = "chart-" + id;
    c.t0 = std::max(link_t0, s.ts - pad);
    c.t1 = std::min(link_t1, e_t1 + pad);
    if (c.t1 <= c.t0) c.t1 = c.t0 + 1;
    c.bands.push_back({s.ts, e_t1, thr ? "throttle" : "outage", thr ? "throttled" : "outage"});
    AddGapBands(gaps, &c);
    c.marks.push_back({s.ts, (thr ? "change " : "start ") + AxisTime(s.ts, 0)});
    if (eps[i].end != nullptr) c.marks.push_back({e_t1, "end " + AxisTime(e_t1, 0)});
    o += "<article id=\"ev-" + id + "\"><h3>#" + id + " " + KindName(s.kind) + " — " +
         Esc(Who(s, fa)) + "</h3><p class=\"facts\">" + Esc(util::UtcText(s.ts)) + ", " +
         (eps[i].end != nullptr ? "lasted " + Duration(e_t1 - s.ts)
                                : std::string("still open when the capture ended")) +
         ". ";
    const Direction d = s.direction;
    if (thr) {
      o += Esc(DirectionName(d)) + std::string(": ") + Esc(HumanRate(s.rate_before_bps)) + " → " +
           Esc(HumanRate(s.rate_after_bps));
      if (eps[i].end != nullptr && eps[i].end->reason == "recovered") {
        o += ", back to " + Esc(HumanRate(eps[i].end->rate_after_bps));
      }
      o += s.targeted ? ". Targeted: concurrent flows in the same direction kept their rates."
                      : ". Not shown to be targeted (concurrent flows slowed down too, or there "
                        "was none to compare with).";
      o += " Mechanism: " + std::string(MechanismName(s.mechanism)) + " (" + Esc(mech[i].text) +
           ").";
    } else {
      o += "Inbound traffic stopped while the local side kept asking (link rate before: " +
           Esc(HumanRate(s.rate_before_bps)) + ").";
    }
    o += Fmt(" Confidence %.0f %%.", 100 * s.confidence) + " <a href=\"#row-" + id +
         "\">↑ table</a></p>";
    if (charts >= kMaxEventCharts) {
      o += "<p>No chart: the report draws at most " + std::to_string(kMaxEventCharts) +
           " event charts (use --series for all data).</p></article>";
      continue;
    }
    if (thr && flagged[i] == nullptr) {
      o += "<p>No chart: this flow's series was not recorded.</p></article>";
      continue;
    }
    ++charts;
    if (thr) {
      c.aria = "Rate of the throttled flow with concurrent flows, RTT and retransmissions";
      Line fl;
      fl.cls = "flow";
      fl.label = s.has_flow ? "this flow, " + std::string(DirectionName(d))
                            : "a flow of this service: " + FlowLabel(flagged[i]->flow, fa);
      fl.pts = Sample(v, *flagged[i], c.t0, c.t1, false,
                      [d, w](const SeriesPoint& p) { return double(p.wire[d]) * 8 / w; });
      // References: the recorded concurrent flows that carried the most in the window.
      std::vector<std::pair<double, const RecordedSeries*>> refs;
      for (const RecordedSeries& r : rec.series()) {
        if (r.role == RecordedSeries::Role::kService || &r == flagged[i]) continue;
        if (v.End(r) <= c.t0 || v.Start(r) >= c.t1) continue;
        double sum = 0;
        // The window's bins (one more each side; the times decide).
        const double origin_s = double(rec.origin_ns()) * 1e-9;
        r.ForEachIn(int64_t(std::floor((c.t0 - origin_s) / w)) - 1,
                    int64_t(std::ceil((c.t1 - origin_s) / w)) + 1,
                    [&](int64_t bin, const SeriesPoint& p) {
                      const double t = v.BinStart(bin);
                      if (t >= c.t0 && t < c.t1) sum += p.wire[d];
                    });
        // Too slow to tell anything (pings, control connections): not a reference.
        const double mean_bps = sum * 8 / std::max(w, c.t1 - c.t0);
        if (mean_bps >= 0.05 * s.rate_before_bps && mean_bps > 0) refs.emplace_back(sum, &r);
      }
      std::sort(refs.begin(), refs.end(),
                [](const auto& a, const auto& b) { return a.first > b.first; });
      if (refs.size() > 3) refs.resize(3);
      Line xr;
      xr.cls = "retrans";
      xr.bars = true;
      xr.label = "retransmitted (this flow)";
      xr.pts = Sample(v, *flagged[i], c.t0, c.t1, false,
                      [d, w](const SeriesPoint& p) { return double(p.retrans[d]) * 8 / w; });
      bool any_retrans = false;
      for (const auto& pt : xr.pts) any_retrans |= pt.second > 0;
      if (any_retrans) c.lines.push_back(std::move(xr));
      const char* ref_cls[] = {"ref", "ref2", "ref3"};
      for (size_t k = 0; k < refs.size(); ++k) {
        Line rl;
        rl.cls = ref_cls[k];
        const bool same_service = !s.has_flow && refs[k].second->event_id == s.id &&
                                  refs[k].second->role == RecordedSeries::Role::kFlagged;
        rl.label = (same_service ? "same service: " : "concurrent: ") +
                   FlowLabel(refs[k].second->flow, fa);
        rl.pts = Sample(v, *refs[k].second, c.t0, c.t1, false,
                        [d, w](const SeriesPoint& p) { return double(p.wire[d]) * 8 / w; });
        c.lines.push_back(std::move(rl));
      }
      c.lines.push_back(std::move(fl));
      Line rtt;
      rtt.cls = "rtt";
      rtt.right = true;
      rtt.label = "RTT of this flow (right axis, ms)";
      rtt.pts = Sample(v, *flagged[i], c.t0, c.t1, true,
                       [](const SeriesPoint& p) { return double(p.rtt_ms); });
      c.lines.push_back(std::move(rtt));
      if (refs.empty()) {
        o += "<p class=\"facts\">No concurrent flow in the same direction was recorded to "
             "compare with.</p>";
      }
    } else {
      c.aria = "Throughput of the whole link around the outage";
      for (Direction dd : {capture::kDown, capture::kUp}) {
        Line l;
        l.cls = dd == capture::kDown ? "down" : "up";
        l.label = std::string("link ") + (dd == capture::kDown ? "down" : "up");
        l.pts = Sample(v, link, c.t0, c.t1, false,
                       [dd, w](const SeriesPoint& p) { return double(p.wire[dd]) * 8 / w; });
        c.lines.push_back(std::move(l));
      }
    }
    o += "<figure>";
    DrawChart(c, &o);
    Legend(c, &o);
    o += "</figure></article>\n";
  }
  if (!eps.empty()) o += "</section>\n";

  // Top flows and services.
  o += "<section id=\"top\"><h2>Top flows by bytes</h2>";
  if (data.totals_since_ns >= 0) {
    o += "<p class=\"facts\">Flows that ended since " +
         Esc(util::UtcText(double(data.totals_since_ns) * 1e-9)) + ".</p>";
  }
  o += "<div class=\"tw\"><table id=\"top-flows\">"
       "<thead><tr><th>Flow</th><th class=\"num\">Down</th><th class=\"num\">Up</th>"
       "<th class=\"num\">Total</th></tr></thead><tbody>";
  for (const FlowTotal& t : rec.TopFlows()) {
    o += "<tr><td class=\"who\">" + Esc(FlowLabel(t.info, fa)) + "</td><td class=\"num\">" +
         Esc(HumanBytes(double(t.wire[capture::kDown]))) + "</td><td class=\"num\">" +
         Esc(HumanBytes(double(t.wire[capture::kUp]))) + "</td><td class=\"num\">" +
         Esc(HumanBytes(double(t.total()))) + "</td></tr>";
  }
  o += "</tbody></table></div><h2>Top services by bytes</h2><p class=\"facts\">A service is the "
       "server end of its flows (address, port, protocol).</p><div class=\"tw\">"
       "<table id=\"top-services\"><thead><tr><th>Service</th><th class=\"num\">Flows</th>"
       "<th class=\"num\">Down</th><th class=\"num\">Up</th><th class=\"num\">Total</th></tr>"
       "</thead><tbody>";
  for (const ServiceTotal& t : rec.TopServices()) {
    o += "<tr><td class=\"who\">" +
         (t.other ? std::string("other") : Esc(ServiceLabel(t.key, fa))) +
         "</td><td class=\"num\">" + std::to_string(t.flows) + "</td><td class=\"num\">" +
         Esc(HumanBytes(double(t.wire[capture::kDown]))) + "</td><td class=\"num\">" +
         Esc(HumanBytes(double(t.wire[capture::kUp]))) + "</td><td class=\"num\">" +
         Esc(HumanBytes(double(t.total()))) + "</td></tr>";
  }
  o += "</tbody></table></div></section>\n";

  o += "<footer>Written by throttlewatch " + Esc(data.version) + ". " +
       (data.anonymized ? "Addresses are anonymized (prefix-preserving)."
                        : "Addresses are shown as captured.") +
       " Rates include link-layer headers. RTT is measured passively from TCP timestamps at the "
       "capture point (to the remote side and back). This file fetches nothing.</footer>\n"
       "</body></html>\n";
  out << o;
  out.flush();
  return bool(out);
}

bool WriteSeriesCsv(const SeriesRecorder& rec, const AddressText& fa, std::ostream& out) {
  const View v{rec};
  const double w = v.width_s();
  out << "series,scope,direction,start_epoch_s,time_utc,width_s,rate_bps,retrans_bps,rtt_ms\n";
  auto write = [&](const RecordedSeries& s, const std::string& name, const char* scope) {
    std::string buf;
    s.ForEach([&](int64_t bin, const SeriesPoint& p) {
      const double t = v.BinStart(bin);
      std::string iso = util::IsoTime(t);
      for (Direction d : {capture::kDown, capture::kUp}) {
        buf.clear();
        buf += name;
        buf += ',';
        buf += scope;
        buf += ',';
        buf += DirectionName(d);
        buf += ',' + Fmt("%.3f", t) + ',' + iso + ',' + Fmt("%g", w) + ',' +
               Fmt("%.0f", double(p.wire[d]) * 8 / w) + ',' +
               Fmt("%.0f", double(p.retrans[d]) * 8 / w) + ',';
        if (p.rtt_ms >= 0 && std::string_view(scope) != "link" &&
            std::string_view(scope) != "service") {
          buf += Fmt("%.2f", p.rtt_ms);
        }
        buf += '\n';
        out << buf;
      }
    });
  };
  write(rec.link(), "link", "link");
  for (const RecordedSeries& s : rec.series()) {
    if (s.role == RecordedSeries::Role::kService) {
      write(s, "service " + ServiceLabel(s.service, fa), "service");
    } else {
      write(s, "flow " + FlowLabel(s.flow, fa),
            s.role == RecordedSeries::Role::kFlagged ? "flow" : "reference");
    }
  }
  out.flush();
  return bool(out);
}

}  // namespace tw::detector
