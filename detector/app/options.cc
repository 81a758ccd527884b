#include "detector/app/options.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "capture/anonymizer.h"

namespace tw::detector {

namespace {

std::string& CurrentLocation() {
  static std::string where;
  return where;
}

}  // namespace

ExitCode Usage(const std::string& msg) {
  const std::string& where = CurrentLocation();
  std::fprintf(stderr, "throttlewatch: %s%s%s\n(see 'throttlewatch --help')\n", where.c_str(),
               where.empty() ? "" : ": ", msg.c_str());
  return ExitCode::kUsageError;
}

UsageLocation::UsageLocation(std::string where) : previous_(std::move(where)) {
  std::swap(previous_, CurrentLocation());
}

UsageLocation::~UsageLocation() { std::swap(previous_, CurrentLocation()); }

bool ParseDouble(std::string_view s, double* out) {
  const std::string str(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(str.c_str(), &end);
  if (str.empty() || end != str.c_str() + str.size() || errno != 0 || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

bool ParseSize(std::string_view s, size_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool TakeValue(const std::vector<std::string>& args, size_t* i, std::string_view name,
               std::string* value) {
  const std::string& a = args[*i];
  if (a == name) {
    if (*i + 1 >= args.size()) return false;
    *value = args[++*i];
    return true;
  }
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    *value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

bool IsOption(const std::string& a, std::string_view name) {
  return a == name ||
         (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=');
}

bool TakeNumber(const std::vector<std::string>& args, size_t* i, std::string_view name, double lo,
                double hi, double* out) {
  std::string v;
  double x = 0;
  if (!TakeValue(args, i, name, &v) || !ParseDouble(v, &x) || x < lo || x > hi) return false;
  *out = x;
  return true;
}

Taken BadOption(const std::string& msg) {
  Usage(msg);
  return Taken::kBad;
}

Taken TakeCommonOption(const std::vector<std::string>& args, size_t* i, const CommonOptions& c) {
  const std::string& a = args[*i];
  std::string v;
  double x = 0;
  if (IsOption(a, "--local")) {
    if (!TakeValue(args, i, "--local", c.local)) return BadOption("--local needs CIDR[,CIDR]");
  } else if (IsOption(a, "--bin")) {
    if (!TakeNumber(args, i, "--bin", 0.1, 60, &x)) {
      return BadOption("--bin takes seconds from 0.1 to 60");
    }
    c.binner->bin_ns = int64_t(std::llround(x * 1e9));
  } else if (IsOption(a, "--max-flows")) {
    size_t n = 0;
    if (!TakeValue(args, i, "--max-flows", &v) || !ParseSize(v, &n) || n < 16 || n > 100'000'000) {
      return BadOption("--max-flows takes a number from 16 to 100000000");
    }
    c.binner->max_flows = n;
  } else if (IsOption(a, "--idle-timeout")) {
    if (!TakeNumber(args, i, "--idle-timeout", 1, 86400, &x)) {
      return BadOption("--idle-timeout takes seconds from 1 to 86400");
    }
    c.binner->idle_timeout_ns = int64_t(x * 1e9);
  } else if (IsOption(a, "--min-drop")) {
    if (!TakeNumber(args, i, "--min-drop", 0.1, 0.95, &x)) {
      return BadOption("--min-drop takes a fraction from 0.1 to 0.95");
    }
    c.engine->throttle.drop.min_drop = x;
  } else if (IsOption(a, "--anonymize")) {
    if (!TakeValue(args, i, "--anonymize", c.key_path)) {
      return BadOption("--anonymize needs a key file");
    }
  } else {
    return Taken::kNo;
  }
  return Taken::kYes;
}

bool LoadKey(const std::string& key_path, capture::AddressFormatter* addresses) {
  if (key_path.empty()) return true;
  std::string error;
  std::shared_ptr<const capture::Anonymizer> anon =
      capture::Anonymizer::FromKeyFile(key_path, &error);
  if (anon == nullptr) {
    Usage(error);
    return false;
  }
  *addresses = capture::AddressFormatter(std::move(anon));
  return true;
}

}  // namespace tw::detector
