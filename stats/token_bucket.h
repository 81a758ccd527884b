#ifndef THROTTLEWATCH_STATS_TOKEN_BUCKET_H_
#define THROTTLEWATCH_STATS_TOKEN_BUCKET_H_

#include <cstdint>
#include <span>

namespace tw::stats {

// One transmission of data as it reached (or, at a receiver, as it must have reached) the
// limiter: its time, its size in the unit the limiter counts (wire bytes), and whether it was
// lost. At a sender, a transmission is lost when the same sequence space is sent again later;
// at a receiver, a sequence hole stands for the transmissions that never arrived.
struct Transmission {
  double t = 0;  // seconds (any origin, non-decreasing along the sequence)
  uint32_t bytes = 0;
  bool lost = false;
  // At a sender: when the first cumulative ACK covering this transmission came back (same clock
  // as t), i.e. when the receiver had it; negative when unknown (lost, never acknowledged, or a
  // receiver's capture, which sees no delivery but its own).
  double acked_t = -1;
};

// A round-trip time measured on a packet sent at `t` (same clock as Transmission::t).
struct RttSample {
  double t = 0;
  double rtt = 0;  // seconds
};

// Knobs of the policer test. Defaults follow from the mechanism, not from any data set; each is
// explained where it is declared.
struct TokenBucketParams {
  // A rate and a bucket need losses at several moments: fewer than this many losses, or losses in
  // fewer than this many separate episodes (bursts of loss one RTT apart or more), prove nothing
  // (the same minimum as Flach et al. 2016).
  int min_losses = 15;
  int min_loss_episodes = 3;
  // The rate is read off the delivered bytes between two losses at least this far apart, and at
  // least two RTT floors: at both losses the bucket is empty, so the bytes that passed in
  // between are the tokens the policer made. Shorter spans are dominated by the jitter between
  // the capture point and the policer (a burst queued ahead of it).
  double min_span_s = 0.2;
  double min_span_rtts = 2;
  // Between two losses the delivered bytes can fall short of rate * span (the sender paused and
  // the full bucket threw tokens away) but never exceed it, except by timing jitter. The rate is
  // the upper envelope: this quantile of the per-loss maxima keeps it above waste and below the
  // few jitter outliers.
  double rate_quantile = 0.9;
  // Token count tolerances, in RTT floors worth of tokens: a loss with more than a full RTT of
  // tokens left cannot be a policer drop, and a packet that passed while the bucket was more
  // than half an RTT overdrawn cannot have passed a policer (timing jitter is bounded by the
  // data in flight, i.e. by an RTT).
  double loss_tolerance_rtts = 1.0;
  double pass_tolerance_rtts = 0.5;
  // Shares of checks allowed to fail (the same tolerances as Flach et al. 2016): a few losses
  // have other causes, and a few passes straddle the jitter.
  double max_loss_out_of_range = 0.10;
  double max_pass_out_of_range = 0.03;
  // A policer only drops when the arrivals exceed its rate: over the min span before the onset
  // of each loss episode the sender must have offered at least this share of rate * span (the
  // slack is the timing jitter at the span's edges). Random loss also strikes slow senders.
  double min_offered_share = 0.75;
  double max_low_offered = 0.2;  // share of loss episodes allowed to fail that test
  // Losses after an inflated RTT point at a queue (shaper or congested link), not a policer.
  // Inflated: above ratio * floor and at least min_queue_s above it (sub-20 ms variations are
  // host and link jitter). More than max_inflated_share of losses inflated fails the test. At a
  // receiver, a loss whose last queue_run_packets arrivals came faster than queue_rate_ratio
  // times the limiter's rate (bounded from above by the fitted rate and the envelope of the rate
  // between losses) is not counted: no queue at the limiter's rate released them, so the queue
  // that inflated the RTT lay further on (a policer's burst meeting a slower link).
  double inflated_ratio = 1.3;
  double min_queue_s = 0.020;
  double max_inflated_share = 0.2;
  // A shaper queues what exceeds its rate and releases the queue at its rate; a policer passes
  // or drops each packet as it comes. So packets the sender sent back to back, all of which got
  // through just before a loss, reached the receiver at the limiter's rate after a shaper (its
  // queue was full: it was about to drop), and as fast as they came after a policer (its bucket
  // held tokens for each of them). The queue test reads the ACKs of the last queue_run_packets
  // such passes before each loss episode (eight: four ACKs when the receiver acknowledges every
  // other segment, the last of which is left out, as it may wait for a segment the loss took):
  // delivered at no more than queue_rate_ratio times the fitted rate, the episode followed a
  // queue at that rate (twice: ACK compression on the way back can make a queue's deliveries
  // look faster, never slower). With at least min_queue_episodes episodes judged, more than
  // max_queued_share of them queued fails the test. Sender vantage only (it needs the ACKs).
  int queue_run_packets = 8;
  double queue_rate_ratio = 2.0;
  int min_queue_episodes = 2;
  double max_queued_share = 0.5;
  // A policer drops only when its bucket is empty, so its losses find fewer tokens than its
  // passes do; random loss strikes whatever the bucket holds. A sender paced at a steady rate
  // keeps a bucket replayed at its own rate (about) empty all the time, so its random losses
  // meet an "empty" bucket too, but so do its passes. The chance test ranks the tokens found by
  // losses against those found by passes (Mann-Whitney): were losses independent of the bucket,
  // a ranking this lopsided must be less likely than this (a significance level: one false
  // policer in a million flows of random loss that pass the other tests).
  double max_chance_p = 1e-6;
  // Used for spans and tolerances when no RTT sample exists.
  double default_rtt_s = 0.1;
  // Whether each loss's time is the time it met the limiter (a sender's capture: the lost
  // transmission itself was seen). False at a receiver: a loss is only known to lie between the
  // arrivals before and after it, and is given the first (see ScanRate in the source).
  bool loss_times_exact = true;
};

enum class BucketFit : uint8_t {
  kConsistent,         // losses and passes line up with one token bucket: policing
  kTooFewLosses,       // not enough losses or loss episodes to judge
  kNoRate,             // losses too close together to infer a rate
  kLossWithTokens,     // too many losses while the inferred bucket held tokens
  kPassWithoutTokens,  // too many packets passed while the inferred bucket was empty
  kLossBelowRate,      // losses while the sender offered less than the rate (random loss)
  kRttInflation,       // losses followed queueing (RTT inflation): not a policer
  kLossesByChance,     // losses met an empty bucket no more often than passes did
  kQueueAtRate,        // the passes before the losses left a queue at the rate: a shaper
  kPathRate,           // the rate is the path's own (a receiver's arrivals): no policer to tell
};
const char* BucketFitName(BucketFit f);

// The inferred token bucket and the evidence for or against it. Rates in bytes per second of
// whatever unit Transmission::bytes counts.
struct TokenBucketEstimate {
  BucketFit result = BucketFit::kTooFewLosses;
  double rate_Bps = 0;
  double burst_bytes = 0;
  int losses = 0;
  int loss_episodes = 0;
  double first_loss_t = 0;
  double rtt_floor_s = 0;             // RttFloor() of the samples (0 when none)
  double losses_in_range = 0;         // share of losses with the bucket (about) empty
  double passes_in_range = 0;         // share of passes with tokens available
  double episodes_above_rate = 0;     // share of loss episodes preceded by offered >= rate
  double losses_after_inflation = 0;  // share of losses after an inflated RTT
  double chance_log10p = 0;           // log10 of the chance test's p-value (see max_chance_p)
  // At a receiver (params.loss_times_exact false): the rate the packets arrived at, the 99th
  // percentile over runs of eight consecutive passes (0: not measured). A policer at or above it
  // (within 10 %, the precision rates are stated to) cannot be told from the path itself: its
  // passes came no faster than the path brings them, and a loss placed after the arrival before it
  // finds a bucket of a packet or two short at any rate there.
  double path_rate_Bps = 0;
  double queued_share = 0;  // share of the queue_checked episodes that followed a queue
  int queue_checked = 0;    // loss episodes the queue test could judge
  int rtt_checked = 0;      // losses that had an RTT sample before them
  bool consistent() const { return result == BucketFit::kConsistent; }
};

// Infers a token bucket (rate, burst) from a sequence of transmissions and tests whether the
// losses are those a policer with that bucket would cause (Flach et al., SIGCOMM 2016, with the
// bucket capped at its size so idle periods and pauses between requests do not bias the rate).
// `tx` must be sorted by time; `rtt` by time. Pure function: no allocation beyond a few
// vectors of the input's size, O(n + L * L') for L losses (L' <= 4096 start points).
TokenBucketEstimate FitTokenBucket(std::span<const Transmission> tx, std::span<const RttSample> rtt,
                                   const TokenBucketParams& params = {});

// The RTT floor: 1st percentile of the samples (the propagation delay, robust to a stray
// undersized sample; a higher percentile would sit on a standing queue); 0 if none.
double RttFloor(std::span<const RttSample> rtt);

// Share of `times` (sorted) preceded by an inflated RTT: above params.inflated_ratio * floor and
// params.min_queue_s above the floor. The RTT before t is the smallest of the samples sent in the
// one `floor` before t, or the latest sample before t when none was: a queue delays every packet
// of the round trip before its drops, whereas the one segment sent before a run of drops is
// acknowledged late by itself (the receiver's delayed ACK waits for a next segment that never
// comes), and that alone is no queue. `checked` receives how many times had a sample before
// them. The RTT-inflation guard of the policer test.
double InflatedShareBefore(std::span<const double> times, std::span<const RttSample> rtt,
                           double floor, const TokenBucketParams& params, int* checked);

// The queue test of the policer test (see TokenBucketParams::queue_run_packets): of the loss
// episodes starting at `episode_first` (indices into `tx`, losses) that follow at least
// queue_run_packets passes sent back to back (gaps under a quarter of a packet's time at `rate`,
// bytes per second) with known ACK times, the share whose passes were delivered at no more than
// params.queue_rate_ratio * rate, read from their ACKs but the last. `checked` receives how many
// episodes were judged. 0 and 0 without a rate or such episodes.
double QueuedShareBefore(std::span<const Transmission> tx, std::span<const size_t> episode_first,
                         double rate, const TokenBucketParams& params, int* checked);

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_TOKEN_BUCKET_H_
