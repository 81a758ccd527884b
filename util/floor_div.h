#pragma once
// Division that rounds towards minus infinity, for times before an origin (negative epochs,
// a capture clock that jumps back). C++'s / truncates towards zero instead.

#include <cstdint>

namespace tw::util {

// floor(a / b) for b > 0, for every a including negative ones.
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return q * b > a ? q - 1 : q;
}

// The largest multiple of width that is <= t (width > 0): the start of t's bin.
constexpr int64_t FloorTo(int64_t t, int64_t width) { return FloorDiv(t, width) * width; }

}  // namespace tw::util
