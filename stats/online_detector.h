#ifndef THROTTLEWATCH_STATS_ONLINE_DETECTOR_H_
#define THROTTLEWATCH_STATS_ONLINE_DETECTOR_H_

#include <cstdint>

namespace tw::stats {

// Parameters of DropDetector. Defaults suit 1 s bins of TCP/UDP throughput. Requires
// 0 < min_drop < 1 and 0 < alpha <= 1; warmup_bins and min_bins below 1 count as 1, and
// warmup_bins above 16 as 16.
struct DropDetectorParams {
  double min_drop = 0.5;    // smallest relative drop reported: after <= (1 - min_drop) * before
  int warmup_bins = 5;      // non-zero bins needed before the detector arms
  int min_bins = 3;         // a change must persist this many bins (no one-bin blips)
  double alpha = 0.1;       // EWMA weight of the baseline level and scale (log domain)
  double threshold = 4.0;   // CUSUM alarm threshold, in units of the effective scale
  double clip = 2.0;        // one bin moves the CUSUM by at most clip * effective scale
  double min_scale = 0.05;  // floor of the robust scale (log units)
  int max_zero_run = 3;     // more zero bins in a row than this mean idle (see Observe)
};

// What DropDetector::Observe() concluded at this bin.
enum class DropDecision : uint8_t {
  kNone = 0,
  kDrop,      // a sustained drop began `onset_bins_ago()` bins ago
  kRecovery,  // after a kDrop, the level came back up; began `onset_bins_ago()` bins ago
};

// Online decrease-aware change-point detector for one non-negative rate series.
// Works on log(x) with a robust EWMA baseline and mean-absolute-deviation scale, and a one-sided
// CUSUM for a drop whose per-bin increment is clipped (heavy tails and single-bin stalls cannot
// trigger it alone). Zero bins are handled explicitly: a short zero run counts as a maximal
// drop step; a long one means the source went idle (outside a drop: its baseline is relearned).
// kDrop needs the CUSUM over threshold for at least min_bins bins and a confirmation: the
// geometric mean of the non-zero bins since the onset is at most (1 - min_drop) times the
// baseline, with confidence (its approximate 2-standard-error interval lies below the bound),
// so a drop smaller than min_drop is never reported; a sustained shift confidently smaller than
// min_drop becomes the new baseline instead. The baseline does not learn from bins while a
// change is suspected, and learns them afterwards if none was found.
// After kDrop the detector tracks the new level and reports kRecovery when the series climbs
// back to at least (1 - min_drop/2) of the level before the drop, sustained for min_bins.
// A source that goes idle during a drop stays in_drop(), and its first bins after it resumes are
// judged for a recovery at once (no warmup: the levels before and since the drop are kept).
//
// O(1) time per Observe(), fixed-size state (no allocation), not thread-safe.
class DropDetector {
 public:
  explicit DropDetector(const DropDetectorParams& params = {});

  // Feeds the next bin's value (>= 0; negative, NaN and infinite values are treated as 0).
  // No decision before warmup_bins non-zero bins since construction or idleness outside a drop.
  DropDecision Observe(double x);
  // Asks the processor for the cache lines an Observe() in steady state touches (every field
  // but the warm-up buffer), so that many detectors' lines can be on their way at once.
  void Prefetch() const {
    const char* p = reinterpret_cast<const char*>(this);
    const char* end = reinterpret_cast<const char*>(warm_vals_);
    for (; p < end; p += 64) __builtin_prefetch(p, 1);
  }

  // True between a kDrop and the following kRecovery (or Rebase()).
  bool in_drop() const { return in_drop_; }
  // For the latest non-kNone decision: how many bins before the current one the change began
  // (0 = the current bin). Undefined before the first decision.
  int onset_bins_ago() const { return onset_bins_ago_; }
  // Baseline level (linear units) before the latest drop, or the current baseline if none
  // (0 before the first non-zero bin).
  double level_before() const;
  // Level since the latest drop (geometric mean of non-zero bins after the onset), linear units;
  // if the series later settled on a distinctly higher plateau that is still not a recovery,
  // the level of that plateau. Kept after kRecovery; 0 before the first kDrop.
  double level_after() const;
  int64_t bins_observed() const { return n_; }

  // After a kDrop the caller judged not to be a throttle (the source itself slowed down):
  // takes the level since the drop as the new baseline, armed at once, and awaits no recovery.
  // No effect outside a drop.
  void Rebase();

 private:
  // One CUSUM step on a bin; `y` is log(x), ignored when `zero`.
  DropDecision StepDown(double y, bool zero);
  DropDecision StepUp(double y, bool zero);
  // Warmup: learn the baseline from a non-zero bin.
  void Learn(double y);
  // EWMA update of the baseline with `count` bins of mean log level `y_mean` and mean absolute
  // deviation `dev_mean` (count > 1 approximates the bins as equal to their mean).
  void UpdateBaseline(double y_mean, double dev_mean, int count);
  // The source went idle outside a drop: relearn the baseline, clear both CUSUMs.
  void Disarm();
  void ClearExcursion();
  void ClearUpExcursion();
  // Robust noise scale (log units) and the effective scale that also encodes min_drop.
  double NoiseScale() const;
  double SigmaEff() const;
  double Drift() const;
  // Half-width of the confidence interval on the mean log level of `count` bins.
  double HalfWidth(int count) const;

  DropDetectorParams p_;
  double drop_log_;      // -log(1 - min_drop): the smallest reportable drop, log units
  double recovery_log_;  // log(1 - min_drop / 2): recovery bound relative to the level before
  int64_t n_ = 0;
  // Baseline (log domain) learned while no change is suspected.
  int warm_ = 0;
  double mu_ = 0, mad_ = 0;
  // CUSUM for a drop: statistic, bins since it last left zero, zero-run length.
  double s_ = 0;
  int run_ = 0;
  int zero_run_ = 0;
  // Non-zero bins since the drop CUSUM last left zero: sum of log, sum of |log - mu_|, count.
  // Folded into the baseline if the excursion ends without an alarm, so that neither the low
  // bins of a suspected change nor only the high ones bias it.
  double exc_sum_ = 0, exc_dev_ = 0;
  int exc_n_ = 0;
  // State while in a drop.
  bool in_drop_ = false;
  bool dropped_ = false;  // a kDrop was reported since construction or the last Rebase()
  double mu_before_ = 0;
  // Non-zero bins of the level after the drop (sum of log, count), excluding a pending upward
  // excursion (up_sum_, up_n_) until it ends without a recovery.
  double after_sum_ = 0;
  int after_n_ = 0;
  double up_s_ = 0;
  int up_run_ = 0;
  double up_sum_ = 0;
  int up_n_ = 0;
  int onset_bins_ago_ = 0;
  // The warm-up bins (log domain): the baseline starts from their median, so a partial first
  // bin or a start-up burst cannot bias it (a low baseline would hide every later drop). Last:
  // an update in steady state then touches only the fields above (three cache lines, not
  // five), which is what a bin close over many series is bound by.
  static constexpr int kMaxWarmup = 16;
  double warm_vals_[kMaxWarmup] = {};
};

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_ONLINE_DETECTOR_H_
