#ifndef THROTTLEWATCH_DETECTOR_APP_EXIT_CODE_H_
#define THROTTLEWATCH_DETECTOR_APP_EXIT_CODE_H_
// The exit status of every command: the only place the numbers are written. The libraries
// below the app return their own status (ReplayStatus, LiveStatus, ChainReport); the commands
// map them here.

namespace tw::detector {

enum class ExitCode : int {
  kOk = 0,            // done (the daemon: stopped by SIGINT/SIGTERM)
  kRuntimeError = 1,  // unreadable input, a failed write, the capture lost
  kUsageError = 2,    // options, the filter, --local
  kBrokenInput = 3,   // a broken or compressed capture file, a file that is not a series
  kChainBroken = 4,   // verify: a line edited, deleted, reordered or cut, or the head missing
};

constexpr int ToInt(ExitCode c) { return static_cast<int>(c); }

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_EXIT_CODE_H_
