#include "detector/app/changepoints_command.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detector/app/options.h"
#include "detector/outputs/json.h"
#include "stats/changepoints.h"
#include "stats/segmentation.h"
#include "stats/series_reader.h"

namespace tw::detector {
namespace {

enum class Missing { kInterpolate, kSkip, kError };

struct ChangepointsOptions {
  stats::SeriesReadOptions read;
  stats::ChangepointParams params;
  Missing missing = Missing::kInterpolate;
  std::string path;
  bool log = false;
  bool levels = false;
};

// Sets *out to the value named `v` among `names`; false when none is.
template <typename T>
bool ParseChoice(const std::string& v, std::initializer_list<std::pair<std::string_view, T>> names,
                 T* out) {
  for (const auto& [name, value] : names) {
    if (v == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

bool ParseModel(const std::string& v, stats::SegmentModel* model) {
  return ParseChoice<stats::SegmentModel>(v,
                                          {{"auto", stats::SegmentModel::kAuto},
                                           {"mean", stats::SegmentModel::kMean},
                                           {"linear", stats::SegmentModel::kLinear}},
                                          model);
}

bool ParseSeason(const std::string& v, int* period) {
  size_t p = 0;
  if (ParseChoice<int>(v, {{"auto", 0}, {"none", -1}}, period)) return true;
  if (!ParseSize(v, &p) || p < 2 || p > 100000) return false;
  *period = static_cast<int>(p);
  return true;
}

bool ParseMissing(const std::string& v, Missing* missing) {
  return ParseChoice<Missing>(v,
                              {{"interpolate", Missing::kInterpolate},
                               {"skip", Missing::kSkip},
                               {"error", Missing::kError}},
                              missing);
}

// Parses args into *o; on a usage error returns false with *why set.
bool ParseArgs(const std::vector<std::string>& args, ChangepointsOptions* o, std::string* why) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    auto value = [&](std::string_view name) { return TakeValue(args, &i, name, &v); };
    if (IsOption(a, "--column")) {
      if (!value("--column")) return (*why = "--column needs a value", false);
      o->read.column = v;
    } else if (IsOption(a, "--penalty")) {
      if (!value("--penalty") || !ParseDouble(v, &o->params.penalty) || o->params.penalty <= 0) {
        return (*why = "--penalty takes a positive number", false);
      }
    } else if (IsOption(a, "--min-segment")) {
      if (!value("--min-segment") || !ParseSize(v, &o->params.min_segment) ||
          o->params.min_segment < 2) {
        return (*why = "--min-segment takes a whole number >= 2", false);
      }
    } else if (IsOption(a, "--horizon")) {
      if (!value("--horizon") || !ParseSize(v, &o->params.horizon) || o->params.horizon < 1) {
        return (*why = "--horizon takes a whole number >= 1", false);
      }
    } else if (IsOption(a, "--model")) {
      if (!value("--model") || !ParseModel(v, &o->params.model)) {
        return (*why = "--model takes auto, mean or linear", false);
      }
    } else if (IsOption(a, "--season")) {
      if (!value("--season") || !ParseSeason(v, &o->params.season_period)) {
        return (*why = "--season takes auto, none or a period >= 2", false);
      }
    } else if (IsOption(a, "--missing")) {
      if (!value("--missing") || !ParseMissing(v, &o->missing)) {
        return (*why = "--missing takes interpolate, skip or error", false);
      }
    } else if (a == "--log") {
      o->log = true;
    } else if (a == "--levels") {
      o->levels = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return (*why = "unknown option '" + a + "'", false);
    } else if (o->path.empty()) {
      o->path = a;
    } else {
      return (*why = "changepoints takes one file", false);
    }
  }
  if (o->path.empty()) return (*why = "changepoints needs a file ('-' for standard input)", false);
  return true;
}

Json SegmentsJson(const stats::ChangepointResult& r) {
  Json segments = Json::array();
  for (const stats::ChangepointSegment& s : r.segments) {
    Json j;
    j["start"] = s.start;
    j["end"] = s.end;
    j["level"] = s.level;
    j["slope"] = s.slope;
    segments.push_back(j);
  }
  Json out;
  out["changes"] = r.changes;
  out["segments"] = segments;
  out["season_period"] = r.season_period;
  return out;
}

}  // namespace

ExitCode Changepoints(const std::vector<std::string>& args) {
  ChangepointsOptions o;
  std::string why;
  if (!ParseArgs(args, &o, &why)) return Usage(why);
  o.read.allow_missing = o.missing != Missing::kError;
  const std::string& path = o.path;
  std::vector<double> x;
  std::string error;
  bool ok = false;
  if (path == "-") {
    ok = stats::ReadSeries(std::cin, o.read, &x, &error);
  } else {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "throttlewatch: cannot read %s: %s\n", path.c_str(),
                   std::strerror(errno));
      return ExitCode::kRuntimeError;
    }
    ok = stats::ReadSeries(in, o.read, &x, &error);
  }
  if (!ok) {
    std::fprintf(stderr, "throttlewatch: %s: %s\n", path.c_str(), error.c_str());
    return ExitCode::kBrokenInput;
  }
  stats::FillMissing(o.missing == Missing::kSkip, &x);
  if (x.empty()) {
    std::fprintf(stderr, "throttlewatch: %s: no numbers in the input\n", path.c_str());
    return ExitCode::kBrokenInput;
  }
  if (o.log) {
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
  const stats::ChangepointResult r = stats::FindChangepoints(x, o.params);
  const Json out = o.levels ? SegmentsJson(r) : Json(r.changes);
  std::fputs((DumpLine(out) + "\n").c_str(), stdout);
  return ExitCode::kOk;
}

}  // namespace tw::detector
