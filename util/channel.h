#ifndef THROTTLEWATCH_DETECTOR_CHANNEL_H_
#define THROTTLEWATCH_DETECTOR_CHANNEL_H_

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

namespace tw::util {

// A blocking FIFO between threads for a fixed population of at most `capacity` items (e.g.
// pointers to buffers that circulate between a producer and a consumer through two channels,
// one full and one free: the free one's emptiness is the producer's back-pressure). Push never
// blocks, and allocates only to grow past `capacity`; Pop waits for an item. Any number of
// threads may use it.
template <typename T>
class Channel {
 public:
  explicit Channel(size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

  void Push(T v) {
    {
      std::lock_guard lock(mu_);
      if (size_ == ring_.size()) Grow();
      ring_[(head_ + size_) % ring_.size()] = std::move(v);
      ++size_;
    }
    ready_.notify_one();
  }

  T Pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [this] { return size_ > 0; });
    T v = std::move(ring_[head_]);
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return v;
  }

 private:
  void Grow() {
    std::vector<T> bigger(2 * ring_.size());
    for (size_t i = 0; i < size_; ++i) bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    ring_ = std::move(bigger);
    head_ = 0;
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::vector<T> ring_;
  size_t head_ = 0, size_ = 0;
};

}  // namespace tw::util

#endif  // THROTTLEWATCH_DETECTOR_CHANNEL_H_
