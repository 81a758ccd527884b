#ifndef THROTTLEWATCH_FUZZ_FUZZ_INPUT_H_
#define THROTTLEWATCH_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace tw::fuzz {

// Consumes a fuzzer's input as little-endian integers; past the end it yields zeros, so a
// target never reads outside the input and short inputs still mean something.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  size_t left() const { return n_ - i_; }
  uint8_t U8() { return i_ < n_ ? p_[i_++] : 0; }
  uint16_t U16() { return uint16_t(U8() | U8() << 8); }
  uint32_t U32() { return uint32_t(U16()) | uint32_t(U16()) << 16; }
  bool Bool() { return (U8() & 1) != 0; }
  // The rest of the input.
  const uint8_t* rest() const { return p_ + i_; }
  size_t rest_size() const { return n_ - i_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

// A broken invariant: print what and abort, so libFuzzer (or the corpus replay) reports it.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}
#define TW_FUZZ_CHECK(cond)               \
  do {                                    \
    if (!(cond)) ::tw::fuzz::Fail(#cond); \
  } while (0)

}  // namespace tw::fuzz

#endif  // THROTTLEWATCH_FUZZ_FUZZ_INPUT_H_
