#ifndef THROTTLEWATCH_CAPTURE_FLOW_TABLE_H_
#define THROTTLEWATCH_CAPTURE_FLOW_TABLE_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "capture/flow_key.h"

namespace tw::capture {

// A flat open-addressing map from FlowKey to V with a hard capacity, sized once at
// construction: no allocation after that. Entries live in a dense array (cheap to scan at bin
// close); the index is a linear-probing table of (hash tag, entry index) slots at load <= 0.5.
// EraseAt moves the last entry into the hole, so entry pointers and indices are invalidated by
// EraseAt() (and only by it). Single-threaded.
template <typename V>
class FlowTable {
 public:
  struct Entry {
    FlowKey key;
    V value;
  };

  explicit FlowTable(size_t max_entries)
      : max_(max_entries < 1 ? 1 : max_entries),
        mask_(std::bit_ceil(max_ * 2) - 1),
        slots_(mask_ + 1) {
    entries_.reserve(max_);
  }

  // Worst-case bytes of index per entry (the slot array has between 2 and 4 slots per entry).
  static constexpr size_t kMaxSlotBytesPerEntry = 4 * 2 * sizeof(uint32_t);

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return max_; }
  bool full() const { return entries_.size() >= max_; }

  // The entry for `key`, or nullptr.
  Entry* Find(const FlowKey& key) {
    const uint64_t h = HashFlowKey(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index == 0) return nullptr;
      if (s.tag == Tag(h) && entries_[s.index - 1].key == key) return &entries_[s.index - 1];
    }
  }

  // Inserts a value-initialised entry for `key` (which must not be present). Returns nullptr
  // when the table is full: the caller decides what to evict.
  Entry* Insert(const FlowKey& key) {
    if (full()) return nullptr;
    const uint64_t h = HashFlowKey(key);
    size_t i = h & mask_;
    while (slots_[i].index != 0) i = (i + 1) & mask_;
    entries_.push_back(Entry{key, V{}});
    slots_[i] = Slot{Tag(h), uint32_t(entries_.size())};
    return &entries_.back();
  }

  // Removes the entry at dense position `pos` (0 <= pos < size()).
  void EraseAt(size_t pos) {
    RemoveSlot(entries_[pos].key, uint32_t(pos + 1));
    const size_t last = entries_.size() - 1;
    if (pos != last) {
      // Repoint the slot of the last entry to its new position.
      const uint64_t h = HashFlowKey(entries_[last].key);
      for (size_t i = h & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].index == last + 1) {
          slots_[i].index = uint32_t(pos + 1);
          break;
        }
      }
      entries_[pos] = std::move(entries_[last]);
    }
    entries_.pop_back();
  }

  // Dense position of an entry returned by Find() or Insert().
  size_t PositionOf(const Entry* e) const { return size_t(e - entries_.data()); }

  Entry& at(size_t pos) { return entries_[pos]; }
  const Entry& at(size_t pos) const { return entries_[pos]; }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t index = 0;  // entry position + 1; 0 = empty
  };
  static uint32_t Tag(uint64_t h) { return uint32_t(h >> 32); }

  // Backward-shift deletion keeps probe sequences intact without tombstones.
  void RemoveSlot(const FlowKey& key, uint32_t index) {
    size_t i = HashFlowKey(key) & mask_;
    while (slots_[i].index != index) i = (i + 1) & mask_;
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].index == 0) break;
      const size_t home = HashFlowKey(entries_[slots_[j].index - 1].key) & mask_;
      // Move slot j into the hole at i if its home position is not in (i, j] cyclically.
      const bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
  }

  size_t max_;
  size_t mask_;
  std::vector<Slot> slots_;
  std::vector<Entry> entries_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_FLOW_TABLE_H_
