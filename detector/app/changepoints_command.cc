#include "detector/app/changepoints_command.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "detector/app/options.h"
#include "detector/outputs/json.h"
#include "stats/segmentation.h"
#include "stats/series_reader.h"

namespace tw::detector {

ExitCode Changepoints(const std::vector<std::string>& args) {
  stats::SeriesReadOptions ro;
  stats::SegmentationParams sp;
  std::string path;
  bool log = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    if (IsOption(a, "--column")) {
      if (!TakeValue(args, &i, "--column", &ro.column)) return Usage("--column needs a value");
    } else if (IsOption(a, "--penalty")) {
      if (!TakeValue(args, &i, "--penalty", &v) || !ParseDouble(v, &sp.penalty) ||
          sp.penalty <= 0) {
        return Usage("--penalty takes a positive number");
      }
    } else if (IsOption(a, "--min-segment")) {
      if (!TakeValue(args, &i, "--min-segment", &v) || !ParseSize(v, &sp.min_segment) ||
          sp.min_segment < 1) {
        return Usage("--min-segment takes a whole number >= 1");
      }
    } else if (a == "--log") {
      log = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option '" + a + "'");
    } else if (path.empty()) {
      path = a;
    } else {
      return Usage("changepoints takes one file");
    }
  }
  if (path.empty()) return Usage("changepoints needs a file ('-' for standard input)");
  std::vector<double> x;
  std::string error;
  bool ok = false;
  if (path == "-") {
    ok = stats::ReadSeries(std::cin, ro, &x, &error);
  } else {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "throttlewatch: cannot read %s: %s\n", path.c_str(),
                   std::strerror(errno));
      return ExitCode::kRuntimeError;
    }
    ok = stats::ReadSeries(in, ro, &x, &error);
  }
  if (!ok) {
    std::fprintf(stderr, "throttlewatch: %s: %s\n", path.c_str(), error.c_str());
    return ExitCode::kBrokenInput;
  }
  if (x.empty()) {
    std::fprintf(stderr, "throttlewatch: %s: no numbers in the input\n", path.c_str());
    return ExitCode::kBrokenInput;
  }
  if (log) {
    for (double& v : x) {
      if (v < 0) {
        std::fprintf(stderr, "throttlewatch: %s: --log needs non-negative values\n", path.c_str());
        return ExitCode::kUsageError;
      }
    }
    std::vector<double> y;
    stats::LogTransform(x, 1.0, &y);
    x.swap(y);
  }
  const std::vector<size_t> cps = stats::SegmentPelt(x, sp);
  std::fputs((DumpLine(Json(cps)) + "\n").c_str(), stdout);
  return ExitCode::kOk;
}

}  // namespace tw::detector
