#ifndef THROTTLEWATCH_STATS_DROP_DETECTOR_BANK_H_
#define THROTTLEWATCH_STATS_DROP_DETECTOR_BANK_H_

#include <Eigen/Core>

#include <cstdint>
#include <utility>
#include <vector>

#include "stats/online_detector.h"

namespace tw::stats {

// Many DropDetectors with the same parameters, updated together once per bin: a series is a
// slot, its state a lane of structure-of-arrays (Eigen arrays). Observe() updates every series
// given a value this bin in one pass over blocks of lanes: the CUSUM step of an armed series
// on a non-zero bin is computed vectorized for the whole block, and the common outcomes (no
// change suspected, a suspicion going on or ending, a drop's level going on, idleness) are
// kept lane by lane from it; a lane in any other state (warm-up, a short zero run, a decision
// or a plateau due) is fed to the scalar DropDetector on its own state. Every decision and every number is the same, bit
// for bit, as a DropDetector fed the same values gives (tested).
//
// Memory: bytes_per_series() per slot (state, the warm-up buffer and the value of the bin),
// growing by doubling; removed slots are reused. Not thread-safe.
class DropDetectorBank {
 public:
  explicit DropDetectorBank(const DropDetectorParams& params = {});

  // A new series (as a new DropDetector); its slot stays valid until Remove().
  uint32_t Add();
  void Remove(uint32_t slot);
  size_t size() const { return in_use_; }

  // The series' value for the coming Observe(); series not given one skip the bin.
  void Set(uint32_t slot, double x) {
    x_[slot] = x;
    marked_[slot] = 1;
  }
  // One bin for every series given a value since the last call. Appends (slot, decision) for
  // each that decided something, in order of slot.
  void Observe(std::vector<std::pair<uint32_t, DropDecision>>* decisions);

  // What DropDetector tells of one series.
  bool in_drop(uint32_t slot) const { return in_drop_[slot] != 0; }
  int onset_bins_ago(uint32_t slot) const { return onset_[slot]; }
  double level_before(uint32_t slot) const { return Load(slot).level_before(); }
  double level_after(uint32_t slot) const { return Load(slot).level_after(); }
  int64_t bins_observed(uint32_t slot) const { return n_[slot]; }
  void Rebase(uint32_t slot);

  static size_t bytes_per_series();

 private:
  DropDetector Load(uint32_t slot) const;
  // The series' state into `d`, whose parameters are the bank's (everything but them).
  void LoadInto(uint32_t slot, DropDetector* d) const;
  void Store(uint32_t slot, const DropDetector& d);
  void Grow();

  DropDetector proto_;    // a fresh detector: the parameters and what follows from them
  DropDetector scratch_;  // a lane on the scalar path
  size_t capacity_ = 0, in_use_ = 0;
  std::vector<uint32_t> free_;
  // One lane per slot; see DropDetector for what each holds.
  Eigen::ArrayXd x_, y_, mu_, mad_, s_, exc_sum_, exc_dev_, mu_before_, after_sum_, up_s_,
      up_sum_;
  Eigen::ArrayXi warm_, run_, zero_run_, exc_n_, after_n_, up_run_, up_n_, onset_;
  Eigen::Array<int64_t, Eigen::Dynamic, 1> n_;
  Eigen::Array<uint8_t, Eigen::Dynamic, 1> in_drop_, dropped_, marked_, used_;
  std::vector<double> warm_vals_;  // DropDetector::kMaxWarmup per slot
  std::vector<uint32_t> scalar_;   // lanes of this bin that take the scalar path
};

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_DROP_DETECTOR_BANK_H_
