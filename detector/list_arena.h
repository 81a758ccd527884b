#ifndef THROTTLEWATCH_DETECTOR_LIST_ARENA_H_
#define THROTTLEWATCH_DETECTOR_LIST_ARENA_H_

#include <sys/mman.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace tw::detector {

// Append-only lists of a trivially copyable T, all stored in one region of address space
// reserved at construction for `capacity` items. Appending never calls the allocator and never
// moves items: a list grows in chunks of 16, 32, 64, ... items carved from the region, so a list
// of n items occupies fewer than 2n + 16 slots and indexing is O(1). Pages are committed by the
// kernel as they are first written (the reservation itself costs address space, not memory).
// Append fails (returns false) when the list already holds max_items() or the region is used
// up. A List is a plain value owned by the caller, meaningful only with the arena that filled
// it; items stay valid until the arena is destroyed. Construction throws std::bad_alloc if the
// address space cannot be reserved. Single-threaded.
template <typename T>
class ListArena {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr uint32_t kFirstChunk = 16;
  static constexpr int kMaxChunks = 16;

  struct List {
    uint32_t size = 0;
    uint32_t chunk[kMaxChunks] = {};  // slot of each chunk's first item in the region
  };

  // `capacity` is at most UINT32_MAX.
  explicit ListArena(size_t capacity) : capacity_(capacity) {
    if (capacity_ == 0) return;
    bytes_ = capacity_ * sizeof(T);
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Large lists fill pages front to back: huge pages spare most of the page faults.
    madvise(p, bytes_, MADV_HUGEPAGE);
    base_ = static_cast<T*>(p);
  }
  ~ListArena() {
    if (base_ != nullptr) munmap(base_, bytes_);
  }
  ListArena(const ListArena&) = delete;
  ListArena& operator=(const ListArena&) = delete;

  // Forgets every list (Lists filled before must not be used again) and returns the memory.
  void Clear() {
    if (base_ != nullptr && used_ > 0) madvise(base_, used_ * sizeof(T), MADV_DONTNEED);
    used_ = 0;
  }

  static constexpr size_t max_items() { return size_t(kFirstChunk) * ((1u << kMaxChunks) - 1); }
  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }  // slots carved into chunks so far

  bool Append(List* l, const T& item) {
    const uint32_t i = l->size;
    const uint32_t pos = i + kFirstChunk;  // chunk k holds positions [16 * 2^k, 16 * 2^(k+1))
    if ((pos & (pos - 1)) == 0 && pos >= kFirstChunk) {  // the first item of a new chunk
      const int k = std::countr_zero(pos / kFirstChunk);
      if (k >= kMaxChunks || used_ + pos > capacity_) return false;
      l->chunk[k] = uint32_t(used_);
      used_ += pos;
    }
    base_[Slot(*l, i)] = item;
    l->size = i + 1;
    return true;
  }

  T& At(const List& l, uint32_t i) { return base_[Slot(l, i)]; }
  const T& At(const List& l, uint32_t i) const { return base_[Slot(l, i)]; }

  // A read-only view of one list, indexable like a vector.
  class View {
   public:
    View(const ListArena* a, const List* l) : a_(a), l_(l) {}
    size_t size() const { return l_->size; }
    bool empty() const { return l_->size == 0; }
    const T& operator[](size_t i) const { return a_->At(*l_, uint32_t(i)); }
    const T& front() const { return (*this)[0]; }
    const T& back() const { return (*this)[size() - 1]; }

   private:
    const ListArena* a_;
    const List* l_;
  };
  View view(const List& l) const { return View(this, &l); }

 private:
  static size_t Slot(const List& l, uint32_t i) {
    const uint32_t pos = i + kFirstChunk;
    const int k = std::bit_width(pos / kFirstChunk) - 1;
    return size_t(l.chunk[k]) + (pos - (kFirstChunk << k));
  }

  size_t capacity_;
  size_t bytes_ = 0;
  size_t used_ = 0;
  T* base_ = nullptr;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_LIST_ARENA_H_
