#include "detector/outputs/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "detector/outputs/text_units.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

// ---------------------------------------------------------------------------------------------
// Axis steps

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

// ---------------------------------------------------------------------------------------------
// Geometry: the SVG's size, the plot's margins (left: rate labels, right: RTT labels, bottom:
// time labels) and the plot itself.

constexpr double kW = 960, kH = 300, kL = 78, kR = 58, kT = 14, kB = 34;
constexpr double kPw = kW - kL - kR, kPh = kH - kT - kB;

// The chart's axes: data to SVG coordinates.
struct Scales {
  double t0 = 0, span = 1;
  double ymax = 0, ystep = 1;  // left axis: rates
  bool has_right = false;      // a line on the right axis (RTT) has points
  double rmax = 0, rstep = 1;
  double X(double t) const { return kL + (t - t0) / span * kPw; }
  double Y(double y) const { return kT + kPh - y / ymax * kPh; }
  double YR(double y) const { return kT + kPh - std::min(y, rmax) / rmax * kPh; }
};

Scales ChartScales(const Chart& c) {
  Scales s;
  double ymax = 0, rmax = 0;
  std::vector<double> rv;  // the right axis' values
  for (const Line& l : c.lines) {
    for (const auto& [t, y] : l.pts) {
      if (std::isnan(y)) continue;
      (l.right ? rmax : ymax) = std::max(l.right ? rmax : ymax, y);
      if (l.right) rv.push_back(y);
    }
  }
  if (ymax <= 0) ymax = 1000;
  s.ystep = NiceStep(ymax * 1.05, 5);
  s.ymax = std::ceil(ymax * 1.05 / s.ystep) * s.ystep;
  s.has_right = !rv.empty();
  if (s.has_right) {
    // A few extreme samples (an echo that waited out an outage) must not flatten the rest:
    // the axis ends near the 95th percentile and larger values are drawn at the top.
    std::sort(rv.begin(), rv.end());
    rmax = std::min(rmax, 1.5 * rv[size_t(double(rv.size() - 1) * 0.95)]);
    if (rmax <= 0) rmax = 1;
    s.rstep = NiceStep(rmax * 1.1, 5);
    rmax = std::ceil(rmax * 1.1 / s.rstep) * s.rstep;
  }
  s.rmax = rmax;
  s.t0 = c.t0;
  s.span = std::max(1e-9, c.t1 - c.t0);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Drawing

void DrawBands(const Chart& c, const Scales& s, std::string* o) {
  for (const Band& b : c.bands) {
    const double x0 = std::clamp(s.X(b.t0), kL, kL + kPw);
    const double x1 = std::clamp(s.X(b.t1), kL, kL + kPw);
    if (x1 <= x0) continue;
    *o += "<rect class=\"" + b.cls + "\" x=\"" + Fmt("%.1f", x0) + "\" y=\"" + Fmt("%.0f", kT) +
          "\" width=\"" + Fmt("%.1f", std::max(1.0, x1 - x0)) + "\" height=\"" + Fmt("%.0f", kPh) +
          "\"><title>" + Esc(b.label) + "</title></rect>";
  }
}

// The grid lines and the labels of the rate axis, and of the RTT axis if there is one.
void DrawValueAxes(const Scales& s, std::string* o) {
  *o += "<g class=\"grid\">";
  for (double y = 0; y <= s.ymax + s.ystep / 2; y += s.ystep) {
    *o += "<line x1=\"" + Fmt("%.0f", kL) + "\" x2=\"" + Fmt("%.0f", kL + kPw) + "\" y1=\"" +
          Fmt("%.1f", s.Y(y)) + "\" y2=\"" + Fmt("%.1f", s.Y(y)) + "\"/>";
  }
  *o += "</g><g class=\"ylab\">";
  for (double y = 0; y <= s.ymax + s.ystep / 2; y += s.ystep) {
    *o += "<text x=\"" + Fmt("%.0f", kL - 6) + "\" y=\"" + Fmt("%.1f", s.Y(y) + 4) + "\">" +
          Esc(HumanRate(y)) + "</text>";
  }
  *o += "</g>";
  if (!s.has_right) return;
  *o += "<g class=\"rlab\">";
  for (double y = 0; y <= s.rmax + s.rstep / 2; y += s.rstep) {
    *o += "<text x=\"" + Fmt("%.0f", kL + kPw + 6) + "\" y=\"" + Fmt("%.1f", s.YR(y) + 4) + "\">" +
          Fmt(s.rstep < 1 ? "%.1f" : "%.0f", y) + " ms</text>";
  }
  *o += "</g>";
}

// The time axis' ticks and labels, and the plot's frame.
void DrawTimeAxis(const Chart& c, const Scales& s, std::string* o) {
  *o += "<g class=\"xlab\">";
  for (double t : TimeTicks(c.t0, c.t1)) {
    *o += "<line x1=\"" + Fmt("%.1f", s.X(t)) + "\" x2=\"" + Fmt("%.1f", s.X(t)) + "\" y1=\"" +
          Fmt("%.0f", kT + kPh) + "\" y2=\"" + Fmt("%.0f", kT + kPh + 5) + "\"/><text x=\"" +
          Fmt("%.1f", s.X(t)) + "\" y=\"" + Fmt("%.0f", kT + kPh + 18) + "\">" +
          AxisTime(t, s.span) + "</text>";
  }
  *o += "<text class=\"unit\" x=\"" + Fmt("%.0f", kL + kPw) + "\" y=\"" + Fmt("%.0f", kH - 2) +
        "\">UTC</text></g>";
  *o += "<rect class=\"frame\" x=\"" + Fmt("%.0f", kL) + "\" y=\"" + Fmt("%.0f", kT) +
        "\" width=\"" + Fmt("%.0f", kPw) + "\" height=\"" + Fmt("%.0f", kPh) + "\"/>";
}

// A path's data: bars from zero, or a polyline broken at NaN.
std::string PathData(const Line& l, const Scales& s) {
  std::string d;
  d.reserve(l.pts.size() * 14);
  if (l.bars) {
    const double bw = std::max(1.0, kPw / double(std::max<size_t>(l.pts.size(), 1)) * 0.8);
    for (const auto& [t, y] : l.pts) {
      if (std::isnan(y) || y <= 0) continue;
      d += "M" + Fmt("%.1f", s.X(t) - bw / 2) + " " + Fmt("%.1f", s.Y(0)) + "V" +
           Fmt("%.1f", s.Y(y)) + "h" + Fmt("%.1f", bw) + "V" + Fmt("%.1f", s.Y(0)) + "Z";
    }
    return d;
  }
  // A point with no neighbour (data between two capture gaps) is drawn as a short dash.
  size_t pen = 0;  // points drawn since the pen went down
  for (const auto& [t, y] : l.pts) {
    if (std::isnan(y)) {
      if (pen == 1 && !l.right) d += "m-1.5 0h3";
      pen = 0;
      continue;
    }
    d += pen > 0 ? "L" : "M";
    d += Fmt("%.1f", s.X(t)) + " " + Fmt("%.1f", l.right ? s.YR(y) : s.Y(y));
    ++pen;
  }
  if (pen == 1 && !l.right) d += "m-1.5 0h3";
  return d;
}

void DrawLines(const Chart& c, const Scales& s, std::string* o) {
  for (const Line& l : c.lines) {
    if (l.pts.empty()) continue;
    const std::string d = PathData(l, s);
    if (d.empty()) continue;
    *o +=
        "<path class=\"" + l.cls + "\" d=\"" + d + "\"><title>" + Esc(l.label) + "</title></path>";
  }
}

void DrawMarks(const Chart& c, const Scales& s, std::string* o) {
  for (const Mark& m : c.marks) {
    if (m.t < c.t0 || m.t > c.t1) continue;
    const double x = s.X(m.t);
    *o += "<line class=\"mark\" x1=\"" + Fmt("%.1f", x) + "\" x2=\"" + Fmt("%.1f", x) + "\" y1=\"" +
          Fmt("%.0f", kT) + "\" y2=\"" + Fmt("%.0f", kT + kPh) + "\"><title>" + Esc(m.label) +
          "</title></line><text class=\"marklab\" x=\"" + Fmt("%.1f", x + 4) + "\" y=\"" +
          Fmt("%.0f", kT + 12) + "\">" + Esc(m.label) + "</text>";
  }
}

}  // namespace

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
  const Scales s = ChartScales(c);
  *o +=
      "<div class=\"cw\"><svg class=\"chart\" viewBox=\"0 0 960 300\" role=\"img\" aria-label=\"" +
      Esc(c.aria) + "\" id=\"" + Esc(c.id) + "\">";
  DrawBands(c, s, o);  // under everything
  DrawValueAxes(s, o);
  DrawTimeAxis(c, s, o);
  DrawLines(c, s, o);
  DrawMarks(c, s, o);
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

}  // namespace tw::detector
