// The series reader of `throttlewatch changepoints`: the first byte picks the column option,
// the rest is the file; what it accepts then goes through the offline segmentation.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "stats/segmentation.h"
#include "stats/series_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::stats;
  if (size < 1) return 0;
  static const char* const kColumns[] = {
      "", "0", "1", "2", "mbps", "value", "99999999999999999999"};
  SeriesReadOptions opts;
  opts.column = kColumns[data[0] % std::size(kColumns)];
  std::istringstream in(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  std::vector<double> x;
  std::string error;
  if (!ReadSeries(in, opts, &x, &error)) {
    TW_FUZZ_CHECK(!error.empty());
    TW_FUZZ_CHECK(error.compare(0, 5, "line ") == 0);
    return 0;
  }
  for (double v : x) TW_FUZZ_CHECK(std::isfinite(v));
  if (x.empty() || x.size() > 2000) return 0;  // segmentation is O(n^2) worst case
  SegmentationParams sp;
  const std::vector<size_t> cps = SegmentPelt(x, sp);
  size_t prev = 0;
  for (size_t c : cps) {
    TW_FUZZ_CHECK(c > prev && c < x.size());
    prev = c;
  }
  return 0;
}
