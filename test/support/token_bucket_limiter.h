#ifndef THROTTLEWATCH_TEST_SUPPORT_TOKEN_BUCKET_LIMITER_H_
#define THROTTLEWATCH_TEST_SUPPORT_TOKEN_BUCKET_LIMITER_H_

#include <algorithm>
#include <deque>

namespace tw::testing {

// A token bucket of `rate_Bps` and `bucket_bytes` (full at first) with a FIFO queue of
// `queue_packets` packets behind it: a shaper when queue_packets > 0 (what exceeds the rate waits,
// what finds the queue full is dropped), a policer when 0 (what exceeds the rate is dropped).
// Packets must be offered in time order. Deterministic.
class TokenBucketLimiter {
 public:
  TokenBucketLimiter(double rate_Bps, double bucket_bytes, int queue_packets)
      : rate_(rate_Bps), bucket_(bucket_bytes), queue_(queue_packets), tokens_(bucket_bytes) {}

  // A packet of `bytes` arriving at `t`: when it leaves the limiter, or a negative value if it
  // was dropped.
  double Offer(double t, double bytes) {
    while (!waiting_.empty() && waiting_.front() <= t) waiting_.pop_front();
    // It leaves when the bucket holds its tokens, after the packets queued before it.
    const double start = std::max(t, last_departure_);
    tokens_ = std::min(bucket_, tokens_ + rate_ * (start - tokens_t_));
    tokens_t_ = start;
    const double leave = tokens_ >= bytes ? start : start + (bytes - tokens_) / rate_;
    if (leave > t && int(waiting_.size()) >= queue_) return -1;
    tokens_ = std::max(tokens_, bytes) - bytes;
    tokens_t_ = leave;
    last_departure_ = leave;
    if (leave > t) waiting_.push_back(leave);
    return leave;
  }

 private:
  double rate_, bucket_;
  int queue_;
  double tokens_, tokens_t_ = 0, last_departure_ = 0;
  std::deque<double> waiting_;  // departure times of the packets in the queue
};

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_TOKEN_BUCKET_LIMITER_H_
