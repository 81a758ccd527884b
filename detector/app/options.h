#ifndef THROTTLEWATCH_DETECTOR_APP_OPTIONS_H_
#define THROTTLEWATCH_DETECTOR_APP_OPTIONS_H_
// Option parsing shared by the commands: values, numbers, the options replay and live both
// take, and the usage error every command reports the same way.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "capture/address_formatter.h"
#include "capture/binner.h"
#include "detector/app/exit_code.h"
#include "detector/core/engine.h"

namespace tw::detector {

// Prints "throttlewatch: MSG" and where to read on to stderr; returns kUsageError.
ExitCode Usage(const std::string& msg);

// While one lives, Usage() names `where` ("FILE:LINE") before its message: the options of a
// configuration file go through the same parsers as the command line's, and their errors say
// which line. Scopes nest; the innermost names the place. Not thread-safe (the command line is
// parsed on one thread).
class UsageLocation {
 public:
  explicit UsageLocation(std::string where);
  ~UsageLocation();
  UsageLocation(const UsageLocation&) = delete;
  UsageLocation& operator=(const UsageLocation&) = delete;

 private:
  std::string previous_;
};

// A whole string as a finite double / a size; false for anything else.
bool ParseDouble(std::string_view s, double* out);
bool ParseSize(std::string_view s, size_t* out);

// Whether args element `a` is option `name`, as "--opt" or "--opt=VALUE".
bool IsOption(const std::string& a, std::string_view name);

// Pulls the value of option `name` at args[*i]: "--opt VALUE" (advancing *i) or "--opt=VALUE".
// False when it has none.
bool TakeValue(const std::vector<std::string>& args, size_t* i, std::string_view name,
               std::string* value);

// Pulls a number option within [lo, hi]. False when it is missing or out of range.
bool TakeNumber(const std::vector<std::string>& args, size_t* i, std::string_view name, double lo,
                double hi, double* out);

// What replay and live both take: the local side, binning, the drop size, anonymization.
struct CommonOptions {
  std::string* local;
  capture::BinnerParams* binner;
  EngineParams* engine;
  std::string* key_path;
};
// Whether an option parser consumed an argument: no (not its option), yes, or bad (after it
// printed the usage error).
enum class Taken { kNo, kYes, kBad };

// Usage(msg), for an option parser: returns kBad.
Taken BadOption(const std::string& msg);

// Consumes args[*i] when it is one of the common options.
Taken TakeCommonOption(const std::vector<std::string>& args, size_t* i, const CommonOptions& c);

// Reads the --anonymize key into `addresses` (nothing without a key). False after a usage error.
bool LoadKey(const std::string& key_path, capture::AddressFormatter* addresses);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_OPTIONS_H_
