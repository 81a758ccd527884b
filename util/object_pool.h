#ifndef THROTTLEWATCH_DETECTOR_OBJECT_POOL_H_
#define THROTTLEWATCH_DETECTOR_OBJECT_POOL_H_

#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace tw::util {

// Objects of one type made and destroyed by the thousand (per-flow state) without a call to the
// allocator for each. They live in chunks of kChunk slots, allocated when every slot is taken
// and kept until the pool is destroyed; a destroyed object's slot is taken by the next Make().
// Objects never move. Memory: the most objects alive at once, rounded up to whole chunks.
//
// Why: a thread other than the main one allocates from a malloc arena that grows a few pages
// at a time, each step a system call and fresh pages to fault in; per-flow objects made and
// freed at that pace cost more in the kernel than in the detector.
//
// Make() returns an owning pointer whose deleter hands the slot back; every pointer must be
// destroyed before the pool (declare the pool before its users). Single-threaded.
template <typename T, size_t kChunk = 64>
class ObjectPool {
  union Slot {
    Slot* next;
    alignas(T) unsigned char object[sizeof(T)];
  };

 public:
  class Deleter {
   public:
    Deleter() = default;
    explicit Deleter(ObjectPool* pool) : pool_(pool) {}
    void operator()(T* t) const { pool_->Destroy(t); }

   private:
    ObjectPool* pool_ = nullptr;
  };
  using Ptr = std::unique_ptr<T, Deleter>;

  ObjectPool() = default;
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;

  template <typename... Args>
  Ptr Make(Args&&... args) {
    if (free_ == nullptr) Grow();
    Slot* s = free_;
    free_ = s->next;
    try {
      T* t = ::new (static_cast<void*>(s->object)) T(std::forward<Args>(args)...);
      ++live_;
      return Ptr(t, Deleter(this));
    } catch (...) {
      s->next = free_;
      free_ = s;
      throw;
    }
  }

  size_t live() const { return live_; }                        // objects alive
  size_t capacity() const { return chunks_.size() * kChunk; }  // slots held

 private:
  void Destroy(T* t) {
    t->~T();
    Slot* s = reinterpret_cast<Slot*>(t);
    s->next = free_;
    free_ = s;
    --live_;
  }
  void Grow() {
    chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    Slot* c = chunks_.back().get();
    for (size_t i = kChunk; i-- > 0;) {  // the chunk's first slot is taken first
      c[i].next = free_;
      free_ = &c[i];
    }
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  Slot* free_ = nullptr;
  size_t live_ = 0;
};

}  // namespace tw::util

#endif  // THROTTLEWATCH_DETECTOR_OBJECT_POOL_H_
