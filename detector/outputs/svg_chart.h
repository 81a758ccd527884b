#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_SVG_CHART_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_SVG_CHART_H_

#include <string>
#include <utility>
#include <vector>

namespace tw::detector {

// What a report chart shows, in data units (epoch seconds, bits per second, milliseconds);
// DrawChart turns it into SVG.

// One drawn line: (time, value) pairs; NaN breaks the line.
struct Line {
  std::vector<std::pair<double, double>> pts;
  std::string cls;
  std::string label;
  bool right = false;  // RTT axis
  bool bars = false;   // retransmissions: bars from zero
};
// A shaded span of time (a throttle, an outage, a capture gap); `cls` is its style.
struct Band {
  double t0, t1;
  std::string cls;
  std::string label;
};
// A vertical line at a moment, labelled.
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

// Appends the chart as an inline SVG (960 x 300 user units, in a scrolling div): bands under
// everything, the grid, axes (rates on the left, RTT in ms on the right when a line has them,
// UTC times below), the lines, the marks. Labels and titles are escaped.
void DrawChart(const Chart& c, std::string* out);
// Appends the chart's legend: its lines with points, each band style once, the marks.
void Legend(const Chart& c, std::string* out);

// A time axis label of `t` on an axis spanning `span` seconds: "2024", "2024-03",
// "03-14 12:05", "12:05" or "12:05:09".
std::string AxisTime(double t, double span);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_SVG_CHART_H_
