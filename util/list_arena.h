#ifndef THROTTLEWATCH_DETECTOR_LIST_ARENA_H_
#define THROTTLEWATCH_DETECTOR_LIST_ARENA_H_

#include <sys/mman.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace tw::util {

// Append-only lists of a trivially copyable T, all stored in one region of address space
// reserved at construction for `capacity` items. Appending never calls the allocator and never
// moves items: a list grows in chunks carved from the region, of 16, 16, 32, 32, 64, 64, ...
// items (each size twice: about sqrt(2) more a chunk), so a list of n items occupies fewer than
// 1.5n + 16 slots (doubling chunks left up to 2n: a third of the slots unused on the bench
// capture, pages the kernel zeroes all the same), and indexing is O(1). A List holds the start
// of its first kInline chunks itself (40 bytes); a list that grows past them (480 items) takes
// a directory of its later chunks from a second region, reserved at construction too. Pages
// are committed by the kernel as they are first written (the reservations cost address space,
// not memory). Append fails (returns false) when the list already holds max_items() or the
// region is used up. A List is a plain value owned by the caller, meaningful only with the
// arena that filled it; items stay valid until the arena is destroyed. Construction throws
// std::bad_alloc if the address space cannot be reserved. Single-threaded.
template <typename T>
class ListArena {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr uint32_t kFirstChunk = 16;
  static constexpr int kInline = 8;      // chunks whose start the List holds
  static constexpr int kMaxChunks = 26;  // chunks 2m and 2m + 1 hold kFirstChunk << m items

  struct List {
    uint32_t size = 0;
    uint32_t more = 0;             // 1 + position of the directory of chunks kInline.., 0: none yet
    uint32_t chunk[kInline] = {};  // slot of each chunk's first item in the region
  };

  // `capacity` is at most UINT32_MAX.
  explicit ListArena(size_t capacity)
      : capacity_(capacity), max_dirs_(capacity / ItemsBefore(kInline) + 1) {
    if (capacity_ == 0) return;
    base_ = static_cast<T*>(Reserve(capacity_ * sizeof(T)));
    // Large lists fill pages front to back: huge pages spare most of the page faults.
    madvise(base_, capacity_ * sizeof(T), MADV_HUGEPAGE);
    try {
      dirs_ = static_cast<Directory*>(Reserve(max_dirs_ * sizeof(Directory)));
    } catch (...) {
      munmap(base_, capacity_ * sizeof(T));
      throw;
    }
  }
  ~ListArena() {
    if (base_ != nullptr) {
      munmap(base_, capacity_ * sizeof(T));
      munmap(dirs_, max_dirs_ * sizeof(Directory));
    }
  }
  ListArena(const ListArena&) = delete;
  ListArena& operator=(const ListArena&) = delete;

  // Forgets every list (Lists filled before must not be used again) and returns the memory.
  void Clear() {
    if (base_ != nullptr && used_ > 0) madvise(base_, used_ * sizeof(T), MADV_DONTNEED);
    if (dirs_ != nullptr && dirs_used_ > 0) {
      madvise(dirs_, dirs_used_ * sizeof(Directory), MADV_DONTNEED);
    }
    used_ = 0;
    dirs_used_ = 0;
  }

  static constexpr size_t max_items() { return ItemsBefore(kMaxChunks); }
  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }  // slots carved into chunks so far

  bool Append(List* l, const T& item) {
    const uint32_t i = l->size;
    const Place at = Locate(i);
    if (at.offset == 0) {  // the first item of a new chunk
      const size_t size = size_t(kFirstChunk) << (at.chunk / 2);
      if (at.chunk >= kMaxChunks || used_ + size > capacity_) return false;
      if (at.chunk == kInline) {
        if (dirs_used_ == max_dirs_) return false;  // cannot happen: see max_dirs_
        l->more = uint32_t(++dirs_used_);
      }
      ChunkStart(*l, at.chunk) = uint32_t(used_);
      used_ += size;
    }
    base_[size_t(ChunkStart(*l, at.chunk)) + at.offset] = item;
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
  using Directory = uint32_t[kMaxChunks - kInline];
  struct Place {
    int chunk;
    uint32_t offset;
  };

  // Items in chunks 0 .. k - 1 (k even).
  static constexpr size_t ItemsBefore(int k) {
    return 2 * size_t(kFirstChunk) * ((size_t{1} << (k / 2)) - 1);
  }
  // Item i lies in the pair of chunks m with 2^m <= i / (2 * kFirstChunk) + 1 < 2^(m + 1),
  // in its first or second half.
  static Place Locate(uint32_t i) {
    const int m = int(std::bit_width(uint64_t(i) / (2 * kFirstChunk) + 1)) - 1;
    const uint64_t half = uint64_t(kFirstChunk) << m;
    const uint64_t r = uint64_t(i) - 2 * (half - kFirstChunk);
    return r < half ? Place{2 * m, uint32_t(r)} : Place{2 * m + 1, uint32_t(r - half)};
  }
  uint32_t& ChunkStart(List& l, int k) {
    return k < kInline ? l.chunk[k] : dirs_[l.more - 1][k - kInline];
  }
  uint32_t ChunkStart(const List& l, int k) const {
    return k < kInline ? l.chunk[k] : dirs_[l.more - 1][k - kInline];
  }
  size_t Slot(const List& l, uint32_t i) const {
    const Place at = Locate(i);
    return size_t(ChunkStart(l, at.chunk)) + at.offset;
  }
  static void* Reserve(size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }

  size_t capacity_;
  // A list with a directory has filled its kInline chunks (ItemsBefore(kInline) slots), so
  // there are never more directories than this.
  size_t max_dirs_;
  size_t used_ = 0;
  size_t dirs_used_ = 0;
  T* base_ = nullptr;
  Directory* dirs_ = nullptr;
};

}  // namespace tw::util

#endif  // THROTTLEWATCH_DETECTOR_LIST_ARENA_H_
