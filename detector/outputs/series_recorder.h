#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_SERIES_RECORDER_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_SERIES_RECORDER_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "capture/binner.h"
#include "capture/bins.h"
#include "capture/decode.h"
#include "detector/core/event_sink.h"

namespace tw::detector {

// What one series carried during one bin. Bytes are wire bytes (link header included), the unit
// shapers enforce; rtt_ms is the smallest passive RTT sample of the bin (-1: none).
struct SeriesPoint {
  float wire[2] = {0, 0};     // indexed by capture::Direction
  float retrans[2] = {0, 0};  // TCP payload bytes that repeated sequence space
  float rtt_ms = -1;
};

// A service as seen on the wire: the server end of a flow (the side with the well-known port
// when only one has one, else the side that did not open the flow). Value type.
struct ServerEnd {
  capture::Address addr;
  uint16_t port = 0;
  uint8_t proto = 0;
  friend bool operator==(const ServerEnd&, const ServerEnd&) = default;
};
ServerEnd ServerEndOf(const capture::FlowInfo& info);

// Byte counts of one flow or server end over the whole run.
struct FlowTotal {
  capture::FlowInfo info;
  uint64_t wire[2] = {0, 0};
  uint64_t total() const { return wire[0] + wire[1]; }
};
struct ServerEndTotal {
  ServerEnd key;
  bool other = false;  // the server ends past SeriesRecorderParams::max_server_ends, summed
  uint64_t wire[2] = {0, 0};
  uint64_t flows = 0;
  uint64_t total() const { return wire[0] + wire[1]; }
};

// One recorded series at the recorder's resolution (bin i is the interval
// [origin_ns + i * width_ns, + width_ns)), sparse in time so that its size follows the packets,
// not the time they span: it holds a point for each bin in which the capture saw a packet and for
// the bin right after a stretch of them (where a rate drops to zero), no others. The points come
// in runs of consecutive bins. After a run's last point the capture reported silent bins (no
// packet at all: zero) up to the run's covered_end; the bins from there to the next run were not
// reported (a capture gap or a clock jump: unknown). A series other than the link holds a point
// for every bin of its span that the link holds (zero when its flows carried nothing), and the
// link's silences and gaps between them.
struct RecordedSeries {
  struct Run {
    int64_t first_bin = 0;  // the bin of points[first_point]
    size_t first_point = 0;
    int64_t covered_end = 0;  // > the run's last bin; the bins after it up to here were silent
  };
  enum class Role : uint8_t {
    kFlagged,    // a flow named by an event: recorded from up to kRingBins before the event
    kReference,  // a concurrent flow in the same direction, recorded as the comparison
    kServerEnd,  // the server end of a flagged flow (the sum of its flows to that end)
  };
  Role role = Role::kFlagged;
  capture::FlowInfo flow;  // kFlagged, kReference
  ServerEnd server_end;    // every role: the server end the flow belongs to (address, port)
  capture::Direction direction = capture::kDown;  // the direction it was recorded for
  uint64_t event_id = 0;                          // the event that promoted it
  std::vector<SeriesPoint> points;                // in bin order
  std::vector<Run> runs;  // in bin order, the first at point 0; empty when points is

  // The first bin, and one past the last bin covered (the last point or the silence after it);
  // 0 when empty.
  int64_t first_bin() const { return runs.empty() ? 0 : runs.front().first_bin; }
  int64_t end_bin() const { return runs.empty() ? 0 : runs.back().covered_end; }
  // The bin of the last point (-1 when empty).
  int64_t last_bin() const {
    return runs.empty()
               ? -1
               : runs.back().first_bin + int64_t(points.size() - runs.back().first_point) - 1;
  }
  // One past the last point of run r.
  size_t RunEnd(size_t r) const {
    return r + 1 < runs.size() ? runs[r + 1].first_point : points.size();
  }
  // The index of the point of `bin`, or points.size() when the series holds no point there.
  size_t IndexOf(int64_t bin) const;
  // Calls f(bin, point) for every point, in bin order; ForEachIn only for bins in [from, to).
  template <typename F>
  void ForEach(F&& f) const {
    ForEachIn(first_bin(), last_bin() + 1, f);
  }
  template <typename F>
  void ForEachIn(int64_t from, int64_t to, F&& f) const {
    auto it = std::upper_bound(runs.begin(), runs.end(), from,
                               [](int64_t b, const Run& r) { return b < r.first_bin; });
    for (size_t r = it == runs.begin() ? 0 : size_t(it - runs.begin()) - 1; r < runs.size(); ++r) {
      const int64_t first = runs[r].first_bin;
      if (first >= to) return;
      const size_t p0 = runs[r].first_point, end = RunEnd(r);
      const int64_t lo = std::max(from, first), hi = std::min(to, first + int64_t(end - p0));
      for (int64_t b = lo; b < hi; ++b) f(b, points[p0 + size_t(b - first)]);
    }
  }
};

struct SeriesRecorderParams {
  // Past this many points and runs in all series together, every series is coarsened 2:1 (bin
  // width doubles); keeps memory bounded for captures of any length (24 bytes per point or run).
  size_t max_points = 4'000'000;
  size_t max_flagged_flows = 200;      // flows flagged beyond this get no chart series
  int reference_flows = 3;             // concurrent flows recorded beside each flagged flow
  size_t top_n = 20;                   // top flows and server ends kept by bytes
  size_t max_server_ends = 1'000'000;  // distinct server ends counted; the rest go to "other"
};

// Records what the report and the --series export show, beside the detection: the link series
// for the whole run, and full series for flows named by throttle events (not blocks), their
// server ends and a few concurrent reference flows. Flows are flagged only after the fact, so
// every flow that carries data keeps a ring of its last kRingBins bins (~1.4 KB per flow,
// docs/performance.md; the flow table's cap bounds them); an event copies the ring into a full
// series that then grows until the flow ends. Passive RTT comes from the bins (the Binner's
// smallest sample per bin). Series are sparse (see RecordedSeries): a bin in which the link
// carried nothing is kept only as the drop to zero right after traffic, so silences and capture
// gaps of any length cost nothing.
//
// Feed order per bin: OnBin() before the detectors see the bin (so an event emitted for it finds
// the bin in the ring), then events via OnEvent(). Bins come in time order.
// Memory: rings as above plus at most max_points series points and runs, and never more than
// two points per series for each bin with packets. A process that runs for months
// (the daemon's rolling report) bounds its window with ForgetBefore() and ResetTotals().
// Single-threaded.
class SeriesRecorder final : public capture::BinSink, public EventSink {
 public:
  static constexpr int kRingBins = 64;

  explicit SeriesRecorder(const SeriesRecorderParams& params = {});

  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override;
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) override;
  void OnEvent(const Event& e) override;

  // Resolution of every series: bin i covers [origin_ns + i * width_ns, + width_ns).
  int64_t origin_ns() const { return origin_ns_; }
  int64_t width_ns() const { return width_ns_; }
  int64_t base_width_ns() const { return base_width_ns_; }
  // The whole link; link().first_bin() is 0 once a bin with packets was seen.
  const RecordedSeries& link() const { return link_; }
  const std::vector<RecordedSeries>& series() const { return series_; }
  // Largest by bytes, largest first. Flows count when they leave the table.
  std::vector<FlowTotal> TopFlows() const;
  std::vector<ServerEndTotal> TopServerEnds() const;
  uint64_t flows_not_charted() const { return flows_not_charted_; }

  // Drops every recorded point of a bin that starts before `cutoff_ns`, and every series left
  // empty by that (their flows can be flagged again later). The link series keeps its bins from
  // the cutoff on. Top flows and server ends are not touched (see ResetTotals).
  void ForgetBefore(int64_t cutoff_ns);
  // Starts the top-flow and top-server-end totals again from zero (flows count when they end).
  void ResetTotals();

 private:
  struct ServerEndHash {
    size_t operator()(const ServerEnd& k) const;
  };
  struct ServerEndState {
    ServerEndTotal total;
    int series = -1;  // index into series_ when promoted
  };
  struct FlowState {
    capture::FlowInfo info;
    std::unique_ptr<std::array<SeriesPoint, kRingBins>> ring;  // indexed by bin % kRingBins
    int64_t first_bin = 0, last_bin = 0;   // base bins held: max(first, last - kRingBins + 1)..last
    int series = -1;                       // index into series_ when promoted
    ServerEndState* server_end = nullptr;  // stable: unordered_map values do not move
  };

  void Append(RecordedSeries* s, int64_t base_bin, const SeriesPoint& p);
  void PushPoint(RecordedSeries* s, int64_t bin, const SeriesPoint& p);
  bool LinkHolds(int64_t bin) const;
  int64_t LinkCoveredEnd(int64_t bin) const;
  void Promote(FlowState* f, RecordedSeries::Role role, capture::Direction d, uint64_t event_id);
  void PromoteServerEnd(FlowState* f, capture::Direction d, uint64_t event_id);
  ServerEndState* FindServerEnd(const ServerEnd& key);
  void CoarsenIfNeeded();
  void AddTop(const FlowTotal& t);

  SeriesRecorderParams p_;
  int64_t origin_ns_ = 0;
  int64_t base_width_ns_ = 0;
  int64_t width_ns_ = 0;
  int64_t factor_ = 1;            // width_ns_ / base_width_ns_
  int64_t current_bin_ = -1;      // base bin index of the last OnBin
  int64_t last_active_bin_ = -2;  // base bin index of the last bin with packets
  bool started_ = false;
  size_t points_ = 0;  // points and runs of every series
  RecordedSeries link_;
  std::vector<RecordedSeries> series_;
  std::unordered_map<uint64_t, FlowState> flows_;
  std::unordered_map<ServerEnd, ServerEndState, ServerEndHash> server_ends_;
  ServerEndTotal other_server_ends_;
  std::vector<FlowTotal> top_flows_;  // sorted, largest first, at most top_n
  size_t flagged_ = 0;
  uint64_t flows_not_charted_ = 0;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_SERIES_RECORDER_H_
